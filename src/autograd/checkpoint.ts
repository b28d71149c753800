/**
 * Gradient checkpointing: `checkpoint(fn, ...args)` computes `fn(...args)` without keeping its
 * intermediates and recomputes them when the gradient is needed, trading compute for memory (the
 * inner loop of second-order MAML is the motivating case).
 *
 * Note [Checkpoint]: the forward pass runs `fn` under noGrad on detached views of the inputs, inside
 * a tidy scope, so its intermediates are freed at once; each output then gets ONE tape node whose
 * inputs are `args`. Its vjp rule re-runs `fn` with grad mode on, on fresh aliases of the inputs
 * made in the engine's current grad mode (which is `createGraph`): with createGraph the aliases are
 * recorded `alias` nodes of the inputs, so the gradients it returns stay connected to the inputs'
 * graphs and can be differentiated again (any order, by induction); without it they are leaves
 * and nothing above them is visited. It backpropagates the output's gradient through the
 * recomputed graph with `createGraph` equal to the current grad mode. Its jvp rule (forward mode,
 * level L) re-runs `fn` on aliases of the inputs carrying their level-L tangents, with level L
 * switched on for the recomputation (Note [Forward levels] in record.ts: lower levels keep
 * propagating, higher ones stay frozen), and reads the output's level-L tangent.
 *
 * Random numbers: NOT replayed. The native generator exposes no way to read and restore its
 * counter, so a `fn` that draws random numbers (dropout, noise) would draw different ones when it
 * is recomputed and its gradient would be wrong. Draw them outside and pass them as arguments.
 */
import { gradAtFrontier } from './engine.js';
import { setTangent, state, withGradMode, record } from './record.js';
import { alias } from '../ops/convert.js';
import { tidy } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';

type Fn<R> = (...xs: Tensor[]) => R;

function outputsOf(op: string, out: unknown): Tensor[] {
  const outs = Array.isArray(out) ? (out as unknown[]) : [out];
  outs.forEach((o, i) => {
    if (!(o instanceof Tensor)) throw new Error(`${op}: fn must return a tensor or an array of tensors (output ${i} is not a tensor)`);
  });
  return outs as Tensor[];
}

/**
 * Computes `fn(...args)` without storing its intermediates for the backward pass: they are
 * recomputed (by running `fn` again) when a gradient flows through the result. The result has
 * the same value and the same derivatives of every order as `fn(...args)`, in reverse mode (also
 * under `createGraph`, nested in `grad`, `hvp`...) and in forward mode (`jvp`).
 *
 * `fn` must be a pure function of its tensor arguments (tensors it closes over are treated as
 * constants: no gradient flows to them) returning a tensor or an array of tensors. With several
 * outputs, each output that receives a gradient recomputes `fn` once.
 *
 * Random numbers are not replayed: `fn` must not draw from the generator (pass random tensors in
 * as arguments instead), or the recomputed values, and so the gradients, would differ.
 *
 * ```ts
 * const y = mg.checkpoint((h, w) => h.mul(w).tanh().mul(w).tanh(), h0, w);
 * ```
 */
export function checkpoint(fn: Fn<Tensor>, ...args: Tensor[]): Tensor;
export function checkpoint(fn: Fn<readonly Tensor[]>, ...args: Tensor[]): Tensor[];
export function checkpoint(fn: Fn<Tensor | readonly Tensor[]>, ...args: Tensor[]): Tensor | Tensor[] {
  if (typeof fn !== 'function') throw new Error('checkpoint: the first argument must be a function');
  args.forEach((a, i) => {
    if (!(a instanceof Tensor)) throw new Error(`checkpoint: argument ${i} is not a tensor`);
  });
  let multi = false;
  // Forward: no tape, no tangents (record adds them below), intermediates freed by the scope.
  const outs = tidy(() =>
    withGradMode(false, () => {
      const raw = fn(...args.map((a) => a.detach()));
      multi = Array.isArray(raw);
      return outputsOf('checkpoint', raw).map((o) => o.detach());
    }),
  );
  const track = args.some((a) => (state.gradEnabled && a.requiresGrad) || (state.duals > 0 && a._tangents !== null));
  if (track) {
    outs.forEach((y, k) => {
      if (y.dtype === 'int32') return;
      const pick = (r: Tensor | readonly Tensor[]): Tensor => outputsOf('checkpoint', r)[k];
      record(
        y,
        'checkpoint',
        args,
        (g, needs) => backwardRule(fn, args, pick, g, needs),
        (tangents) => forwardRule(fn, args, pick, tangents),
      );
    });
  }
  return multi ? outs : outs[0];
}

/** The vjp rule: recompute, then backpropagate `g` (Note [Checkpoint]). */
function backwardRule(fn: Fn<Tensor | readonly Tensor[]>, args: Tensor[], pick: (r: Tensor | readonly Tensor[]) => Tensor, g: Tensor, needs: readonly boolean[]): (Tensor | null)[] {
  const createGraph = state.gradEnabled;
  return tidy(() => {
    const xs = args.map((a, i) => {
      const x = alias(a); // recorded (connected to a) only under createGraph
      if (needs[i]) x.requiresGrad = true;
      return x;
    });
    const y = withGradMode(true, () => pick(fn(...xs)));
    const targets = xs.filter((_, i) => needs[i]);
    if (!y.requiresGrad || targets.length === 0) return args.map(() => null);
    const gs = gradAtFrontier([y], targets, [g], createGraph);
    let k = 0;
    return args.map((_, i) => (needs[i] ? gs[k++] : null));
  });
}

/** The jvp rule at the innermost level being computed (Note [Checkpoint]). */
function forwardRule(fn: Fn<Tensor | readonly Tensor[]>, args: Tensor[], pick: (r: Tensor | readonly Tensor[]) => Tensor, tangents: readonly (Tensor | null)[]): Tensor | null {
  // record() calls a jvp rule for level L with levelLimit = L.
  const level = state.levelLimit;
  const xs = args.map((a, i) => {
    const x = alias(a); // keeps the tangents of levels below L (and the tape, if grad mode is on)
    const t = tangents[i];
    if (t !== null) setTangent(x, level, t);
    return x;
  });
  const saved = state.levelLimit;
  state.levelLimit = level + 1;
  let y: Tensor;
  try {
    y = pick(fn(...xs));
  } finally {
    state.levelLimit = saved;
  }
  return y._tangents?.get(level) ?? null;
}
