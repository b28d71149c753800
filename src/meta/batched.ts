/**
 * Task-batched functional MAML for MLPs: the tasks of a meta-batch are stacked along a leading
 * task dimension T and the inner loop runs on parameters with that leading dimension, so every
 * layer of every task is one batched matmul (`x @ W^T` with `x` [T, n, in] and `W` [out, in]
 * shared or [T, out, in] per task) instead of T small ones. This is the formulation a PyTorch
 * expert writes for MAML on small networks, where the per-op overhead dominates.
 *
 * The shared (meta) parameters are expanded to [T, ...] before the first inner step; the inner
 * gradient is the gradient of the SUM over tasks of the per-task losses with respect to the
 * expanded parameters, whose slice t is exactly task t's own gradient. The meta-loss (mean over
 * tasks of the query loss at the adapted parameters) is differentiable with respect to the shared
 * parameters, to second order (or first order: FOMAML).
 */
import { grad } from '../autograd/engine.js';
import type { Batch, Task } from '../data/task.js';
import { matmulT } from '../ops/matmul.js';
import { stack } from '../ops/movement.js';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/** A task-batched split: `x` [T, n, in], `y` [T, n, out]. */
export type BatchedBatch = Batch;

/** A meta-batch of tasks stacked along a leading task dimension. */
export interface BatchedTasks {
  support: BatchedBatch;
  query: BatchedBatch;
}

/** The hidden-layer activation of {@link mlpForward}: a name or any elementwise function. */
export type Activation = 'relu' | 'tanh' | 'sigmoid' | ((h: Tensor) => Tensor);

/**
 * Per-task losses: `pred` and `y` [T, n, out] to a [T] tensor (task t's loss in slot t). The
 * default is the mean squared error of each task.
 */
export type TaskLossFn = (pred: Tensor, y: Tensor) => Tensor;

/** Options of {@link mlpForward}. */
export interface MlpForwardOptions {
  /** Activation between layers (not after the last). Default `'relu'`. */
  activation?: Activation;
}

/** Options of {@link batchedAdapt} and {@link batchedMamlMetaLoss}. */
export interface BatchedMAMLOptions extends MlpForwardOptions {
  /** Inner SGD steps on the support sets. Default 1. */
  innerSteps?: number;
  /** Inner learning rate (alpha). Default 0.01. */
  innerLr?: number;
  /** First-order MAML: the inner gradients are constants. Default false (second order). */
  firstOrder?: boolean;
  /** Per-task losses ([T, n, out] to [T]); default per-task mean squared error. */
  taskLoss?: TaskLossFn;
  /**
   * Meta-SGD: one learning-rate tensor per parameter, shaped like the shared parameter and in
   * `params` order (the same for every task; meta-learned if it requires grad). Replaces
   * `innerLr`. With `firstOrder` the inner gradients are constants but the rates still receive
   * a meta-gradient through `lr * g`, as in `mg.meta.MetaSGD`.
   */
  innerLrs?: readonly Tensor[];
  /**
   * Which parameters the inner loop adapts, one flag per tensor of `params` (ANIL: only the
   * head's). Parameters not adapted stay shared by every task (and are still meta-learned
   * through the query loss). Default: every parameter.
   */
  adapted?: readonly boolean[];
}

function fmt(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

function activate(h: Tensor, a: Activation): Tensor {
  if (typeof a === 'function') return a(h);
  if (a === 'relu') return h.relu();
  if (a === 'tanh') return h.tanh();
  if (a === 'sigmoid') return h.sigmoid();
  throw new Error(`mlpForward: unknown activation ${String(a)}`);
}

/** Per-task mean squared error: [T, n, out] to [T]. */
export function taskMseLoss(pred: Tensor, y: Tensor): Tensor {
  return pred.sub(y).square().mean([1, 2]);
}

/**
 * A task-batched MLP: `params` is [W1, b1, W2, b2, ...], each `W` [out, in] (shared by every task)
 * or [T, out, in] (per task), each `b` [out] (shared), [T, out] or [T, 1, out] (per task); `x` is
 * [T, n, in]. Returns [T, n, outLast]: layer i is `h @ W_i^T + b_i` (one batched matmul that
 * broadcasts a shared weight over the tasks), followed by the activation except after the last.
 */
export function mlpForward(params: readonly Tensor[], x: Tensor, opts: MlpForwardOptions = {}): Tensor {
  const { activation = 'relu' } = opts;
  if (params.length === 0 || params.length % 2 !== 0) throw new Error(`mlpForward: expected [W1, b1, W2, b2, ...], got ${params.length} tensors`);
  if (x.ndim !== 3) throw new Error(`mlpForward: x must be [T, n, in], got ${fmt(x.shape)}`);
  const T = x.shape[0];
  let h = x;
  const L = params.length / 2;
  for (let i = 0; i < L; i++) {
    const W = params[2 * i];
    let b = params[2 * i + 1];
    const inF = h.shape[2];
    const perTask = W.ndim === 3;
    if (!((W.ndim === 2 || (perTask && W.shape[0] === T)) && W.shape[W.ndim - 1] === inF)) {
      throw new Error(`mlpForward: layer ${i} weight ${fmt(W.shape)} must be [out, ${inF}] or [${T}, out, ${inF}]`);
    }
    const out = W.shape[W.ndim - 2];
    if (b.ndim === 2 && b.shape[0] === T && b.shape[1] === out) b = b.reshape([T, 1, out]);
    else if (!((b.ndim === 1 && b.shape[0] === out) || (b.ndim === 3 && b.shape[0] === T && b.shape[1] === 1 && b.shape[2] === out))) {
      throw new Error(`mlpForward: layer ${i} bias ${fmt(b.shape)} must be [${out}], [${T}, ${out}] or [${T}, 1, ${out}]`);
    }
    h = matmulT(h, W, false, true).add(b);
    if (i < L - 1) h = activate(h, activation);
  }
  return h;
}

/**
 * Stacks tasks into batched tensors: support `x` [T, K, in], `y` [T, K, out], and the same for the
 * query. Every task must have the same split shapes. The results are new tensors (the caller
 * disposes them, or calls this inside `mg.tidy`).
 */
export function stackTasks(tasks: readonly Task[]): BatchedTasks {
  if (tasks.length === 0) throw new Error('stackTasks: expected at least one task');
  return tidy(() => ({
    support: { x: stack(tasks.map((t) => t.support.x)), y: stack(tasks.map((t) => t.support.y)) },
    query: { x: stack(tasks.map((t) => t.query.x)), y: stack(tasks.map((t) => t.query.y)) },
  }));
}

function checkBatch(what: string, b: BatchedBatch): void {
  if (b.x.ndim !== 3 || b.y.ndim !== 3 || b.x.shape[0] !== b.y.shape[0] || b.x.shape[1] !== b.y.shape[1]) {
    throw new Error(`${what}: x and y must be [T, n, in] and [T, n, out], got ${fmt(b.x.shape)} and ${fmt(b.y.shape)}`);
  }
}

/**
 * Shared parameters expanded to per-task ones: W [out, in] to [T, out, in], b [out] to
 * [T, 1, out]; those with `adapted[i] === false` are kept shared.
 */
function expandToTasks(params: readonly Tensor[], T: number, adapted?: readonly boolean[]): Tensor[] {
  return params.map((p, i) => {
    if (adapted !== undefined && !adapted[i]) return p;
    if (i % 2 === 0) return p.ndim === 2 ? p.expand([T, ...p.shape]) : p;
    if (p.ndim === 1) return p.reshape([1, 1, p.shape[0]]).expand([T, 1, p.shape[0]]);
    return p.ndim === 2 ? p.reshape([T, 1, p.shape[1]]) : p;
  });
}

/**
 * Task-batched inner loop: `innerSteps` SGD steps of every task on its own support set, from the
 * shared `params` ([W1, b1, ...] as in {@link mlpForward}). Returns per-task parameters (W
 * [T, out, in], b [T, 1, out]), differentiable with respect to `params` (through the inner
 * gradients unless `firstOrder`). With 0 steps, the parameters expanded to the tasks.
 */
export function batchedAdapt(params: readonly Tensor[], support: BatchedBatch, opts: BatchedMAMLOptions = {}): Tensor[] {
  const { innerSteps = 1, innerLr = 0.01, firstOrder = false, taskLoss = taskMseLoss, activation = 'relu', innerLrs, adapted } = opts;
  if (!Number.isInteger(innerSteps) || innerSteps < 0) throw new Error(`batchedAdapt: innerSteps must be a non-negative integer, got ${innerSteps}`);
  if (!Number.isFinite(innerLr)) throw new Error(`batchedAdapt: innerLr must be a finite number, got ${innerLr}`);
  if (adapted !== undefined && adapted.length !== params.length) {
    throw new Error(`batchedAdapt: adapted has ${adapted.length} flags for ${params.length} parameters`);
  }
  if (innerLrs !== undefined) {
    if (innerLrs.length !== params.length) throw new Error(`batchedAdapt: innerLrs has ${innerLrs.length} tensors for ${params.length} parameters`);
    innerLrs.forEach((r, i) => {
      if (r.shape.length !== params[i].shape.length || r.shape.some((d, k) => d !== params[i].shape[k])) {
        throw new Error(`batchedAdapt: innerLrs[${i}] ${fmt(r.shape)} must have the shape of parameter ${i} ${fmt(params[i].shape)}`);
      }
    });
  }
  checkBatch('batchedAdapt: support', support);
  let ps = expandToTasks(params, support.x.shape[0], adapted);
  for (let s = 0; s < innerSteps; s++) {
    // The sum over tasks: its gradient w.r.t. the [T, ...] parameters has task t's own gradient
    // in slice t. retainGraph: the first-order meta-gradient still walks the previous updates.
    // Only adapted tensors that require grad are differentiated (and updated); others are kept.
    const idx = ps.flatMap((p, i) => (p.requiresGrad && (adapted === undefined || adapted[i]) ? [i] : []));
    if (idx.length === 0) throw new Error('batchedAdapt: none of the adapted parameters requires grad');
    const l = taskLoss(mlpForward(ps, support.x, { activation }), support.y).sum();
    const gsel = grad(l, idx.map((i) => ps[i]), { createGraph: !firstOrder, retainGraph: true, allowUnused: true });
    const gs: (Tensor | null)[] = ps.map(() => null);
    idx.forEach((i, k) => (gs[i] = gsel[k]));
    ps = ps.map((p, i) => {
      const g = gs[i];
      if (g === null) return p;
      const gi = firstOrder && g.requiresGrad ? g.detach() : g;
      if (innerLrs === undefined) return p.sub(gi.mul(innerLr));
      // A bias rate [out] broadcasts against the per-task bias [T, 1, out], a weight rate
      // [out, in] against [T, out, in].
      return p.sub(gi.mul(innerLrs[i]));
    });
  }
  return ps;
}

/**
 * The task-batched MAML meta-loss: the mean over the T tasks of the query loss at the parameters
 * adapted on each task's support set (see {@link batchedAdapt}), a scalar differentiable with
 * respect to the shared `params` (second order, or first order with `firstOrder`). Equal to
 * `mg.meta.MAML`'s per-task loop for the same MLP. Call inside `mg.tidy` to free the graph.
 *
 * ```ts
 * const params = model.parameters(); // Sequential(Linear, ReLU, Linear, ReLU, Linear)
 * const opt = new mg.optim.Adam(params, { lr: 1e-3 });
 * const { support, query } = mg.meta.stackTasks(sampler.sample(25));
 * opt.zeroGrad();
 * mg.tidy(() => mg.meta.batchedMamlMetaLoss(params, support, query, { innerLr: 0.01 }).backward());
 * opt.step();
 * ```
 */
export function batchedMamlMetaLoss(params: readonly Tensor[], support: BatchedBatch, query: BatchedBatch, opts: BatchedMAMLOptions = {}): Tensor {
  checkBatch('batchedMamlMetaLoss: query', query);
  if (query.x.shape[0] !== support.x.shape[0]) {
    throw new Error(`batchedMamlMetaLoss: support has ${support.x.shape[0]} tasks but query has ${query.x.shape[0]}`);
  }
  const adapted = batchedAdapt(params, support, opts);
  const { taskLoss = taskMseLoss, activation = 'relu' } = opts;
  return taskLoss(mlpForward(adapted, query.x, { activation }), query.y).mean();
}
