/**
 * The "conv4" few-shot classifier of MAML (Finn et al. 2017) and MAML++ (Antoniou et al. 2019):
 * blocks of [3x3 conv (padding 1), batch norm, ReLU, 2x2 max-pool (or a stride-2 conv instead of
 * the pool)], a flatten and a linear head, with batch norm that can keep per-inner-step weights,
 * biases and running statistics (MAML++'s BNWB and BNRS).
 *
 * Note [Step-aware forward]: `forward(x, { step, training, updateStats })`. `step` is the index of
 * the inner-loop step being computed; per-step batch-norm layers use row `min(step, steps - 1)` of
 * their [steps, C] weight, bias and running statistics (a shared layer ignores it). With
 * `training` (the default while the module is in training mode) batch norm normalises with the
 * batch's statistics, as MAML and MAML++ do in the inner and the outer loop, and with
 * `updateStats` (default: `training`) it also folds the batch statistics into the running ones of
 * that step only. With `training: false` it normalises with that step's running statistics.
 * Modules that take no options (e.g. a `Sequential` MLP) can be used wherever a step-aware
 * module is expected: the extra argument is ignored.
 *
 * Note [Task-batched conv4]: MAML's inner loop runs the same network on T tasks with T sets of
 * parameters. `Conv4.forwardTasks` lays the tasks side by side in the channel dimension
 * ([n, T*C, H, W]) and runs each conv as one grouped convolution (groups = T, weights [T*C, ...]),
 * batch norm per (task, channel), and the head as one batched matmul: about 20 ops per forward
 * whatever T is, instead of 20 per task, and larger kernels. With parameters expanded from the
 * shared ones, the gradient of the sum of the tasks' losses with respect to the [T, ...] tensors is
 * each task's own gradient in its slice, so the inner loop of every task runs at once
 * (`mg.meta.MAMLpp` with `taskBatched: true`).
 */
import { noGrad } from '../../autograd/engine.js';
import { batchNormTrain } from '../../ops/batchnorm.js';
import { where } from '../../ops/elementwise.js';
import { copy_ } from '../../ops/inplace.js';
import { matmulT } from '../../ops/matmul.js';
import { arange, ones, zeros } from '../../tensor/creation.js';
import { tidy } from '../../tensor/memory.js';
import { fmt } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import * as F from '../functional.js';
import { functionalCall, type ParameterOverrides } from '../functional_call.js';
import { xavierUniform, zeros as zeroInit } from '../init.js';
import { Conv2d, Linear, type ParameterOptions } from '../layers.js';
import { Module } from '../module.js';

/** Options of a step-aware forward pass (Note [Step-aware forward]). */
export interface StepForwardOptions {
  /** Inner-loop step index selecting per-step batch-norm weights and statistics. Default 0. */
  step?: number;
  /** Normalise with batch statistics (default: the module's training mode). */
  training?: boolean;
  /** Fold the batch statistics into the running statistics of `step` (default: `training`). */
  updateStats?: boolean;
}

function checkStep(op: string, step: unknown): number {
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0) throw new Error(`${op}: step must be a non-negative integer, got ${String(step)}`);
  return step;
}

/** Options of {@link MetaBatchNorm2d}. */
export interface MetaBatchNormOptions extends ParameterOptions {
  /** Number of inner steps with their own weights/statistics (default 1: one shared set). */
  steps?: number;
  /** BNWB: a weight and a bias per step ([steps, C]); default false ([C], shared). */
  perStepWeights?: boolean;
  /** BNRS: running statistics per step ([steps, C]); default false ([C], shared). */
  perStepStats?: boolean;
  /** Running-statistics update rate (default 0.1). */
  momentum?: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
}

/**
 * Batch norm of `x` [N, C, H, W] with its batch statistics, `weight` and `bias` [C]; `stats()`
 * gives the (detached) batch mean and biased variance for the running statistics.
 * Note [Batch-norm formulation]: on the CPU one fused primitive (ops/batchnorm.ts) whose rules are
 * fused too, at every level of differentiation (MAML's second order). Elsewhere
 * y = (x - mean) * (weight / sqrt(var + eps)) + bias with the scale folded into one [1, C, 1, 1]
 * tensor: four full-size ops where F.batchNorm's composite form has six.
 */
function normalizeBatch(x: Tensor, weight: Tensor, bias: Tensor, eps: number): { y: Tensor; stats: () => { mean: Tensor; variance: Tensor } } {
  if (x.size / x.shape[1] <= 1) throw new Error(`MetaBatchNorm2d: training needs more than one value per channel, got input ${fmt(x.shape)}`);
  const moments = (v: Tensor) => {
    const mean = v.mean([0, 2, 3], true);
    return { mean, variance: v.sub(mean).square().mean([0, 2, 3], true) };
  };
  if (x.device === 'cpu') {
    return { y: batchNormTrain(x, weight, bias, eps), stats: () => noGrad(() => moments(x.detach())) };
  }
  const C = x.shape[1];
  const { mean, variance } = moments(x);
  const scale = weight.reshape([1, C, 1, 1]).div(variance.add(eps).sqrt());
  return { y: x.sub(mean).mul(scale).add(bias.reshape([1, C, 1, 1])), stats: () => ({ mean, variance }) };
}

/**
 * Batch normalisation of [N, C, H, W] inputs whose weight, bias and running statistics can be
 * kept per inner-loop step (MAML++'s BNWB and BNRS): with `perStepWeights` the learnable weight
 * and bias are [steps, C] and step s uses row s; with `perStepStats` the running mean and
 * (unbiased) variance are [steps, C] buffers, step s updates and (in eval mode) uses row s only.
 * Steps past the last row use the last row. See Note [Step-aware forward] for the options.
 */
export class MetaBatchNorm2d extends Module<[Tensor, StepForwardOptions?], Tensor> {
  /** Scale: [C], or [steps, C] with `perStepWeights`. Initialised to 1. */
  declare readonly weight: Tensor;
  /** Shift: [C], or [steps, C] with `perStepWeights`. Initialised to 0. */
  declare readonly bias: Tensor;
  /** Running mean: [C], or [steps, C] with `perStepStats`. */
  declare readonly runningMean: Tensor;
  /** Running unbiased variance: [C], or [steps, C] with `perStepStats`. */
  declare readonly runningVar: Tensor;
  readonly steps: number;
  readonly perStepWeights: boolean;
  readonly perStepStats: boolean;
  readonly momentum: number;
  readonly eps: number;

  constructor(readonly numFeatures: number, opts: MetaBatchNormOptions = {}) {
    super();
    const { steps = 1, perStepWeights = false, perStepStats = false, momentum = 0.1, eps = 1e-5 } = opts;
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`MetaBatchNorm2d: numFeatures must be a positive integer, got ${String(numFeatures)}`);
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`MetaBatchNorm2d: steps must be a positive integer, got ${String(steps)}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`MetaBatchNorm2d: momentum must be in [0, 1], got ${momentum}`);
    if (!(eps >= 0)) throw new Error(`MetaBatchNorm2d: eps must be non-negative, got ${eps}`);
    this.steps = steps;
    this.perStepWeights = perStepWeights;
    this.perStepStats = perStepStats;
    this.momentum = momentum;
    this.eps = eps;
    const o = { dtype: opts.dtype ?? 'float32', device: opts.device ?? 'cpu' } as const;
    const wShape = perStepWeights ? [steps, numFeatures] : [numFeatures];
    const sShape = perStepStats ? [steps, numFeatures] : [numFeatures];
    this.registerParameter('weight', ones(wShape, o));
    this.registerParameter('bias', zeros(wShape, o));
    this.registerBuffer('runningMean', zeros(sShape, o));
    this.registerBuffer('runningVar', ones(sShape, o));
  }

  /** Row `step` (clamped to the last) of a per-step tensor, or the tensor itself if shared. */
  private row(t: Tensor, perStep: boolean, step: number): Tensor {
    if (!perStep) return t;
    const s = Math.min(step, this.steps - 1);
    return t.slice(0, s, s + 1).reshape([this.numFeatures]);
  }

  override forward(x: Tensor, opts: StepForwardOptions = {}): Tensor {
    const step = checkStep('MetaBatchNorm2d', opts.step ?? 0);
    const training = opts.training ?? this.training;
    const updateStats = opts.updateStats ?? training;
    if (x.ndim !== 4 || x.shape[1] !== this.numFeatures) throw new Error(`MetaBatchNorm2d: expected an input [N, ${this.numFeatures}, H, W], got ${fmt(x.shape)}`);
    const weight = this.row(this.weight, this.perStepWeights, step);
    const bias = this.row(this.bias, this.perStepWeights, step);
    const bn = { weight, bias, momentum: this.momentum, eps: this.eps };
    if (!training) {
      const rm = this.row(this.runningMean, this.perStepStats, step);
      const rv = this.row(this.runningVar, this.perStepStats, step);
      return F.batchNorm(x, rm, rv, { ...bn, training: false });
    }
    const C = this.numFeatures;
    const { y, stats } = normalizeBatch(x, weight, bias, this.eps);
    const count = x.size / C;
    if (updateStats) {
      const { mean, variance } = stats();
      this.foldStatistics(step, mean, variance, count);
    }
    return y;
  }

  /**
   * Batch norm of T tasks side by side in the channels (`x` [N, T*C, H, W], weight and bias
   * [T, C] or, per step, [T, steps, C]) with each task's batch statistics, for
   * {@link Conv4.forwardTasks}; the running statistics are left alone.
   */
  normalizeTasks(x: Tensor, weight: Tensor, bias: Tensor, step: number): Tensor {
    const TC = this.numFeatures * weight.shape[0];
    // [T, C] or, per step, the step's column of [T, steps, C]; as [T*C].
    const pick = (t: Tensor): Tensor => {
      const s = Math.min(step, this.steps - 1);
      return (this.perStepWeights ? t.slice(1, s, s + 1) : t).reshape([TC]);
    };
    return normalizeBatch(x, pick(weight), pick(bias), this.eps).y;
  }

  /**
   * Folds batch statistics into the running ones of `step` (row `step` with `perStepStats`, the
   * shared ones otherwise), as PyTorch does: running = (1 - momentum) * running + momentum * batch,
   * the variance unbiased. Not recorded.
   */
  private foldStatistics(step: number, mean: Tensor, variance: Tensor, count: number): void {
    const m = this.momentum;
    const C = this.numFeatures;
    noGrad(() =>
      tidy(() => {
        const bm = mean.detach().reshape([C]);
        const bv = variance.detach().reshape([C]).mul(count / (count - 1));
        if (!this.perStepStats) {
          copy_(this.runningMean, this.runningMean.mul(1 - m).add(bm.mul(m)));
          copy_(this.runningVar, this.runningVar.mul(1 - m).add(bv.mul(m)));
          return;
        }
        const s = Math.min(step, this.steps - 1);
        const row = arange(0, this.steps, 1, { dtype: 'int32' }).eq(s).unsqueeze(1); // [steps, 1] mask of row s
        copy_(this.runningMean, where(row, this.runningMean.mul(1 - m).add(bm.mul(m)), this.runningMean));
        copy_(this.runningVar, where(row, this.runningVar.mul(1 - m).add(bv.mul(m)), this.runningVar));
      }),
    );
  }

  override extraRepr(): string {
    return `${this.numFeatures}, steps=${this.steps}, perStepWeights=${this.perStepWeights}, perStepStats=${this.perStepStats}, eps=${this.eps}, momentum=${this.momentum}`;
  }
}

/** Options of {@link Conv4}. */
export interface Conv4Options extends ParameterOptions {
  /** Number of classes (the head's outputs). Required. */
  ways: number;
  /** Input channels (default 1: Omniglot). */
  inChannels?: number;
  /** Input height and width (default 28), a number or `[h, w]`. */
  imageSize?: number | [number, number];
  /** Filters per conv layer (default 64). */
  filters?: number;
  /** Number of conv blocks (default 4). */
  blocks?: number;
  /**
   * How each block halves the resolution: `'maxpool'` (3x3 conv stride 1, then 2x2 max-pool;
   * MAML++'s and MAML's miniImageNet net, the default) or `'stride'` (3x3 conv with stride 2 and
   * no pool; MAML's Omniglot net).
   */
  downsample?: 'maxpool' | 'stride';
  /** Inner steps with their own batch-norm weights/statistics (default 1). */
  bnSteps?: number;
  /** MAML++ BNWB: per-step batch-norm weights and biases. Default false. */
  perStepBnWeights?: boolean;
  /** MAML++ BNRS: per-step batch-norm running statistics. Default false. */
  perStepBnStats?: boolean;
  /** Batch-norm momentum (default 0.1) and eps (default 1e-5). */
  bnMomentum?: number;
  bnEps?: number;
}

/**
 * The conv4 classifier: `blocks` x [conv 3x3 (padding 1) -> {@link MetaBatchNorm2d} -> ReLU ->
 * 2x2 max-pool] (or a stride-2 conv in place of the pool), flatten, `Linear` to `ways` logits.
 * (The ReLU is applied after the pool, which computes the same function for less.)
 * Children are `conv0, bn0, conv1, bn1, ..., head`, so `parameters()` is `conv0.weight,
 * conv0.bias, bn0.weight, bn0.bias, ..., head.weight, head.bias`. Weights are Xavier-uniform and
 * biases zero, as in MAML++'s code.
 *
 * It is step-aware (Note [Step-aware forward]) and usable functionally: `net.functional(params, x,
 * { step })` runs it with substitute parameters (task-adapted ones, to any order of
 * differentiation), exactly `functionalCall(net, params, x, opts)`.
 *
 * ```ts
 * const net = new mg.nn.Conv4({ ways: 5, filters: 64 });            // 28x28 Omniglot, 5-way
 * const logits = net.call(x);                                        // [N, 5], batch statistics
 * const adapted = net.parameters().map((p, i) => p.sub(grads[i].mul(0.4)));
 * const q = net.functional(adapted, xq, { step: 1 });                // second order through `adapted`
 * ```
 */
export class Conv4 extends Module<[Tensor, StepForwardOptions?], Tensor> {
  /** The number of output classes. */
  readonly ways: number;
  /** The conv layers, in order. */
  readonly convs: Conv2d[] = [];
  /** The batch-norm layers, in order. */
  readonly norms: MetaBatchNorm2d[] = [];
  /** The linear head. */
  declare readonly head: Linear;
  /** The options it was built with (defaults filled in). */
  readonly config: Required<Omit<Conv4Options, 'dtype' | 'device' | 'imageSize'>> & { imageSize: [number, number] };
  /** Spatial size [h, w] of the last block's output. */
  readonly featureSize: [number, number];

  constructor(opts: Conv4Options) {
    super();
    if (opts === null || typeof opts !== 'object') throw new Error('Conv4: expected options { ways, ... }');
    const {
      ways, inChannels = 1, filters = 64, blocks = 4, downsample = 'maxpool',
      bnSteps = 1, perStepBnWeights = false, perStepBnStats = false, bnMomentum = 0.1, bnEps = 1e-5,
    } = opts;
    const size = opts.imageSize ?? 28;
    const imageSize: [number, number] = typeof size === 'number' ? [size, size] : [size[0], size[1]];
    for (const [n, v] of [['ways', ways], ['inChannels', inChannels], ['filters', filters], ['blocks', blocks], ['bnSteps', bnSteps], ['imageSize', imageSize[0]], ['imageSize', imageSize[1]]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Conv4: ${n} must be a positive integer, got ${String(v)}`);
    }
    if (downsample !== 'maxpool' && downsample !== 'stride') throw new Error(`Conv4: downsample must be 'maxpool' or 'stride', got ${String(downsample)}`);
    let [h, w] = imageSize;
    const o = { dtype: opts.dtype ?? 'float32', device: opts.device ?? 'cpu' } as const;
    for (let b = 0; b < blocks; b++) {
      // maxpool: conv keeps the size, the 2x2 pool floors it; stride 2, padding 1: ceil(size / 2).
      const [nh, nw] = downsample === 'maxpool' ? [Math.floor(h / 2), Math.floor(w / 2)] : [Math.ceil(h / 2), Math.ceil(w / 2)];
      if (nh < 1 || nw < 1) throw new Error(`Conv4: a ${imageSize[0]}x${imageSize[1]} image is too small for ${blocks} blocks (block ${b} gets ${h}x${w})`);
      const conv = this.registerModule(`conv${b}`, new Conv2d(b === 0 ? inChannels : filters, filters, 3, { padding: 1, stride: downsample === 'stride' ? 2 : 1, ...o }));
      xavierUniform(conv.weight);
      zeroInit(conv.bias!);
      this.convs.push(conv);
      this.norms.push(this.registerModule(`bn${b}`, new MetaBatchNorm2d(filters, { steps: bnSteps, perStepWeights: perStepBnWeights, perStepStats: perStepBnStats, momentum: bnMomentum, eps: bnEps, ...o })));
      [h, w] = [nh, nw];
    }
    this.featureSize = [h, w];
    const head = this.registerModule('head', new Linear(filters * h * w, ways, o));
    xavierUniform(head.weight);
    zeroInit(head.bias!);
    this.ways = ways;
    this.config = { ways, inChannels, filters, blocks, downsample, bnSteps, perStepBnWeights, perStepBnStats, bnMomentum, bnEps, imageSize };
  }

  override forward(x: Tensor, opts: StepForwardOptions = {}): Tensor {
    const { inChannels, imageSize } = this.config;
    if (x.ndim !== 4 || x.shape[1] !== inChannels || x.shape[2] !== imageSize[0] || x.shape[3] !== imageSize[1]) {
      throw new Error(`Conv4: expected an input [N, ${inChannels}, ${imageSize[0]}, ${imageSize[1]}], got ${fmt(x.shape)}`);
    }
    let y = x;
    for (let b = 0; b < this.convs.length; b++) {
      y = this.norms[b].call(this.convs[b].call(y), opts);
      // max-pool then ReLU: the same function as ReLU then max-pool (ReLU is monotone), with the
      // ReLU (and its derivatives at every order) on a quarter of the values.
      y = this.config.downsample === 'maxpool' ? F.maxPool2d(y, 2).relu() : y.relu();
    }
    return this.head.call(y.flatten(1));
  }

  /**
   * The forward pass with substitute parameters (an array in `parameters()` order, or named
   * overrides): `functionalCall(this, params, x, opts)`. Differentiable to any order with respect
   * to the given tensors.
   */
  functional(params: ParameterOverrides, x: Tensor, opts: StepForwardOptions = {}): Tensor {
    return functionalCall(this, params, x, opts);
  }

  /**
   * The forward pass of T tasks at once, each with its own parameters (Note [Task-batched
   * conv4]): `params` in `parameters()` order, each with a leading task dimension ([T, ...shape];
   * `expand` a shared tensor), `x` [T, n, inChannels, H, W]. Returns the logits [T, n, ways];
   * slice t equals `functional(params.map(p => p[t]), x[t], { step })` in training mode. Batch
   * norm uses each task's batch statistics and leaves the running statistics alone.
   * Differentiable to any order with respect to `params`.
   */
  forwardTasks(params: readonly Tensor[], x: Tensor, opts: { step?: number } = {}): Tensor {
    const step = checkStep('Conv4.forwardTasks', opts.step ?? 0);
    const { inChannels, imageSize, filters: C, blocks, downsample } = this.config;
    const want = this.parameters();
    if (x.ndim !== 5 || x.shape[2] !== inChannels || x.shape[3] !== imageSize[0] || x.shape[4] !== imageSize[1]) {
      throw new Error(`Conv4.forwardTasks: expected an input [T, n, ${inChannels}, ${imageSize[0]}, ${imageSize[1]}], got ${fmt(x.shape)}`);
    }
    const [T, n] = x.shape;
    if (params.length !== want.length) throw new Error(`Conv4.forwardTasks: expected ${want.length} parameters, got ${params.length}`);
    params.forEach((p, i) => {
      if (p.ndim !== want[i].ndim + 1 || p.shape[0] !== T || p.shape.slice(1).some((d, k) => d !== want[i].shape[k])) {
        throw new Error(`Conv4.forwardTasks: parameter ${i} must be [${T}, ${want[i].shape.join(', ')}] (task dimension first), got ${fmt(p.shape)}`);
      }
    });
    // Tasks side by side in the channels: [n, T*inC, H, W]; each conv is grouped by task.
    let y = x.permute([1, 0, 2, 3, 4]).reshape([n, T * inChannels, imageSize[0], imageSize[1]]);
    for (let b = 0; b < blocks; b++) {
      const [w, bias, g, beta] = params.slice(4 * b, 4 * b + 4);
      y = F.conv2d(y, w.reshape([T * C, ...w.shape.slice(2)]), bias.reshape([T * C]), { padding: 1, stride: downsample === 'stride' ? 2 : 1, groups: T });
      y = this.norms[b].normalizeTasks(y, g, beta, step);
      y = downsample === 'maxpool' ? F.maxPool2d(y, 2).relu() : y.relu();
    }
    const [fh, fw] = this.featureSize;
    const feats = y.reshape([n, T, C * fh * fw]).permute([1, 0, 2]); // [T, n, features]
    const [hw, hb] = params.slice(4 * blocks);
    return matmulT(feats, hw, false, true).add(hb.reshape([T, 1, this.ways]));
  }

  /** Names of the batch-norm parameters (`bn<i>.weight`, `bn<i>.bias`). */
  batchNormParameterNames(): string[] {
    return this.namedParameters().filter(([n]) => /^bn\d+\./.test(n)).map(([n]) => n);
  }

  override extraRepr(): string {
    const c = this.config;
    return `ways=${c.ways}, filters=${c.filters}, blocks=${c.blocks}, downsample=${c.downsample}, imageSize=${fmt(c.imageSize)}`;
  }
}
