/**
 * Unrolled optimization and meta-training of learned update rules (Andrychowicz et al. 2016).
 *
 * Note [Unroll]: an unroll of T steps from step s runs, for t = s .. s+T-1,
 *   loss_t = f_t(theta_t) (per instance, [B]);  g_t = d(sum loss_t)/d theta_t;
 *   (theta_{t+1}, state_{t+1}) = rule.step(theta_t, g_t, state_t, t, weights)
 * and its meta-loss is the sum over the unroll of the mean over instances of f_t(theta_t) for
 * t = s+1 .. s+T (the losses the updates produced; f_s(theta_s) does not depend on this
 * truncation's updates). f_t uses minibatch t, the same one that gives g_t. By default the
 * gradients g_t fed to the rule are constants (detached, as in the paper: no second derivatives
 * of the optimizee); `secondOrder` keeps them differentiable (`createGraph`), so the meta-gradient
 * also flows through the optimizee's Hessian.
 *
 * With `checkpointEvery = S` each segment of S steps runs under `mg.checkpoint`, with the
 * parameters, the rule's state and the rule's weights as the checkpoint's arguments (so gradients
 * reach the weights through every segment): only the segment boundaries are stored, and a
 * segment's intermediates exist only while its gradient is computed. The optimizee's data are
 * constants the losses close over (drawn beforehand), so the recomputation sees the same values.
 *
 * Truncated meta-training ({@link L2LTrainer}): a horizon of H steps is cut into truncations of T;
 * after each, Adam updates the weights with the truncation's meta-gradient, and the optimizee's
 * parameters and the rule's state carry over (detached) to the next truncation.
 */
import { checkpoint } from '../../autograd/checkpoint.js';
import { enableGrad, grad, isGradEnabled } from '../../autograd/engine.js';
import { Adam } from '../../optim/adam.js';
import { clipGradNorm } from '../../optim/clip.js';
import { cat } from '../../ops/movement.js';
import { zeros } from '../../tensor/creation.js';
import { tidy } from '../../tensor/memory.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { OptimizeeBatch, OptimizeeFamily } from './optimizees.js';
import type { UpdateRule } from './update_rule.js';

/** Options of {@link unroll}. */
export interface UnrollOptions {
  /** Steps to unroll (T). */
  steps: number;
  /** Index of the first step s (selects minibatches and Adam's bias correction). Default 0. */
  start?: number;
  /** Run each segment of this many steps under `mg.checkpoint` (0: a plain unroll). Default 0. */
  checkpointEvery?: number;
  /** Differentiate through the optimizee's gradients (second derivatives). Default false (detached, as in the paper). */
  secondOrder?: boolean;
  /** The rule's weights to use (default `rule.parameters()`). */
  weights?: readonly Tensor[];
}

/** What {@link unroll} returns. */
export interface UnrollResult {
  /** Sum over the unrolled steps of the mean (over instances) optimizee loss after each update; differentiable w.r.t. the rule's weights. */
  metaLoss: Tensor;
  /** The optimizee parameters after the unroll (attached to the graph). */
  params: Tensor[];
  /** The rule's state after the unroll (attached to the graph). */
  state: Tensor[];
  /** The mean loss after the last update (the meta-loss's last term). */
  lastLoss: Tensor;
}

/**
 * The mean loss over instances at step t and the per-instance gradients `d(sum loss)/d params`
 * (constants unless `secondOrder`). When nothing is being recorded (parameters that are constants,
 * or grad mode off, as in `mg.checkpoint`'s forward pass) the gradient is taken on fresh leaves.
 */
export function lossAndGrads(problem: OptimizeeBatch, params: readonly Tensor[], t: number, secondOrder = false): { loss: Tensor; grads: Tensor[] } {
  const tracked = isGradEnabled() && params.length > 0 && params.every((p) => p.requiresGrad);
  if (!tracked) {
    const leaves = params.map((p) => p.detach().requiresGrad_());
    // enableGrad: mg.checkpoint's forward pass runs with grad mode off.
    const [l, total] = enableGrad(() => {
      const ls = problem.losses(leaves, t);
      return [ls, ls.sum()];
    });
    const gs = grad(total, leaves, { allowUnused: true });
    const loss = l.detach().mean();
    return { loss, grads: gs.map((g, i) => g ?? zeros(params[i].shape, { dtype: params[i].dtype })) };
  }
  const l = problem.losses(params, t);
  // retainGraph: the meta-gradient later runs back through this loss's graph.
  const gs = grad(l.sum(), params, { createGraph: secondOrder, retainGraph: true, allowUnused: true });
  const grads = gs.map((g, i) => (g === null ? zeros(params[i].shape, { dtype: params[i].dtype }) : secondOrder ? g : g.detach()));
  return { loss: l.mean(), grads };
}

/** Steps t0 .. t0+n-1 of Note [Unroll]; `skipFirst` leaves f_{t0}(theta_{t0}) out of the loss sum. */
function runSteps(rule: UpdateRule, problem: OptimizeeBatch, params: Tensor[], state: Tensor[], weights: readonly Tensor[], t0: number, n: number, skipFirst: boolean, secondOrder: boolean) {
  let sum: Tensor | null = null;
  for (let k = 0; k < n; k++) {
    const t = t0 + k;
    const { loss, grads } = lossAndGrads(problem, params, t, secondOrder);
    if (!(skipFirst && k === 0)) sum = sum === null ? loss : sum.add(loss);
    ({ params, state } = rule.step(params, grads, state, t, weights));
  }
  return { params, state, sum };
}

/**
 * Unrolls `rule` on `problem` for `opts.steps` steps from `params` and `state` (Note [Unroll]),
 * recording everything needed to differentiate the meta-loss with respect to the rule's weights
 * (and, if they require grad, the starting parameters and state). Call inside `mg.tidy` and
 * backpropagate `metaLoss`; the result is the same with and without `checkpointEvery` (which
 * trades recomputation for memory).
 */
export function unroll(rule: UpdateRule, problem: OptimizeeBatch, params: readonly Tensor[], state: readonly Tensor[], opts: UnrollOptions): UnrollResult {
  const { steps, start = 0, checkpointEvery = 0, secondOrder = false } = opts;
  const weights = opts.weights ?? rule.parameters();
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`unroll: steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(start) || start < 0) throw new Error(`unroll: start must be a non-negative integer, got ${start}`);
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 0) throw new Error(`unroll: checkpointEvery must be a non-negative integer, got ${checkpointEvery}`);
  if (params.length !== problem.init.length) throw new Error(`unroll: got ${params.length} parameter tensors for a ${problem.family} optimizee with ${problem.init.length}`);
  let ps = [...params];
  let st = [...state];
  const sums: Tensor[] = [];
  if (checkpointEvery === 0) {
    const r = runSteps(rule, problem, ps, st, weights, start, steps, true, secondOrder);
    ({ params: ps, state: st } = r);
    if (r.sum !== null) sums.push(r.sum);
  } else {
    const P = ps.length;
    const K = st.length;
    const dtype = ps[0].dtype;
    for (let done = 0; done < steps; done += checkpointEvery) {
      const n = Math.min(checkpointEvery, steps - done);
      const first = done === 0;
      const t0 = start + done;
      const shapes: number[][] = [];
      // One output: mg.checkpoint recomputes its function once per output that receives a
      // gradient, so the segment's parameters, state and loss sum are packed into one vector.
      const segment = (...xs: Tensor[]): Tensor => {
        const r = runSteps(rule, problem, xs.slice(0, P), xs.slice(P, P + K), xs.slice(P + K), t0, n, first, secondOrder);
        const outs = [...r.params, ...r.state, r.sum ?? zeros([], { dtype })];
        if (shapes.length === 0) shapes.push(...outs.map((o) => [...o.shape]));
        return cat(outs.map((o) => o.reshape([o.size])), 0);
      };
      const packed = checkpoint(segment, ...ps, ...st, ...weights);
      let off = 0;
      const outs = shapes.map((shape) => {
        const size = shape.reduce((a, b) => a * b, 1);
        const o = packed.slice(0, off, off + size).reshape(shape);
        off += size;
        return o;
      });
      ps = outs.slice(0, P);
      st = outs.slice(P, P + K);
      sums.push(outs[P + K]);
    }
  }
  // The loss of the last update.
  const lastLoss = problem.losses(ps, start + steps).mean();
  let metaLoss = lastLoss;
  for (let i = sums.length - 1; i >= 0; i--) metaLoss = sums[i].add(metaLoss);
  return { metaLoss, params: ps, state: st, lastLoss };
}

/** Options of {@link L2LTrainer}. */
export interface L2LTrainerOptions {
  /** Steps per truncation (T). Default 20 (the paper). */
  unroll?: number;
  /** Steps of one optimizee's training (H). Default 100 (the paper). */
  horizon?: number;
  /** Optimizee instances per iteration (they train side by side). Default 32. */
  instances?: number;
  /** Adam's learning rate on the rule's weights. Default 1e-3. */
  metaLr?: number;
  /** Meta-gradient through the optimizee's gradients. Default false. */
  secondOrder?: boolean;
  /** Checkpoint segments of this many steps (0: plain unrolls). Default 0. */
  checkpointEvery?: number;
  /** Clip the meta-gradient's total norm to this (0: no clipping). Default 0. */
  clipNorm?: number;
}

/** What one {@link L2LTrainer.iteration} measured. */
export interface L2LIterationResult {
  /** Mean over the horizon's steps 1..H and the instances of the optimizee loss (the meta-loss per step). */
  loss: number;
  /** Mean over instances of the training loss after the last step. */
  finalLoss: number;
  /** Truncations whose meta-gradient was not finite (their Adam step was skipped). */
  skipped: number;
}

/**
 * Truncated meta-training of a learned update rule (Note [Unroll]): each {@link L2LTrainer.iteration}
 * samples `instances` optimizees of `family`, trains them for `horizon` steps with the rule, and
 * after every `unroll` steps takes an Adam step on the rule's weights with that truncation's
 * meta-gradient. Everything is freed between truncations (mg.memory() returns to its baseline).
 *
 * ```ts
 * const rule = new mg.meta.l2l.LSTMOptimizer();
 * const trainer = new mg.meta.l2l.L2LTrainer(rule, new mg.meta.l2l.QuadraticFamily(), { unroll: 20, horizon: 100 });
 * for (let it = 0; it < 500; it++) trainer.iteration();
 * ```
 */
export class L2LTrainer {
  readonly unroll: number;
  readonly horizon: number;
  readonly instances: number;
  readonly secondOrder: boolean;
  readonly checkpointEvery: number;
  readonly clipNorm: number;
  /** Adam over the rule's weights (its state is what a resumed run restores). */
  readonly optimizer: Adam;

  constructor(
    readonly rule: UpdateRule,
    readonly family: OptimizeeFamily,
    opts: L2LTrainerOptions = {},
  ) {
    const { unroll: T = 20, horizon = 100, instances = 32, metaLr = 1e-3, secondOrder = false, checkpointEvery = 0, clipNorm = 0 } = opts;
    for (const [k, v] of Object.entries({ unroll: T, horizon, instances })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`L2LTrainer: ${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(checkpointEvery) || checkpointEvery < 0) throw new Error(`L2LTrainer: checkpointEvery must be a non-negative integer, got ${checkpointEvery}`);
    if (!(clipNorm >= 0)) throw new Error(`L2LTrainer: clipNorm must be non-negative, got ${clipNorm}`);
    if (rule.parameters().length === 0) throw new Error(`L2LTrainer: the rule '${rule.name}' has no meta-parameters to train`);
    this.unroll = T;
    this.horizon = horizon;
    this.instances = instances;
    this.secondOrder = secondOrder;
    this.checkpointEvery = checkpointEvery;
    this.clipNorm = clipNorm;
    this.optimizer = new Adam(rule.parameters(), { lr: metaLr });
  }

  /**
   * One iteration on fresh optimizees (drawn from the seeded generator): ceil(H/T) truncations,
   * each followed by an Adam step. Returns the losses seen.
   */
  iteration(): L2LIterationResult {
    const problem = this.family.sample(this.instances, this.horizon + 1);
    let params = problem.init.map((p) => p.clone());
    let state = this.rule.initState(params);
    let total = 0;
    let finalLoss = NaN;
    let skipped = 0;
    try {
      for (let s = 0; s < this.horizon; s += this.unroll) {
        const T = Math.min(this.unroll, this.horizon - s);
        this.optimizer.zeroGrad();
        const r = tidy(() => {
          const u = unroll(this.rule, problem, params, state, { steps: T, start: s, checkpointEvery: this.checkpointEvery, secondOrder: this.secondOrder });
          u.metaLoss.backward();
          return { params: u.params.map((p) => p.detach()), state: u.state.map((x) => x.detach()), metaLoss: u.metaLoss.item(), last: u.lastLoss.item() };
        });
        for (const t of [...params, ...state]) t.dispose();
        params = r.params;
        state = r.state;
        total += r.metaLoss;
        finalLoss = r.last;
        const norm = this.clipNorm > 0 ? clipGradNorm(this.rule.parameters(), this.clipNorm) : clipGradNorm(this.rule.parameters(), Infinity);
        if (Number.isFinite(norm)) this.optimizer.step();
        else skipped++;
      }
    } finally {
      this.optimizer.zeroGrad();
      for (const t of [...params, ...state]) t.dispose();
      problem.dispose();
    }
    return { loss: total / this.horizon, finalLoss, skipped };
  }
}
