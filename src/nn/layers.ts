/**
 * The layers: Linear, Conv2d, BatchNorm1d/2d, pooling, Flatten, activations and Sequential, with
 * PyTorch's default initialisations. Each `forward` reads its parameters as `this.weight` /
 * `this.bias` (accessors over the registry, Note [Registration] in module.ts), so `functionalCall`
 * can substitute them.
 */
import { noGrad } from '../autograd/engine.js';
import { copy_ } from '../ops/inplace.js';
import { pair } from '../ops/conv.js';
import { ones, zeros } from '../tensor/creation.js';
import type { Device } from '../tensor/dtype.js';
import { tidy } from '../tensor/memory.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';
import * as F from './functional.js';
import { calculateFanInAndFanOut, kaimingUniform, uniform } from './init.js';
import { Module } from './module.js';

/** Floating-point dtype and device of a layer's parameters. */
export interface ParameterOptions {
  /** Default 'float32'. */
  dtype?: 'float32' | 'float64';
  /** Default 'cpu'. */
  device?: Device;
}

function checkCount(layer: string, what: string, n: number, min = 1): void {
  if (!Number.isInteger(n) || n < min) throw new Error(`${layer}: ${what} must be an integer >= ${min}, got ${String(n)}`);
}

/** PyTorch's default Linear/Conv init: weight kaiming_uniform_(a = sqrt(5)), i.e. U(±1/sqrt(fanIn)); bias U(±1/sqrt(fanIn)). */
function resetLinearLike(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform(weight, { a: Math.sqrt(5) });
  if (bias) {
    const [fanIn] = calculateFanInAndFanOut(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform(bias, -bound, bound);
  }
}

/** Options of {@link Linear}. */
export interface LinearOptions extends ParameterOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * `y = x W^T + b` over the last axis: weight [out, in], bias [out]; input [..., in]. Initialised
 * as PyTorch's: W and b from U(-1/sqrt(in), 1/sqrt(in)) (the seeded generator).
 */
export class Linear extends Module<[Tensor], Tensor> {
  /** [outFeatures, inFeatures]. */
  declare readonly weight: Tensor;
  /** [outFeatures], or null with `bias: false`. */
  declare readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: LinearOptions = {}) {
    super();
    checkCount('Linear', 'inFeatures', inFeatures, 0);
    checkCount('Linear', 'outFeatures', outFeatures, 0);
    const o = { dtype: opts.dtype ?? 'float32', device: opts.device ?? 'cpu' } as const;
    const w = this.registerParameter('weight', zeros([outFeatures, inFeatures], o));
    const b = this.registerParameter('bias', opts.bias ?? true ? zeros([outFeatures], o) : null);
    this.resetParameters(w, b);
  }
  /** Re-draws the parameters with the default initialisation. */
  resetParameters(w = this.weight, b = this.bias): void {
    resetLinearLike(w, b);
  }
  /** @inheritDoc */
  override forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${this.bias !== null}`;
  }
}

/** Options of {@link Conv2d}. */
export interface Conv2dLayerOptions extends F.Conv2dOptions, ParameterOptions {
  /** Learn a per-output-channel bias (default true). */
  bias?: boolean;
}

/**
 * 2-D convolution (cross-correlation) of [N, C, H, W] inputs: weight [out, in/groups, kh, kw],
 * bias [out]. Initialised as PyTorch's: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) with
 * fanIn = in/groups * kh * kw.
 */
export class Conv2d extends Module<[Tensor], Tensor> {
  /** [outChannels, inChannels / groups, kh, kw]. */
  declare readonly weight: Tensor;
  /** [outChannels], or null with `bias: false`. */
  declare readonly bias: Tensor | null;
  /** [kh, kw]. */
  readonly kernelSize: [number, number];
  /** The convolution geometry passed to `conv2d`. */
  readonly options: Required<F.Conv2dOptions>;

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: number | [number, number], opts: Conv2dLayerOptions = {}) {
    super();
    checkCount('Conv2d', 'inChannels', inChannels);
    checkCount('Conv2d', 'outChannels', outChannels);
    this.kernelSize = pair('Conv2d', 'kernelSize', kernelSize, [1, 1], 1);
    const groups = opts.groups ?? 1;
    checkCount('Conv2d', 'groups', groups);
    if (inChannels % groups || outChannels % groups) throw new Error(`Conv2d: groups ${groups} must divide inChannels ${inChannels} and outChannels ${outChannels}`);
    this.options = {
      stride: pair('Conv2d', 'stride', opts.stride, [1, 1], 1),
      padding: pair('Conv2d', 'padding', opts.padding, [0, 0], 0),
      dilation: pair('Conv2d', 'dilation', opts.dilation, [1, 1], 1),
      groups,
    };
    const o = { dtype: opts.dtype ?? 'float32', device: opts.device ?? 'cpu' } as const;
    const w = this.registerParameter('weight', zeros([outChannels, inChannels / groups, ...this.kernelSize], o));
    const b = this.registerParameter('bias', opts.bias ?? true ? zeros([outChannels], o) : null);
    this.resetParameters(w, b);
  }
  /** Re-draws the parameters with the default initialisation. */
  resetParameters(w = this.weight, b = this.bias): void {
    resetLinearLike(w, b);
  }
  override forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
  override extraRepr(): string {
    const o = this.options;
    const parts = [`${this.inChannels}`, `${this.outChannels}`, `kernelSize=${fmt(this.kernelSize)}`, `stride=${fmt(o.stride as number[])}`];
    if ((o.padding as number[]).some((p) => p !== 0)) parts.push(`padding=${fmt(o.padding as number[])}`);
    if ((o.dilation as number[]).some((d) => d !== 1)) parts.push(`dilation=${fmt(o.dilation as number[])}`);
    if (o.groups !== 1) parts.push(`groups=${o.groups}`);
    if (this.bias === null) parts.push('bias=false');
    return parts.join(', ');
  }
}

/** Options of the batch norm layers. */
export interface BatchNormLayerOptions extends ParameterOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Running-statistics update rate (default 0.1); null: cumulative average over all batches seen. */
  momentum?: number | null;
  /** Learn a per-channel scale (weight, init 1) and shift (bias, init 0). Default true. */
  affine?: boolean;
  /** Keep running mean/variance buffers (default true). Without them batch statistics are used in eval mode too. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalisation over the channel axis 1 (shared by BatchNorm1d and BatchNorm2d). Training
 * mode normalises with the batch's mean and biased variance and updates the buffers
 * `runningMean`, `runningVar` (unbiased) and `numBatchesTracked`; eval mode normalises with the
 * running statistics.
 *
 * Meta-learning trap (higher#55): running statistics are averaged over the meta-training tasks
 * and never see the task-adapted parameters, so a meta-learner put in `eval()` mode for
 * adaptation or evaluation normalises with the wrong statistics and adapts badly. Keep it in
 * training mode (transductive batch norm, as the original MAML), or build the layer with
 * `trackRunningStats: false`, which always uses batch statistics.
 */
export abstract class BatchNormBase extends Module<[Tensor], Tensor> {
  /** [numFeatures] scale (gamma), or null without `affine`. */
  declare readonly weight: Tensor | null;
  /** [numFeatures] shift (beta), or null without `affine`. */
  declare readonly bias: Tensor | null;
  /** [numFeatures] running mean, or null without `trackRunningStats`. */
  declare readonly runningMean: Tensor | null;
  /** [numFeatures] running (unbiased) variance, or null without `trackRunningStats`. */
  declare readonly runningVar: Tensor | null;
  /** int32 scalar: training batches seen, or null without `trackRunningStats`. */
  declare readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;

  constructor(readonly numFeatures: number, opts: BatchNormLayerOptions = {}) {
    super();
    const name = this.constructor.name;
    checkCount(name, 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum === undefined ? 0.1 : opts.momentum;
    this.affine = opts.affine ?? true;
    this.trackRunningStats = opts.trackRunningStats ?? true;
    if (!(this.eps >= 0)) throw new Error(`${name}: eps must be non-negative, got ${this.eps}`);
    if (this.momentum !== null && !(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`${name}: momentum must be in [0, 1] or null, got ${this.momentum}`);
    const o = { dtype: opts.dtype ?? 'float32', device: opts.device ?? 'cpu' } as const;
    this.registerParameter('weight', this.affine ? ones([numFeatures], o) : null);
    this.registerParameter('bias', this.affine ? zeros([numFeatures], o) : null);
    this.registerBuffer('runningMean', this.trackRunningStats ? zeros([numFeatures], o) : null);
    this.registerBuffer('runningVar', this.trackRunningStats ? ones([numFeatures], o) : null);
    this.registerBuffer('numBatchesTracked', this.trackRunningStats ? zeros([], { dtype: 'int32', device: o.device }) : null);
  }

  /** Checks the input's rank (BatchNorm1d: 2 or 3; BatchNorm2d: 4). */
  protected abstract checkInput(x: Tensor): void;

  override forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) throw new Error(`${this.constructor.name}: input ${fmt(x.shape)} has ${x.shape[1]} channels, expected ${this.numFeatures}`);
    const useBatchStats = this.training || !this.trackRunningStats;
    const update = this.training && this.trackRunningStats;
    let momentum = this.momentum ?? 0;
    const nbt = this.numBatchesTracked;
    if (update && nbt) {
      noGrad(() => tidy(() => {
        copy_(nbt, nbt.add(1));
      }));
      if (this.momentum === null) momentum = 1 / nbt.item();
    }
    return F.batchNorm(x, update || !useBatchStats ? this.runningMean : null, update || !useBatchStats ? this.runningVar : null, {
      weight: this.weight,
      bias: this.bias,
      training: useBatchStats,
      momentum,
      eps: this.eps,
    });
  }
  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, trackRunningStats=${this.trackRunningStats}`;
  }
}

/** Batch norm of [N, C] or [N, C, L] inputs (see {@link BatchNormBase}, including the eval-mode trap). */
export class BatchNorm1d extends BatchNormBase {
  protected override checkInput(x: Tensor): void {
    if (x.ndim !== 2 && x.ndim !== 3) throw new Error(`BatchNorm1d: expected a 2-D or 3-D input, got ${fmt(x.shape)}`);
  }
}

/** Batch norm of [N, C, H, W] inputs (see {@link BatchNormBase}, including the eval-mode trap). */
export class BatchNorm2d extends BatchNormBase {
  protected override checkInput(x: Tensor): void {
    if (x.ndim !== 4) throw new Error(`BatchNorm2d: expected a 4-D input [N, C, H, W], got ${fmt(x.shape)}`);
  }
}

function poolRepr(k: number | [number, number], o: F.Pool2dOptions): string {
  const f = (v: number | [number, number]) => (typeof v === 'number' ? String(v) : fmt(v));
  const parts = [`kernelSize=${f(k)}`, `stride=${f(o.stride ?? k)}`, `padding=${f(o.padding ?? 0)}`];
  if (o.dilation !== undefined) parts.push(`dilation=${f(o.dilation)}`);
  if (o.ceilMode) parts.push('ceilMode=true');
  if (o.countIncludePad === false) parts.push('countIncludePad=false');
  return parts.join(', ');
}

/** Max pooling over `kernelSize` windows (stride defaults to the kernel size); see `F.maxPool2d`. */
export class MaxPool2d extends Module<[Tensor], Tensor> {
  constructor(readonly kernelSize: number | [number, number], readonly options: F.Pool2dOptions = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    return poolRepr(this.kernelSize, this.options);
  }
}

/** Average pooling over `kernelSize` windows (stride defaults to the kernel size); see `F.avgPool2d`. */
export class AvgPool2d extends Module<[Tensor], Tensor> {
  constructor(readonly kernelSize: number | [number, number], readonly options: F.Pool2dOptions = {}) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.options);
  }
  override extraRepr(): string {
    return poolRepr(this.kernelSize, this.options);
  }
}

/** Flattens axes `startDim..endDim` into one (default 1..-1: keeps the batch axis). */
export class Flatten extends Module<[Tensor], Tensor> {
  constructor(readonly startDim = 1, readonly endDim = -1) {
    super();
  }
  override forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/** `max(x, 0)` elementwise. */
export class ReLU extends Module<[Tensor], Tensor> {
  override forward(x: Tensor): Tensor {
    return x.relu();
  }
}
/** `tanh(x)` elementwise. */
export class Tanh extends Module<[Tensor], Tensor> {
  override forward(x: Tensor): Tensor {
    return x.tanh();
  }
}
/** `1 / (1 + exp(-x))` elementwise. */
export class Sigmoid extends Module<[Tensor], Tensor> {
  override forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}
/** Returns its input (a placeholder, e.g. for a removed layer). */
export class Identity extends Module<[Tensor], Tensor> {
  override forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * Chains modules: `forward(x)` is `layers[n-1](...layers[0](x))`. Children are named '0', '1', ...
 * so parameters are `0.weight`, `0.bias`, `2.weight`, ... (as PyTorch's nn.Sequential).
 */
export class Sequential extends Module<[Tensor], Tensor> {
  constructor(...layers: Module<[Tensor], Tensor>[]) {
    super();
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  /** Number of layers. */
  get length(): number {
    return this._modules.size;
  }
  /** The layer at `i` (negative counts from the end). */
  at(i: number): Module<[Tensor], Tensor> {
    const list = [...this._modules.values()];
    const m = list[i < 0 ? list.length + i : i];
    if (!m) throw new Error(`Sequential.at: index ${i} is out of range for ${list.length} layers`);
    return m as unknown as Module<[Tensor], Tensor>;
  }
  /** Adds a layer at the end; returns this. */
  append(m: Module<[Tensor], Tensor>): this {
    this.registerModule(String(this._modules.size), m);
    return this;
  }
  override forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this._modules.values()) y = (m as unknown as Module<[Tensor], Tensor>).call(y);
    return y;
  }
}
