/**
 * `mg.nn.init`: parameter initialisation as `torch.nn.init`. Every function overwrites its
 * tensor in place (`copy_` under noGrad, so a parameter stays a leaf and keeps its identity),
 * draws from the seeded generator (`mg.manualSeed`), and returns the tensor.
 */
import { noGrad } from '../autograd/engine.js';
import { copy_ } from '../ops/inplace.js';
import { full, rand, randn } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { fmt } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Nonlinearities known to {@link calculateGain}. */
export type Nonlinearity =
  | 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d'
  | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** Which fan scales the variance: `fan_in` keeps forward activations' variance, `fan_out` backward gradients'. */
export type FanMode = 'fan_in' | 'fan_out';

/**
 * The recommended gain for a nonlinearity (torch.nn.init.calculate_gain): 1 for linear/conv/
 * sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for leaky_relu (`param` is
 * the negative slope, default 0.01), 3/4 for selu.
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d':
    case 'conv_transpose1d': case 'conv_transpose2d': case 'conv_transpose3d': case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`calculateGain: negative slope ${String(param)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
    default:
      throw new Error(`calculateGain: unsupported nonlinearity ${String(nonlinearity)}`);
  }
}

/**
 * `[fanIn, fanOut]` of a weight (torch's `_calculate_fan_in_and_fan_out`): for [out, in, ...k]
 * fanIn = in * prod(k) and fanOut = out * prod(k). Needs at least 2 dimensions.
 */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  if (t.ndim < 2) throw new Error(`init: fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions (shape ${fmt(t.shape)})`);
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return [t.shape[1] * receptive, t.shape[0] * receptive];
}

function fanOf(t: Tensor, mode: FanMode): number {
  if (mode !== 'fan_in' && mode !== 'fan_out') throw new Error(`init: mode must be 'fan_in' or 'fan_out', got ${String(mode)}`);
  const [fi, fo] = calculateFanInAndFanOut(t);
  return mode === 'fan_in' ? fi : fo;
}

function floatOnly(op: string, t: Tensor): void {
  if (t.dtype === 'int32') throw new Error(`init.${op}: tensor must be floating point, got int32`);
}

function write(t: Tensor, make: () => Tensor): Tensor {
  noGrad(() => tidy(() => {
    copy_(t, make());
  }));
  return t;
}

/** Fills `t` with draws from U(a, b). */
export function uniform(t: Tensor, a = 0, b = 1): Tensor {
  floatOnly('uniform', t);
  if (!(a <= b)) throw new Error(`init.uniform: need a <= b, got ${a} and ${b}`);
  return write(t, () => rand(t.shape, { dtype: t.dtype, device: t.device }).mul(b - a).add(a));
}

/** Fills `t` with draws from N(mean, std^2). */
export function normal(t: Tensor, mean = 0, std = 1): Tensor {
  floatOnly('normal', t);
  if (!(std >= 0)) throw new Error(`init.normal: std must be non-negative, got ${std}`);
  return write(t, () => randn(t.shape, { dtype: t.dtype, device: t.device }).mul(std).add(mean));
}

/** Fills `t` with `value`. */
export function constant(t: Tensor, value: number): Tensor {
  return write(t, () => full(t.shape, value, { dtype: t.dtype, device: t.device }));
}
/** Fills `t` with zeros. */
export function zeros(t: Tensor): Tensor {
  return constant(t, 0);
}
/** Fills `t` with ones. */
export function ones(t: Tensor): Tensor {
  return constant(t, 1);
}

/** Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fanIn + fanOut)). */
export function xavierUniform(t: Tensor, gain = 1): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  const bound = gain * Math.sqrt(6 / (fi + fo));
  return uniform(t, -bound, bound);
}

/** Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fanIn + fanOut)). */
export function xavierNormal(t: Tensor, gain = 1): Tensor {
  const [fi, fo] = calculateFanInAndFanOut(t);
  return normal(t, 0, gain * Math.sqrt(2 / (fi + fo)));
}

/** Options of the Kaiming (He) initialisers, as torch's. */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (only with `leaky_relu`); default 0. */
  a?: number;
  /** Default 'fan_in'. */
  mode?: FanMode;
  /** Default 'leaky_relu' (torch's default, which with a = 0 is ReLU's gain). */
  nonlinearity?: Nonlinearity;
}

/**
 * He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain = calculateGain(nonlinearity, a).
 * `kaimingUniform(w, { a: Math.sqrt(5) })` is PyTorch's default Linear/Conv weight init,
 * U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
 */
export function kaimingUniform(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  const fan = fanOf(t, mode);
  const bound = fan === 0 ? 0 : calculateGain(nonlinearity, a) * Math.sqrt(3 / fan);
  return uniform(t, -bound, bound);
}

/** He normal: N(0, std^2) with std = gain / sqrt(fan). */
export function kaimingNormal(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const { a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu' } = opts;
  const fan = fanOf(t, mode);
  return normal(t, 0, fan === 0 ? 0 : calculateGain(nonlinearity, a) / Math.sqrt(fan));
}
