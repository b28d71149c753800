/**
 * The simple learned update rule the LSTM optimizer is compared with: SGD with momentum whose step
 * size and momentum are meta-parameters, one of each per coordinate of the optimizee (the
 * "optimizer with learnable hyper-parameters" family; Meta-SGD's per-parameter rates plus a
 * per-parameter momentum), meta-trained by the same truncated unrolls as the LSTM.
 */
import { full, zerosLike } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import { keep, type Tensor } from '../../tensor/tensor.js';
import { loadWeights } from './lstm_optimizer.js';
import { checkStep, type RuleStep, type UpdateRule } from './update_rule.js';

/** Options of {@link LearnedHparamsOptimizer}. */
export interface LearnedHparamsOptions {
  /** Initial step size of every coordinate. Default 0.01. */
  lr?: number;
  /** Initial momentum of every coordinate, in [0, 1). Default 0.9. */
  momentum?: number;
  /** Dtype of the meta-parameters. Default float32. */
  dtype?: DType;
}

/**
 * Heavy-ball momentum with learned per-coordinate hyper-parameters: `v = mu ⊙ v + g`,
 * `theta - lr ⊙ v`, with `lr = exp(logLr)` and `mu = sigmoid(momentumLogit)` (so both stay in
 * range while meta-training). `shapes` are the optimizee's parameter shapes WITHOUT the leading
 * instance dimension: the same hyper-parameters serve every instance of a family (they broadcast
 * over the instances). With fixed values it is exactly `torch.optim.SGD(lr, momentum)`.
 *
 * Meta-parameters: `logLr.<i>` then `momentumLogit.<i>`, each shaped like parameter i.
 */
export class LearnedHparamsOptimizer implements UpdateRule {
  readonly name = 'hparams';
  readonly shapes: number[][];
  /** `[...logLr, ...momentumLogit]`: leaves requiring grad, kept alive past tidy scopes. */
  readonly weights: Tensor[];
  /** Names of the weights, for checkpoints. */
  readonly weightNames: string[];

  constructor(shapes: readonly (readonly number[])[], opts: LearnedHparamsOptions = {}) {
    const { lr = 0.01, momentum = 0.9, dtype = 'float32' } = opts;
    if (!Array.isArray(shapes) || shapes.length === 0) throw new Error('LearnedHparamsOptimizer: expected a non-empty list of parameter shapes');
    if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`LearnedHparamsOptimizer: lr must be a positive number, got ${lr}`);
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`LearnedHparamsOptimizer: momentum must be in [0, 1), got ${momentum}`);
    this.shapes = shapes.map((s) => [...s]);
    // momentum 0 has logit -inf; use a very negative finite logit instead.
    const logit = momentum === 0 ? -30 : Math.log(momentum / (1 - momentum));
    const logLr = this.shapes.map((s) => full(s, Math.log(lr), { dtype }));
    const mom = this.shapes.map((s) => full(s, logit, { dtype }));
    this.weights = [...logLr, ...mom].map((w) => keep(w.requiresGrad_()));
    this.weightNames = [...this.shapes.map((_, i) => `logLr.${i}`), ...this.shapes.map((_, i) => `momentumLogit.${i}`)];
  }

  parameters(): Tensor[] {
    return [...this.weights];
  }

  /** Zero velocities, one per parameter. */
  initState(params: readonly Tensor[]): Tensor[] {
    return params.map((p) => zerosLike(p));
  }

  /** One momentum step with the coordinates' learned step sizes and momenta (from `weights`, default the optimizer's own). */
  step(params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[], _t = 0, weights: readonly Tensor[] = this.weights): RuleStep {
    checkStep('LearnedHparamsOptimizer', params, grads, state, params.length);
    const n = this.shapes.length;
    if (params.length !== n) throw new Error(`LearnedHparamsOptimizer.step: got ${params.length} parameters for ${n} shapes`);
    if (weights.length !== 2 * n) throw new Error(`LearnedHparamsOptimizer.step: expected ${2 * n} weights, got ${weights.length}`);
    params.forEach((p, i) => {
      const s = this.shapes[i];
      const tail = p.shape.slice(p.ndim - s.length);
      if (p.ndim < s.length || tail.some((d, k) => d !== s[k])) {
        throw new Error(`LearnedHparamsOptimizer.step: parameter ${i} has shape [${p.shape.join(', ')}], which does not end in [${s.join(', ')}]`);
      }
    });
    const v = state.map((b, i) => weights[n + i].sigmoid().mul(b).add(grads[i]));
    return { params: params.map((p, i) => p.sub(weights[i].exp().mul(v[i]))), state: v };
  }

  /** The weights by name (the tensors themselves), for `mg.io.save`. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.weightNames.map((n, i) => [n, this.weights[i]]));
  }

  /** Copies weights from `dict` in place (every name, same shapes). */
  loadStateDict(dict: ReadonlyMap<string, Tensor> | Record<string, Tensor>): void {
    loadWeights('LearnedHparamsOptimizer', this.weightNames, this.weights, dict);
  }

  /** The current step sizes and momenta as plain numbers (per parameter), for reports. */
  values(): { lr: Float64Array[]; momentum: Float64Array[] } {
    const n = this.shapes.length;
    const read = (t: Tensor, f: (x: number) => number) => Float64Array.from(t.data(), f);
    return {
      lr: this.weights.slice(0, n).map((t) => read(t, Math.exp)),
      momentum: this.weights.slice(n).map((t) => read(t, (x) => 1 / (1 + Math.exp(-x)))),
    };
  }

  /** Frees the weights. */
  dispose(): void {
    for (const w of this.weights) {
      w._kept = false;
      w.dispose();
    }
  }
}
