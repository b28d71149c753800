/**
 * MAML (Finn et al. 2017) over a module's functional parameters: an inner loop of plain SGD on a
 * task's support set (`functionalCall` with substitute parameters), and a meta-loss, the mean of
 * the query losses at the adapted parameters, differentiable with respect to the module's own
 * parameters (second order through the inner gradients, or first order: FOMAML).
 */
import { grad, noGrad } from '../autograd/engine.js';
import { constantGrad } from '../autograd/functional.js';
import type { Batch, Task } from '../data/task.js';
import { functionalCall } from '../nn/functional_call.js';
import { mseLoss } from '../nn/functional.js';
import type { Module } from '../nn/module.js';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

/** A loss of a prediction against targets, returning a scalar tensor. */
export type LossFn = (pred: Tensor, y: Tensor) => Tensor;

/** The optimizer surface the meta-learners use (every `mg.optim` optimizer has it). */
export interface MetaOptimizer {
  zeroGrad(): void;
  step(): void;
}

/** Options of {@link MAML} (and of the learners built on it). */
export interface MAMLOptions {
  /** Inner SGD steps on the support set during meta-training. Default 1. */
  innerSteps?: number;
  /** Inner learning rate (alpha). Default 0.01. */
  innerLr?: number;
  /**
   * First-order MAML (FOMAML): the inner gradients are treated as constants, so the meta-gradient
   * is the query gradient at the adapted parameters. Default false (full second order).
   */
  firstOrder?: boolean;
  /** `lossFn(pred, y)`, a scalar; default `mseLoss`. Used for the support and query sets. */
  lossFn?: LossFn;
}

/** Options of {@link MAML.adapt}. */
export interface AdaptOptions {
  /**
   * How the inner loop is recorded:
   * - `'second-order'`: inner gradients with `createGraph` (the adapted parameters are
   *   differentiable through them);
   * - `'first-order'`: inner gradients detached (FOMAML: the adapted parameters depend on the
   *   initial ones only through the identity path);
   * - `'eval'`: nothing is recorded beyond one inner gradient at a time; the result is detached.
   * Default: `'first-order'` if the learner is first order, else `'second-order'`.
   */
  mode?: 'second-order' | 'first-order' | 'eval';
}

/**
 * Model-Agnostic Meta-Learning over `module` (a `[Tensor] -> Tensor` module such as a
 * `Sequential`). The meta-parameters are the module's own parameters; pass
 * {@link MAML.metaParameters} to an optimizer.
 *
 * ```ts
 * const model = new mg.nn.Sequential(new mg.nn.Linear(1, 40), new mg.nn.ReLU(), new mg.nn.Linear(40, 1));
 * const maml = new mg.meta.MAML(model, { innerSteps: 1, innerLr: 0.01 });
 * const opt = new mg.optim.Adam(maml.metaParameters(), { lr: 1e-3 });
 * for (let it = 0; it < 1000; it++) maml.step(sampler.sample(25), opt);
 * const testLoss = maml.evaluate(sampler.sample(100), { steps: 10 });
 * ```
 */
export class MAML {
  /** Inner steps used by `adapt`/`metaLoss` when none are given. */
  innerSteps: number;
  /** Inner learning rate alpha. */
  innerLr: number;
  /** Whether meta-training is first order (FOMAML). */
  readonly firstOrder: boolean;
  /** Support and query loss. */
  readonly lossFn: LossFn;

  constructor(
    readonly module: Module<[Tensor], Tensor>,
    opts: MAMLOptions = {},
  ) {
    const { innerSteps = 1, innerLr = 0.01, firstOrder = false, lossFn = (p: Tensor, y: Tensor) => mseLoss(p, y) } = opts;
    if (!Number.isInteger(innerSteps) || innerSteps < 0) throw new Error(`${this.constructor.name}: innerSteps must be a non-negative integer, got ${innerSteps}`);
    if (!Number.isFinite(innerLr)) throw new Error(`${this.constructor.name}: innerLr must be a finite number, got ${innerLr}`);
    this.innerSteps = innerSteps;
    this.innerLr = innerLr;
    this.firstOrder = firstOrder;
    this.lossFn = lossFn;
  }

  /** The tensors to meta-learn (give these to the optimizer): the module's parameters. */
  metaParameters(): Tensor[] {
    return this.module.parameters();
  }

  /**
   * The inputs the inner loop works on, computed once per batch: the batch itself for MAML (ANIL:
   * the body's features). `evalMode`: graph-free evaluation.
   */
  protected prepare(batch: Batch, _evalMode: boolean): Batch {
    return batch;
  }

  /** The output on prepared inputs (see `prepare`) with the adapted parameters. */
  protected forwardPrepared(params: readonly Tensor[], x: Tensor): Tensor {
    return functionalCall(this.module, params, x);
  }

  /** The loss of `params` on a prepared batch. */
  protected lossPrepared(params: readonly Tensor[], batch: Batch): Tensor {
    return this.lossFn(this.forwardPrepared(params, batch.x), batch.y);
  }

  /** The initial parameters of the inner loop: the module's parameters (ANIL: the head's). */
  initialParameters(): Tensor[] {
    return this.module.parameters();
  }

  /** The model's output on raw inputs `x` with parameters returned by {@link MAML.adapt}. */
  predict(params: readonly Tensor[], x: Tensor): Tensor {
    return this.forwardPrepared(params, this.prepare({ x, y: x }, false).x);
  }

  /** The loss on a raw batch with parameters returned by {@link MAML.adapt}. */
  loss(params: readonly Tensor[], batch: Batch): Tensor {
    return this.lossPrepared(params, this.prepare(batch, false));
  }

  /**
   * One inner update from gradients (`null`: the parameter did not affect the loss, kept as is).
   * `eval` is true in graph-free evaluation (then nothing here is recorded). Subclasses change
   * the rule (Meta-SGD's per-parameter rates).
   */
  protected innerUpdate(params: readonly Tensor[], grads: readonly (Tensor | null)[], _eval: boolean): Tensor[] {
    return params.map((p, i) => {
      const g = grads[i];
      return g === null || g === undefined ? p : p.sub(g.mul(this.innerLr));
    });
  }

  /**
   * Adapts parameters to a support set with `steps` inner SGD steps:
   * `params.map((p, i) => p.sub(grads[i].mul(innerLr)))`. `params` defaults to the module's
   * parameters, `steps` to `innerSteps`. In the training modes the result is differentiable with
   * respect to `params` (see {@link AdaptOptions}); in `'eval'` mode it is detached, whatever the
   * number of steps, so evaluation with many steps keeps no graph.
   */
  adapt(support: Batch, params: readonly Tensor[] = this.initialParameters(), steps: number = this.innerSteps, opts: AdaptOptions = {}): Tensor[] {
    const mode = opts.mode ?? (this.firstOrder ? 'first-order' : 'second-order');
    if (!Number.isInteger(steps) || steps < 0) throw new Error(`${this.constructor.name}.adapt: steps must be a non-negative integer, got ${steps}`);
    support = mode === 'eval' ? noGrad(() => this.prepare(support, true)) : this.prepare(support, false);
    if (mode === 'eval') {
      let ps = params.map((p) => p.detach().requiresGrad_());
      for (let s = 0; s < steps; s++) {
        const gs = grad(this.lossPrepared(ps, support), ps, { allowUnused: true });
        const next = noGrad(() => this.innerUpdate(ps, gs, true));
        ps = next.map((p, i) => (p === ps[i] ? p : p.requiresGrad_()));
      }
      return ps.map((p) => p.detach());
    }
    let ps = [...params];
    for (let s = 0; s < steps; s++) {
      // Only tensors that require grad can be differentiated; others (e.g. frozen) are kept.
      const idx = ps.flatMap((p, i) => (p.requiresGrad ? [i] : []));
      if (idx.length === 0) throw new Error(`${this.constructor.name}.adapt: none of the parameters requires grad`);
      if (mode !== 'second-order') {
        // First order: the gradient is a constant, taken in its own scope (frees the support
        // forward's activations now). retainGraph: the prepared support (ANIL's body features)
        // belongs to the outer graph.
        ps = this.innerUpdate(ps, constantGrad((xs) => this.lossPrepared(xs, support), ps, { wrt: idx, retainGraph: true }), false);
        continue;
      }
      // retainGraph: `grad` without it also frees the saved tensors of the nodes that produced
      // the parameters (the previous inner update, which the meta-gradient still walks), unlike
      // PyTorch, which frees only the nodes it ran. The enclosing tidy frees the graph.
      const gsel = grad(this.lossPrepared(ps, support), idx.map((i) => ps[i]), { createGraph: true, retainGraph: true, allowUnused: true });
      const gs: (Tensor | null)[] = ps.map(() => null);
      idx.forEach((i, k) => (gs[i] = gsel[k]));
      ps = this.innerUpdate(ps, gs, false);
    }
    return ps;
  }

  /**
   * The meta-loss: the mean over `tasks` of the query loss at the parameters adapted on the
   * task's support set, differentiable with respect to the module's parameters (and any other
   * meta-parameters). Call inside `mg.tidy` (as {@link MAML.step} does) to free the graph.
   */
  metaLoss(tasks: readonly Task[]): Tensor {
    if (tasks.length === 0) throw new Error(`${this.constructor.name}.metaLoss: expected at least one task`);
    let total: Tensor | null = null;
    for (const task of tasks) {
      const adapted = this.adapt(task.support);
      const l = this.loss(adapted, task.query);
      total = total === null ? l : total.add(l);
    }
    return total!.div(tasks.length);
  }

  /**
   * One meta-training step: `optimizer.zeroGrad()`, `metaLoss(tasks).backward()`,
   * `optimizer.step()`. Everything is freed before it returns (tidy), except the `.grad` of the
   * meta-parameters. Returns the meta-loss.
   */
  step(tasks: readonly Task[], optimizer: MetaOptimizer): number {
    optimizer.zeroGrad();
    const value = tidy(() => {
      const l = this.metaLoss(tasks);
      l.backward();
      return l.item();
    });
    optimizer.step();
    return value;
  }

  /**
   * Mean query loss after adapting on each task's support set with `steps` (default `innerSteps`)
   * graph-free inner steps (`'eval'` mode). Frees everything before returning.
   */
  evaluate(tasks: readonly Task[], opts: { steps?: number } = {}): number {
    if (tasks.length === 0) throw new Error(`${this.constructor.name}.evaluate: expected at least one task`);
    let sum = 0;
    for (const task of tasks) {
      sum += tidy(() => {
        const adapted = this.adapt(task.support, this.initialParameters(), opts.steps ?? this.innerSteps, { mode: 'eval' });
        return noGrad(() => this.lossPrepared(adapted, this.prepare(task.query, true)).item());
      });
    }
    return sum / tasks.length;
  }
}
