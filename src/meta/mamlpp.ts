/**
 * MAML++ (Antoniou, Edwards & Storkey 2019, "How to train your MAML"): MAML with six fixes, each
 * behind its own switch, following the semantics of the authors' code
 * (HowToTrainYourMAMLPytorch, `few_shot_learning_system.py`):
 *
 * - MSL, multi-step loss: the meta-loss is the query loss after every inner step, weighted by
 *   {@link perStepLossWeights} (uniform at first, annealed towards the last step), for the first
 *   `multiStepLossEpochs` epochs; afterwards only the last step's query loss.
 * - DA, derivative-order annealing: first-order meta-gradients for the first `firstOrderEpochs`
 *   epochs, then second order.
 * - LSLR: a learnable inner learning rate per parameter tensor and per inner step (initialised to
 *   `innerLr`), meta-learned with the initialisation.
 * - BNRS and BNWB: per-step batch-norm running statistics and weights/biases; these live in the
 *   model ({@link Conv4} with `perStepBnStats` / `perStepBnWeights`, see Note [Step-aware forward]
 *   and Note [MAML++ batch norm] below).
 * - CA: cosine annealing of the meta learning rate over `cosineAnnealing.epochs` epochs.
 *
 * An epoch is `iterationsPerEpoch` meta-iterations ({@link MAMLpp.step} calls).
 *
 * Note [MAML++ batch norm]: as in the authors' code, every forward pass of meta-training and of
 * evaluation normalises with the batch's statistics (training mode: transductive batch norm);
 * the batch-norm weights and biases are meta-learned but not adapted in the inner loop (option
 * `adaptBatchNorm` adapts them, as plain MAML over all parameters does). The support forward of
 * inner step s and the query forward after update s both use the step-s batch-norm weights (the
 * code's `num_step = s` for both), so K inner steps need K per-step sets. In meta-training these
 * forwards also fold their batch statistics into step s's running statistics (and no other
 * step's). Evaluation leaves the running statistics untouched (the authors back them up and
 * restore them); with `runningStats: true` it normalises at step s with step s's running
 * statistics instead of the batch's (eval-mode batch norm). Steps past the last per-step set
 * (evaluation with more steps than meta-training) reuse the last set and the last learning rate.
 */
import { checkpoint } from '../autograd/checkpoint.js';
import { constantGrad } from '../autograd/functional.js';
import { enableGrad, grad, isGradEnabled, noGrad } from '../autograd/engine.js';
import type { Batch, Task } from '../data/task.js';
import { accuracy, crossEntropy } from '../nn/functional.js';
import { functionalCall } from '../nn/functional_call.js';
import { BatchNormBase } from '../nn/layers.js';
import { Conv4, MetaBatchNorm2d, type StepForwardOptions } from '../nn/models/conv4.js';
import type { Module } from '../nn/module.js';
import { cat, stack } from '../ops/movement.js';
import { cosineAnnealingLrAt } from '../optim/lr_scheduler.js';
import { full } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { fmt } from '../tensor/shape.js';
import { keep, Tensor } from '../tensor/tensor.js';
import type { LossFn, MetaOptimizer } from './maml.js';

/** A module whose forward takes `(x, { step, training, updateStats })` (or just `x`). */
export type StepModule = Module<[Tensor, StepForwardOptions?], Tensor>;

/**
 * MAML++'s per-step loss importance weights (`get_per_step_loss_importance_vector` of the
 * authors' code) for `steps` inner steps at `epoch`, annealed over `annealEpochs` epochs: every
 * weight starts at 1/K; each non-final weight decays by `1/K/annealEpochs` per epoch down to
 * `0.03/K`; the final one grows by `(K-1)/K/annealEpochs` per epoch up to `1 - (K-1)*0.03/K`.
 * The weights always sum to 1 (the two clamps bind at the same epoch). `epoch` may be fractional.
 */
export function perStepLossWeights(steps: number, epoch: number, annealEpochs: number): number[] {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`perStepLossWeights: steps must be a positive integer, got ${String(steps)}`);
  if (!(epoch >= 0) || !Number.isFinite(epoch)) throw new Error(`perStepLossWeights: epoch must be a finite number >= 0, got ${String(epoch)}`);
  if (!(annealEpochs > 0) || !Number.isFinite(annealEpochs)) throw new Error(`perStepLossWeights: annealEpochs must be a positive number, got ${String(annealEpochs)}`);
  const K = steps;
  const decay = 1 / K / annealEpochs;
  const minNonFinal = 0.03 / K;
  const w = new Array<number>(K).fill(1 / K);
  for (let i = 0; i < K - 1; i++) w[i] = Math.max(w[i] - epoch * decay, minNonFinal);
  w[K - 1] = Math.min(w[K - 1] + epoch * (K - 1) * decay, 1 - (K - 1) * minNonFinal);
  return w;
}

/** Cosine annealing of the meta learning rate (MAML++'s CA). */
export interface CosineAnnealingOptions {
  /** Epochs of the half-period: the lr reaches `etaMin` after this many epochs. */
  epochs: number;
  /** The final learning rate (default 0; the authors use 1e-5). */
  etaMin?: number;
}

/** Options of {@link MAMLpp}. */
export interface MAMLppOptions {
  /** Inner steps in meta-training. Default 5. */
  innerSteps?: number;
  /** Inner learning rate (LSLR's initial value). Default 0.1. */
  innerLr?: number;
  /** Support and query loss; default cross-entropy (int32 labels). */
  lossFn?: LossFn;
  /** Meta-iterations per epoch (the unit of the annealing schedules). Default 500. */
  iterationsPerEpoch?: number;
  /** MSL: multi-step loss. Default true. */
  multiStepLoss?: boolean;
  /** MSL: epochs over which the per-step weights anneal; after them only the last step counts. Default 10. */
  multiStepLossEpochs?: number;
  /** Second-order meta-gradients (after the DA epochs). Default true; false: first order throughout. */
  secondOrder?: boolean;
  /**
   * DA: first-order meta-gradients during the first `firstOrderEpochs` epochs (epochs 0 to E-1),
   * second order from epoch E. Default 0 (off). The authors' code switches when
   * `epoch > first_order_to_second_order_epoch`, i.e. their setting is E - 1.
   */
  firstOrderEpochs?: number;
  /** LSLR: learnable per-parameter-tensor, per-step inner learning rates. Default true. */
  learnInnerLr?: boolean;
  /** CA: cosine annealing of the optimizer's learning rate by epoch. Default null (off). */
  cosineAnnealing?: CosineAnnealingOptions | null;
  /** Adapt batch-norm weights and biases in the inner loop too (default false, as MAML++). */
  adaptBatchNorm?: boolean;
  /**
   * Run each inner step of meta-training under `mg.checkpoint`: its intermediates are recomputed
   * during the backward pass instead of kept, so memory grows with the inner steps only by the
   * adapted parameters. Same meta-gradient. Default false.
   */
  checkpoint?: boolean;
  /**
   * Meta-train every task of a meta-batch at once (Note [Task-batched conv4]): the module must
   * be a {@link Conv4} without per-step running statistics (BNRS), the loss the default
   * cross-entropy, no `checkpoint`, and the tasks of a meta-batch the same shapes. Same
   * meta-gradient as the per-task loop; the running statistics are not updated (MAML and MAML++
   * normalise with the batch's statistics in training and evaluation). Default false.
   */
  taskBatched?: boolean;
}

/** Options of {@link MAMLpp.adapt}. */
export interface MAMLppAdaptOptions {
  /** Inner steps (default `innerSteps`). */
  steps?: number;
  /**
   * `'second-order'` / `'first-order'`: a differentiable inner loop (meta-training);
   * `'eval'` (the default): graph-free, returns detached tensors, leaves running statistics alone.
   */
  mode?: 'second-order' | 'first-order' | 'eval';
  /** Eval mode only: normalise with each step's running statistics instead of the batch's. */
  runningStats?: boolean;
  /** Where to start (adapted parameters in `innerNames` order); default the module's own. */
  params?: readonly Tensor[];
  /**
   * Step index of the first update (default 0), for continuing an adaptation: `adapt(s, { steps: 4,
   * params: adapt(s, { steps: 1 }), startStep: 1 })` equals `adapt(s, { steps: 5 })`.
   */
  startStep?: number;
}

/** Options of {@link MAMLpp.evaluate} and {@link MAMLpp.evaluateMetrics}. */
export interface MAMLppEvalOptions {
  /** Inner steps (default `innerSteps`). */
  steps?: number;
  /** Normalise with the per-step running statistics instead of the batch's (default false). */
  runningStats?: boolean;
}

/** The optimizer surface {@link MAMLpp.step} uses; `paramGroups` is needed by cosine annealing. */
export interface MAMLppOptimizer extends MetaOptimizer {
  paramGroups?: { lr: number; initialLr?: number }[];
}

function checkInt(op: string, name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new Error(`${op}: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

/**
 * MAML++ over a step-aware module (`forward(x, { step, training, updateStats })`, e.g.
 * {@link Conv4}; a plain module such as a `Sequential` works too and ignores the step).
 * Give {@link MAMLpp.metaParameters} (the module's parameters, then the LSLR rates) to the
 * optimizer; {@link MAMLpp.step} runs one meta-iteration and advances the epoch counter.
 *
 * ```ts
 * const net = new mg.nn.Conv4({ ways: 5, bnSteps: 5, perStepBnWeights: true, perStepBnStats: true });
 * const learner = new mg.meta.MAMLpp(net, { innerSteps: 5, innerLr: 0.1, firstOrderEpochs: 50,
 *   cosineAnnealing: { epochs: 150, etaMin: 1e-5 } });
 * const opt = new mg.optim.Adam(learner.metaParameters(), { lr: 1e-3 });
 * for (let it = 0; it < 75000; it++) learner.step(sampler.sample(16), opt);
 * const { accuracy } = learner.evaluateMetrics(testTasks, { steps: 5 });
 * ```
 *
 * With every switch off (`multiStepLoss: false, learnInnerLr: false, firstOrderEpochs: 0`, no
 * cosine annealing, shared batch norm, `adaptBatchNorm: true`) it computes plain second-order
 * MAML's meta-gradient.
 */
export class MAMLpp {
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly lossFn: LossFn;
  readonly iterationsPerEpoch: number;
  readonly multiStepLoss: boolean;
  readonly multiStepLossEpochs: number;
  readonly secondOrder: boolean;
  readonly firstOrderEpochs: number;
  readonly learnInnerLr: boolean;
  readonly cosineAnnealing: Required<CosineAnnealingOptions> | null;
  readonly adaptBatchNorm: boolean;
  readonly useCheckpoint: boolean;
  /** Whether meta-training runs the tasks of a meta-batch at once (Note [Task-batched conv4]). */
  readonly taskBatched: boolean;
  /** Meta-iterations done (`step` calls); settable to resume a run. */
  iteration = 0;
  /** Names of the parameters adapted in the inner loop (module order). */
  readonly innerNames: string[];
  /** LSLR: one [innerSteps] tensor of rates per adapted parameter (empty without LSLR). */
  readonly innerLrs: Tensor[];
  private readonly allParams: Tensor[];
  /** For each module parameter, its index among the adapted ones, or -1. */
  private readonly innerPos: number[];

  constructor(readonly module: StepModule, opts: MAMLppOptions = {}) {
    const op = 'MAMLpp';
    const {
      innerSteps = 5, innerLr = 0.1, lossFn = (p: Tensor, y: Tensor) => crossEntropy(p, y), iterationsPerEpoch = 500,
      multiStepLoss = true, multiStepLossEpochs = 10, secondOrder = true, firstOrderEpochs = 0, learnInnerLr = true,
      cosineAnnealing = null, adaptBatchNorm = false, checkpoint: ckpt = false, taskBatched = false,
    } = opts;
    if (taskBatched) {
      const why = !(module instanceof Conv4)
        ? 'the module must be a Conv4'
        : module.norms.some((bn) => bn.perStepStats)
          ? 'per-step running statistics (BNRS) are updated task by task: use the per-task loop'
          : opts.lossFn !== undefined
            ? 'the loss must be the default cross-entropy'
            : ckpt
              ? 'checkpointed steps run the per-task loop'
              : null;
      if (why !== null) throw new Error(`${op}: taskBatched: ${why}`);
    }
    this.taskBatched = taskBatched;
    this.innerSteps = checkInt(op, 'innerSteps', innerSteps, 1);
    if (!Number.isFinite(innerLr)) throw new Error(`${op}: innerLr must be a finite number, got ${String(innerLr)}`);
    this.iterationsPerEpoch = checkInt(op, 'iterationsPerEpoch', iterationsPerEpoch, 1);
    if (!(multiStepLossEpochs > 0)) throw new Error(`${op}: multiStepLossEpochs must be positive, got ${String(multiStepLossEpochs)}`);
    this.firstOrderEpochs = checkInt(op, 'firstOrderEpochs', firstOrderEpochs, 0);
    if (cosineAnnealing !== null) {
      if (!(cosineAnnealing.epochs > 0)) throw new Error(`${op}: cosineAnnealing.epochs must be positive, got ${String(cosineAnnealing.epochs)}`);
      this.cosineAnnealing = { epochs: cosineAnnealing.epochs, etaMin: cosineAnnealing.etaMin ?? 0 };
    } else {
      this.cosineAnnealing = null;
    }
    this.innerLr = innerLr;
    this.lossFn = lossFn;
    this.multiStepLoss = multiStepLoss;
    this.multiStepLossEpochs = multiStepLossEpochs;
    this.secondOrder = secondOrder;
    this.learnInnerLr = learnInnerLr;
    this.adaptBatchNorm = adaptBatchNorm;
    this.useCheckpoint = ckpt;

    // Batch-norm parameters (not adapted unless adaptBatchNorm) and per-step layer sizes.
    const bnNames = new Set<string>();
    for (const [prefix, m] of module.namedModules()) {
      if (!(m instanceof MetaBatchNorm2d) && !(m instanceof BatchNormBase)) continue;
      for (const [n, t] of m._parameters) if (t) bnNames.add(prefix ? `${prefix}.${n}` : n);
      if (m instanceof MetaBatchNorm2d && (m.perStepStats || m.perStepWeights) && m.steps < this.innerSteps) {
        throw new Error(`${op}: batch norm '${prefix}' keeps per-step weights/statistics for ${m.steps} steps but innerSteps is ${this.innerSteps}`);
      }
    }
    const named = module.namedParameters();
    this.allParams = named.map(([, t]) => t);
    this.innerNames = named.filter(([n, t]) => t.requiresGrad && (adaptBatchNorm || !bnNames.has(n))).map(([n]) => n);
    if (this.innerNames.length === 0) throw new Error(`${op}: no parameter to adapt in the inner loop (parameters: ${named.map(([n]) => n).join(', ')})`);
    const pos = new Map(this.innerNames.map((n, i) => [n, i]));
    this.innerPos = named.map(([n]) => pos.get(n) ?? -1);
    this.innerLrs = learnInnerLr
      ? this.innerNames.map((n) => {
          const p = this.allParams[named.findIndex(([m]) => m === n)];
          return keep(full([this.innerSteps], innerLr, { dtype: p.dtype, device: p.device }).requiresGrad_());
        })
      : [];
  }

  /** The current epoch: `floor(iteration / iterationsPerEpoch)`. */
  get epoch(): number {
    return Math.floor(this.iteration / this.iterationsPerEpoch);
  }

  /** The tensors to meta-learn: the module's parameters, then the LSLR rates. */
  metaParameters(): Tensor[] {
    return [...this.module.parameters(), ...this.innerLrs];
  }

  /** The adapted parameters' initial values (the module's own tensors, in `innerNames` order). */
  initialParameters(): Tensor[] {
    return this.allParams.filter((_, i) => this.innerPos[i] >= 0);
  }

  /** Whether meta-gradients at `epoch` are second order (DA). */
  isSecondOrder(epoch = this.epoch): boolean {
    return this.secondOrder && epoch >= this.firstOrderEpochs;
  }

  /** The MSL weights at `epoch`, or null once the multi-step loss is over (or switched off). */
  lossWeights(epoch = this.epoch): number[] | null {
    if (!this.multiStepLoss || epoch >= this.multiStepLossEpochs) return null;
    return perStepLossWeights(this.innerSteps, epoch, this.multiStepLossEpochs);
  }

  /** CA: the meta learning rate at `epoch` for base rate `baseLr` (the base itself without CA). */
  metaLrAt(epoch: number, baseLr: number): number {
    if (this.cosineAnnealing === null) return baseLr;
    return cosineAnnealingLrAt(epoch, baseLr, { tMax: this.cosineAnnealing.epochs, etaMin: this.cosineAnnealing.etaMin });
  }

  /** The inner learning rate of adapted parameter `i` at step `s` (a [1] tensor with LSLR, else a number). */
  private rate(i: number, s: number): Tensor | number {
    if (!this.learnInnerLr) return this.innerLr;
    const k = Math.min(s, this.innerSteps - 1);
    return this.innerLrs[i].slice(0, k, k + 1);
  }

  /** Every module parameter, with the adapted ones (and optionally the others) substituted. */
  private compose(inner: readonly Tensor[], outer?: readonly Tensor[]): Tensor[] {
    let j = 0;
    return this.allParams.map((p, i) => {
      const k = this.innerPos[i];
      if (k >= 0) return inner[k];
      return outer ? outer[j++] : p;
    });
  }

  /**
   * The model's output on `x` with adapted parameters `params` (in `innerNames` order) at inner
   * step `step` (Note [Step-aware forward]).
   */
  predict(params: readonly Tensor[], x: Tensor, opts: StepForwardOptions = {}): Tensor {
    if (params.length !== this.innerNames.length) throw new Error(`MAMLpp.predict: got ${params.length} tensors for the ${this.innerNames.length} adapted parameters (${this.innerNames.join(', ')})`);
    return functionalCall(this.module, this.compose(params), x, opts);
  }

  /** One differentiable inner step at step index `s`. */
  private innerStep(ps: readonly Tensor[], support: Batch, s: number, second: boolean): Tensor[] {
    if (this.useCheckpoint) return this.innerStepCheckpointed(ps, support, s, second);
    if (!second) {
      // First order: the inner gradient is a constant, so it is taken on detached copies in its
      // own scope, which frees the support forward's activations now instead of at the end of
      // the meta-iteration (memory flat in the number of steps, bench/memory.mjs).
      const gs = constantGrad((xs) => this.lossFn(this.predict(xs, support.x, { step: s }), support.y), ps);
      return ps.map((p, i) => {
        const g = gs[i];
        return g === null ? p : p.sub(g.mul(this.rate(i, s)));
      });
    }
    const loss = this.lossFn(this.predict(ps, support.x, { step: s }), support.y);
    // retainGraph: see MAML.adapt (the enclosing tidy frees the graph).
    const gs = grad(loss, ps, { createGraph: second, retainGraph: true, allowUnused: true });
    return ps.map((p, i) => {
      const g = gs[i];
      return g === null ? p : p.sub(g.mul(this.rate(i, s)));
    });
  }

  /**
   * The inner step under `checkpoint`: one flat output (so the backward pass recomputes the step
   * once, not once per parameter), with the non-adapted parameters and the LSLR rates as explicit
   * arguments (a checkpointed function's closed-over tensors get no gradient). Running
   * statistics are updated by the first run only, not by the recomputation.
   */
  private innerStepCheckpointed(ps: readonly Tensor[], support: Batch, s: number, second: boolean): Tensor[] {
    const outer = this.allParams.filter((_, i) => this.innerPos[i] < 0);
    const n = ps.length;
    const m = outer.length;
    const fn = (...args: Tensor[]): Tensor => {
      // The first run is under noGrad (Note [Checkpoint]); the recomputation has grad mode on.
      const recompute = isGradEnabled();
      return enableGrad(() => {
        const xs = args.slice(0, n).map((a) => (a.requiresGrad ? a : a.requiresGrad_()));
        const full = this.compose(xs, args.slice(n, n + m));
        const loss = this.lossFn(functionalCall(this.module, full, support.x, { step: s, updateStats: !recompute }), support.y);
        const gs = grad(loss, xs, { createGraph: recompute && second, retainGraph: recompute, allowUnused: true });
        const k = Math.min(s, this.innerSteps - 1);
        return cat(
          xs.map((x, i) => {
            const g = gs[i];
            const lr = this.learnInnerLr ? args[n + m + i].slice(0, k, k + 1) : this.innerLr;
            return (g === null ? x : x.sub(g.mul(lr))).reshape([-1]);
          }),
        );
      });
    };
    const flat = checkpoint(fn, ...ps, ...outer, ...this.innerLrs);
    let o = 0;
    return ps.map((p) => {
      const t = flat.slice(0, o, o + p.size).reshape(p.shape);
      o += p.size;
      return t;
    });
  }

  /**
   * Adapts the parameters to `support`. In `'eval'` mode (the default) the loop records nothing
   * beyond one inner gradient at a time and returns detached tensors; in the training modes the
   * result is differentiable with respect to the module's parameters and the LSLR rates (first
   * order: through the update's identity path and the rates only). Returns the adapted
   * parameters in `innerNames` order.
   */
  adapt(support: Batch, opts: MAMLppAdaptOptions = {}): Tensor[] {
    const { steps = this.innerSteps, mode = 'eval', runningStats = false, startStep = 0 } = opts;
    checkInt('MAMLpp.adapt', 'steps', steps, 0);
    checkInt('MAMLpp.adapt', 'startStep', startStep, 0);
    if (mode !== 'eval' && mode !== 'first-order' && mode !== 'second-order') throw new Error(`MAMLpp.adapt: mode must be 'eval', 'first-order' or 'second-order', got ${String(mode)}`);
    const start = opts.params ?? this.initialParameters();
    if (start.length !== this.innerNames.length) throw new Error(`MAMLpp.adapt: got ${start.length} tensors in params for the ${this.innerNames.length} adapted parameters (${this.innerNames.join(', ')})`);
    if (mode !== 'eval') {
      let ps = [...start];
      for (let s = startStep; s < startStep + steps; s++) ps = this.innerStep(ps, support, s, mode === 'second-order');
      return ps;
    }
    let ps = start.map((p) => p.detach().requiresGrad_());
    for (let s = startStep; s < startStep + steps; s++) {
      const prev = ps;
      ps = tidy(() => {
        const loss = this.lossFn(this.predict(prev, support.x, { step: s, training: !runningStats, updateStats: false }), support.y);
        const gs = grad(loss, prev, { allowUnused: true });
        return noGrad(() => prev.map((p, i) => (gs[i] === null ? p.clone() : p.sub(gs[i]!.mul(this.rate(i, s))))));
      }).map((p) => p.requiresGrad_());
      for (const p of prev) p.dispose();
    }
    return ps.map((p) => p.detach());
  }

  /** The meta-loss of one task at the current epoch's settings (MSL, DA). */
  private taskLoss(task: Task, weights: number[] | null, second: boolean): Tensor {
    const K = this.innerSteps;
    const q = task.query;
    let ps = this.initialParameters();
    let total: Tensor | null = null;
    for (let s = 0; s < K; s++) {
      ps = this.innerStep(ps, task.support, s, second);
      if (weights !== null || s === K - 1) {
        const l = this.lossFn(this.predict(ps, q.x, { step: s }), q.y);
        const term = weights === null ? l : l.mul(weights[s]);
        total = total === null ? term : total.add(term);
      }
    }
    return total!;
  }

  /**
   * The sum over `tasks` of {@link MAMLpp.taskLoss}, every task at once (Note [Task-batched
   * conv4]): the parameters get a leading task dimension (expanded from the shared ones, so
   * their gradients sum back), and the gradient of the sum of the tasks' support losses with
   * respect to the [T, ...] adapted tensors is each task's own inner gradient.
   */
  private tasksLoss(tasks: readonly Task[], weights: number[] | null, second: boolean): Tensor {
    const net = this.module as Conv4;
    const T = tasks.length;
    const batch = (which: 'support' | 'query'): { x: Tensor; y: Tensor } => {
      const first = tasks[0]?.[which];
      tasks.forEach((t, i) => {
        const b = t?.[which];
        if (!(b?.x instanceof Tensor) || !(b.y instanceof Tensor)) throw new Error(`MAMLpp.metaLoss: task ${i} must have support and query batches { x, y }`);
        if (fmt(b.x.shape) !== fmt(first.x.shape) || fmt(b.y.shape) !== fmt(first.y.shape)) {
          throw new Error(`MAMLpp.metaLoss (taskBatched): task ${i}'s ${which} set is x ${fmt(b.x.shape)}, y ${fmt(b.y.shape)}; task 0's is x ${fmt(first.x.shape)}, y ${fmt(first.y.shape)} (the tasks of a meta-batch must have the same shapes)`);
        }
      });
      return { x: stack(tasks.map((t) => t[which].x)), y: stack(tasks.map((t) => t[which].y)).reshape([-1]) };
    };
    const support = batch('support');
    const query = batch('query');
    const perTask = (p: Tensor) => p.unsqueeze(0).expand([T, ...p.shape]);
    const outer = this.allParams.filter((_, i) => this.innerPos[i] < 0).map(perTask);
    // The sum over tasks of each task's mean loss (T times the mean over all examples).
    const lossOf = (ps: readonly Tensor[], b: { x: Tensor; y: Tensor }, s: number): Tensor => {
      const logits = net.forwardTasks(this.compose(ps, outer), b.x, { step: s });
      return this.lossFn(logits.reshape([-1, logits.shape[2]]), b.y).mul(T);
    };
    let ps = this.initialParameters().map(perTask);
    const K = this.innerSteps;
    let total: Tensor | null = null;
    for (let s = 0; s < K; s++) {
      let gs: (Tensor | null)[];
      if (second) {
        // retainGraph: see MAML.adapt (the enclosing tidy frees the graph).
        gs = grad(lossOf(ps, support, s), ps, { createGraph: true, retainGraph: true, allowUnused: true });
      } else {
        // First order: constants, taken on detached copies in their own scope (see innerStep).
        gs = constantGrad((xs) => lossOf(xs, support, s), ps);
      }
      ps = ps.map((p, i) => {
        const g = gs[i];
        return g === null ? p : p.sub(g.mul(this.rate(i, s)));
      });
      if (weights !== null || s === K - 1) {
        const l = lossOf(ps, query, s);
        const term = weights === null ? l : l.mul(weights[s]);
        total = total === null ? term : total.add(term);
      }
    }
    return total!;
  }

  /**
   * The meta-loss at the current epoch (or `epoch`): the mean over `tasks` of the (MSL-weighted)
   * query losses, differentiable with respect to {@link MAMLpp.metaParameters}. Call inside
   * `mg.tidy` (as {@link MAMLpp.step} does) to free the graph.
   */
  metaLoss(tasks: readonly Task[], opts: { epoch?: number } = {}): Tensor {
    if (!Array.isArray(tasks) || tasks.length === 0) throw new Error('MAMLpp.metaLoss: expected at least one task');
    const epoch = opts.epoch ?? this.epoch;
    const weights = this.lossWeights(epoch);
    const second = this.isSecondOrder(epoch);
    if (this.taskBatched) return this.tasksLoss(tasks, weights, second).div(tasks.length);
    let total: Tensor | null = null;
    tasks.forEach((task, t) => {
      const sx = task?.support?.x;
      if (!(sx instanceof Tensor) || !(task.query?.x instanceof Tensor)) throw new Error(`MAMLpp.metaLoss: task ${t} must have support and query batches { x, y }`);
      const l = this.taskLoss(task, weights, second);
      total = total === null ? l : total.add(l);
    });
    return total!.div(tasks.length);
  }

  /**
   * One meta-iteration: sets the optimizer's learning rates for this epoch (CA), `zeroGrad`,
   * `metaLoss(tasks).backward()`, `optimizer.step()`, then advances `iteration`. Frees everything
   * but the `.grad`s. Returns the meta-loss.
   */
  step(tasks: readonly Task[], optimizer: MAMLppOptimizer): number {
    if (this.cosineAnnealing !== null) {
      if (!Array.isArray(optimizer.paramGroups)) throw new Error('MAMLpp.step: cosine annealing needs an optimizer with paramGroups (any mg.optim optimizer)');
      for (const g of optimizer.paramGroups) {
        if (g.initialLr === undefined) g.initialLr = g.lr;
        g.lr = this.metaLrAt(this.epoch, g.initialLr);
      }
    }
    optimizer.zeroGrad();
    const value = tidy(() => {
      const l = this.metaLoss(tasks);
      l.backward();
      return l.item();
    });
    optimizer.step();
    this.iteration++;
    return value;
  }

  /**
   * Mean query loss and accuracy (int32 labels; null otherwise) after adapting on each task's
   * support set with `steps` graph-free inner steps (default `innerSteps`); the query forward
   * uses the batch-norm step of the last update (Note [MAML++ batch norm]). Frees everything and
   * leaves the running statistics unchanged.
   */
  evaluateMetrics(tasks: readonly Task[], opts: MAMLppEvalOptions = {}): { loss: number; accuracy: number | null } {
    const { steps = this.innerSteps, runningStats = false } = opts;
    checkInt('MAMLpp.evaluate', 'steps', steps, 0);
    if (!Array.isArray(tasks) || tasks.length === 0) throw new Error('MAMLpp.evaluate: expected at least one task');
    let loss = 0;
    let acc = 0;
    let classification = true;
    for (const task of tasks) {
      tidy(() => {
        const ps = this.adapt(task.support, { steps, mode: 'eval', runningStats });
        noGrad(() => {
          const out = this.predict(ps, task.query.x, { step: Math.max(steps - 1, 0), training: !runningStats, updateStats: false });
          loss += this.lossFn(out, task.query.y).item();
          if (task.query.y.dtype === 'int32' && out.ndim === 2) acc += accuracy(out, task.query.y);
          else classification = false;
        });
      });
    }
    return { loss: loss / tasks.length, accuracy: classification ? acc / tasks.length : null };
  }

  /** Mean query loss after `steps` graph-free inner steps (see {@link MAMLpp.evaluateMetrics}). */
  evaluate(tasks: readonly Task[], opts: MAMLppEvalOptions = {}): number {
    return this.evaluateMetrics(tasks, opts).loss;
  }

  /**
   * Everything to save: the module's state dictionary plus the LSLR rates as
   * `innerLr.<parameter name>` ([innerSteps] each). The tensors are the live ones (not copies).
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = { ...this.module.stateDict() };
    this.innerLrs.forEach((t, i) => (out[`innerLr.${this.innerNames[i]}`] = t));
    return out;
  }

  /** Loads a {@link MAMLpp.stateDict} (in place; strict: the keys and shapes must match). */
  loadStateDict(dict: Record<string, Tensor>): void {
    const own = this.stateDict();
    const missing = Object.keys(own).filter((k) => !(k in dict));
    const extra = Object.keys(dict).filter((k) => !(k in own));
    if (missing.length || extra.length) throw new Error(`MAMLpp.loadStateDict: ${missing.length ? `missing keys: ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `unexpected keys: ${extra.join(', ')}` : ''}`);
    const moduleDict: Record<string, Tensor> = {};
    for (const [k, v] of Object.entries(dict)) {
      if (!k.startsWith('innerLr.')) {
        moduleDict[k] = v;
        continue;
      }
      const i = this.innerNames.indexOf(k.slice('innerLr.'.length));
      if (v.size !== this.innerLrs[i].size) throw new Error(`MAMLpp.loadStateDict: '${k}' has shape ${fmt(v.shape)}, expected ${fmt(this.innerLrs[i].shape)}`);
    }
    this.module.loadStateDict(moduleDict);
    noGrad(() => tidy(() => this.innerLrs.forEach((t, i) => t.copy_(dict[`innerLr.${this.innerNames[i]}`].reshape(t.shape)))));
  }
}
