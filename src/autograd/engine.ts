/**
 * The reverse-mode engine: `grad` and `backward` walk the tape from the outputs to the inputs in
 * reverse topological order, calling each node's vjp rule with grad mode set to `createGraph`
 * (Note [Defining an op] in record.ts).
 */
import { release, state, withGradMode, type Node } from './record.js';
import { add } from '../ops/elementwise.js';
import { onesLike } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { checkOptions, fmt, sameShape } from '../tensor/shape.js';
import { hooks } from '../tensor/hooks.js';
import { finalName } from '../tensor/public_op.js';
import { sharesStorage } from '../backend/index.js';
import { keep, Tensor } from '../tensor/tensor.js';

/** Options of {@link grad}. */
export interface GradOptions {
  /** The vector of the vector-Jacobian product, one per output; default ones for scalar outputs. */
  gradOutputs?: readonly (Tensor | null)[] | Tensor | null;
  /** Record the backward pass so the result can be differentiated again. Default false. */
  createGraph?: boolean;
  /** Keep the graph for another backward pass. Default `createGraph`. */
  retainGraph?: boolean;
  /** Return null for inputs the outputs do not depend on, instead of throwing. Default false. */
  allowUnused?: boolean;
}

const asList = <T>(x: T | readonly T[]): T[] => (Array.isArray(x) ? [...x] : [x as T]);

/**
 * Order in which to visit the tensors above `outputs`, outputs first: every tensor comes before
 * the inputs of its node. Iterative (unrolled inner loops make graphs thousands of nodes deep).
 * Only tensors from which a target is reachable are kept.
 */
function schedule(outputs: Tensor[], targets: Set<Tensor>, stopAtTargets: boolean): { order: Tensor[]; useful: Set<Tensor> } {
  const post: Tensor[] = [];
  const state = new Map<Tensor, number>(); // 1: on the stack, 2: done
  const useful = new Set<Tensor>();
  for (const root of outputs) {
    if (state.has(root)) continue;
    const stack: [Tensor, number][] = [[root, 0]];
    state.set(root, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [t, i] = top;
      const node = t._node as Node | null;
      const ins = node && !(stopAtTargets && targets.has(t)) ? node.inputs : [];
      if (i < ins.length) {
        top[1]++;
        const c = ins[i];
        if (c !== null && c.requiresGrad && !state.has(c)) {
          state.set(c, 1);
          stack.push([c, 0]);
        }
        continue;
      }
      stack.pop();
      state.set(t, 2);
      let ok = targets.has(t);
      if (!ok) for (const c of ins) if (c !== null && useful.has(c)) ok = true;
      if (ok) {
        useful.add(t);
        post.push(t);
      }
    }
  }
  return { order: post.reverse(), useful };
}

/**
 * The core of `grad` and `backward`: returns the gradient of `outputs` (weighted by `gradOutputs`)
 * with respect to each tensor in `targets`.
 */
function run(op: string, outputs: Tensor[], gradOutputs: (Tensor | null)[], targets: Set<Tensor>, createGraph: boolean, retainGraph: boolean, stopAtTargets: boolean): Map<Tensor, Tensor> {
  const defaults = defaultGradOutputs;
  const { order, useful } = schedule(outputs, targets, stopAtTargets);
  const grads = new Map<Tensor, Tensor>();
  // Identity-like rules return the incoming gradient object itself (add, reshape of the same
  // shape...), so one tensor may hold several places: count them, release at zero.
  const uses = new Map<Tensor, number>();
  const hold = (g: Tensor) => uses.set(g, (uses.get(g) ?? 0) + 1);
  const drop = (g: Tensor) => {
    const n = (uses.get(g) ?? 0) - 1;
    if (n > 0) uses.set(g, n);
    else {
      uses.delete(g);
      release(g);
    }
  };
  const accumulate = (t: Tensor, g: Tensor) => {
    hold(g);
    const prev = grads.get(t);
    if (prev === undefined) grads.set(t, g);
    else {
      const s = add(prev, g);
      hold(s);
      grads.set(t, s);
      drop(prev);
      drop(g);
    }
  };
  withGradMode(createGraph, () => {
    outputs.forEach((o, i) => {
      const g = gradOutputs[i];
      if (g === null) return;
      accumulate(o, g.clone());
      if (defaults.has(g)) release(g);
    });
    for (const t of order) {
      const g = grads.get(t);
      const node = t._node as Node | null;
      if (g === undefined || node === null || (stopAtTargets && targets.has(t))) continue;
      if (node.freed || node.vjp === null) {
        throw new Error(`${op}: trying to backward through the graph a second time (the saved tensors of '${node.name}' were freed). Pass retainGraph: true (or createGraph: true) to the first call`);
      }
      // Only inputs that lead to a target: a target's own producer is not run (nor freed) unless
      // another target lies beyond it, as in PyTorch.
      const needs = node.inputs.map((x) => x !== null && x.requiresGrad && useful.has(x));
      if (!needs.includes(true)) continue;
      // A scope per rule frees its temporaries now (taped ones survive: Note [Saved tensors]).
      const vjpRule = node.vjp;
      const res = tidy(() => vjpRule(g, needs));
      if (state.anomaly) checkAnomaly(node, res);
      node.inputs.forEach((x, i) => {
        const gi = res[i];
        if (x === null || gi === null || gi === undefined || !needs[i]) return;
        if (!sameShape(gi.shape, x.shape)) throw new Error(`${node.name}: its vjp returned a gradient of shape ${fmt(gi.shape)} for an input of shape ${fmt(x.shape)}`);
        accumulate(x, gi);
      });
      for (const gi of res) if (gi && !uses.has(gi)) release(gi); // computed but not needed
      if (!targets.has(t)) {
        grads.delete(t);
        drop(g);
      }
      if (!retainGraph) node.free();
    }
  });
  return grads;
}

function checkAnomaly(node: Node, res: readonly (Tensor | null)[]): void {
  res.forEach((g, i) => {
    if (g === null || g === undefined) return;
    const d = g.data();
    for (let k = 0; k < d.length; k++) {
      if (!Number.isFinite(d[k])) {
        throw finalName(new Error(`detectAnomaly: the backward of '${node.name}' returned ${d[k]} in the gradient of its input ${i} (shape ${fmt(g.shape)})`));
      }
    }
  });
}

/** The ones tensors prepareOutputs made (released once run() has copied them). */
const defaultGradOutputs = new WeakSet<Tensor>();

function prepareOutputs(op: string, outputs: Tensor[], gradOutputs: GradOptions['gradOutputs']): (Tensor | null)[] {
  const gos = gradOutputs === undefined || gradOutputs === null ? outputs.map(() => null) : asList(gradOutputs);
  if (gos.length !== outputs.length) throw new Error(`${op}: got ${gos.length} gradOutputs for ${outputs.length} outputs`);
  return outputs.map((o, i) => {
    if (!(o instanceof Tensor)) throw new Error(`${op}: output ${i} is not a tensor`);
    if (!o.requiresGrad) throw new Error(`${op}: output ${i} does not require grad (no input of it requires grad, or it was computed under noGrad)`);
    const g = gos[i];
    if (g === null || g === undefined) {
      if (o.size !== 1) throw new Error(`${op}: output ${i} has shape ${fmt(o.shape)}; gradOutputs must be given for non-scalar outputs`);
      const ones = withGradMode(false, () => onesLike(o));
      defaultGradOutputs.add(ones); // run() copies it, then releases it
      return ones;
    }
    if (!sameShape(g.shape, o.shape)) throw new Error(`${op}: gradOutputs[${i}] has shape ${fmt(g.shape)} but output ${i} has shape ${fmt(o.shape)}`);
    return g;
  });
}

/**
 * Gradients of `outputs` with respect to `inputs` (a vector-Jacobian product with `gradOutputs`),
 * one per input. With `createGraph` the results are differentiable (higher-order gradients). Does
 * not touch `.grad`.
 */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts: GradOptions = {}): (Tensor | null)[] {
  checkOptions('grad', opts);
  const { createGraph = false, retainGraph = createGraph, allowUnused = false } = opts ?? {};
  const outs = asList(outputs);
  const ins = asList(inputs);
  ins.forEach((x, i) => {
    if (!(x instanceof Tensor)) throw new Error(`grad: input ${i} is not a tensor`);
    if (!x.requiresGrad) throw new Error(`grad: input ${i} (shape ${fmt(x.shape)}) does not require grad`);
  });
  const gos = prepareOutputs('grad', outs, opts?.gradOutputs);
  const grads = run('grad', outs, gos, new Set(ins), createGraph, retainGraph, false);
  return ins.map((x, i) => {
    const g = grads.get(x);
    if (g === undefined) {
      if (!allowUnused) throw new Error(`grad: input ${i} (shape ${fmt(x.shape)}) was not used to compute the outputs (pass allowUnused: true to get null)`);
      return null;
    }
    return g;
  });
}

/**
 * @internal `grad` for callers whose `inputs` are distinct tensors none of which lies on the path
 * from `outputs` to another (checkpoint's fresh aliases): the walk stops at them instead of
 * visiting the graph above. Returns null for unreachable inputs; `retainGraph` is `createGraph`.
 */
export function gradAtFrontier(outputs: readonly Tensor[], inputs: readonly Tensor[], gradOutputs: readonly Tensor[], createGraph: boolean): (Tensor | null)[] {
  const gos = prepareOutputs('checkpoint', [...outputs], gradOutputs);
  const grads = run('checkpoint', [...outputs], gos, new Set(inputs), createGraph, createGraph, true);
  return inputs.map((x) => grads.get(x) ?? null);
}

/** Collects the leaves (tensors requiring grad without a node) above `outputs`. */
function leavesOf(outputs: Tensor[]): Set<Tensor> {
  const leaves = new Set<Tensor>();
  const seen = new Set<Tensor>();
  const stack = [...outputs];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const node = t._node as Node | null;
    if (node === null) {
      if (t.requiresGrad) leaves.add(t);
      continue;
    }
    for (const x of node.inputs) if (x !== null && x.requiresGrad) stack.push(x);
  }
  return leaves;
}

/**
 * Accumulates the gradient of `output` into the `.grad` of every leaf it depends on (the nn
 * workflow). `gradOutput` defaults to 1 for a scalar output.
 */
export function backward(output: Tensor, gradOutput?: Tensor | null, opts: { createGraph?: boolean; retainGraph?: boolean } = {}): void {
  checkOptions('backward', opts);
  const { createGraph = false, retainGraph = createGraph } = opts ?? {};
  const gos = prepareOutputs('backward', [output], gradOutput ?? null);
  const leaves = leavesOf([output]);
  const grads = run('backward', [output], gos, leaves, createGraph, retainGraph, true);
  // Pass-through rules (add, reshape...) hand several leaves the same gradient object or views
  // of one buffer: first give every leaf a buffer of its own (as in PyTorch), then accumulate.
  const items: [Tensor, Tensor][] = [];
  for (const [leaf, gIn] of grads) {
    if (!leaves.has(leaf)) continue;
    const shared = items.some(([, h]) => h === gIn || sharesStorage(h, gIn));
    items.push([leaf, shared ? withGradMode(createGraph, () => gIn.clone()) : gIn]);
  }
  for (const [leaf, g] of items) {
    const prev = leaf.grad;
    if (prev === null) leaf.grad = keep(g);
    else {
      leaf.grad = keep(withGradMode(createGraph, () => add(prev, g)));
      prev._kept = false;
      release(prev);
      release(g);
    }
  }
}

/** Runs `fn` without recording (results do not require grad). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}
/** Runs `fn` with recording on (inside a noGrad scope, for example). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
/** Whether ops record tape nodes now. */
export function isGradEnabled(): boolean {
  return state.gradEnabled;
}

/** Runs `fn` with each vjp result checked for NaN/Inf; the error names the op whose backward produced it. */
export function detectAnomaly<T>(fn: () => T): T {
  const prev = state.anomaly;
  state.anomaly = true;
  try {
    return fn();
  } finally {
    state.anomaly = prev;
  }
}

hooks.backward = backward;
