/** Creating tensors: from data, constants, ranges and seeded random draws. */
import { addon } from '../backend/addon.js';
import { A, exec, header } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { arrayClass, isDType, isDevice, type AnyTypedArray, type DType, type Device } from './dtype.js';
import { constants as bufferConstants } from 'node:buffer';
import { checkOptions, checkShape, describeValue, fmt, numel } from './shape.js';
import { Tensor, type NestedArray } from './tensor.js';

/** Options shared by the creation functions. */
export interface TensorOptions {
  /** Element type; `float32` by default (a typed array's own type for `tensor(typedArray)`). */
  dtype?: DType;
  /** `cpu` by default. */
  device?: Device;
  /** Track this leaf for autograd. */
  requiresGrad?: boolean;
}

function opts(op: string, o: TensorOptions | undefined, fallback: DType = 'float32'): { dtype: DType; device: Device; requiresGrad: boolean } {
  checkOptions(op, o);
  const dtype = o?.dtype ?? fallback;
  const device = o?.device ?? 'cpu';
  if (!isDType(dtype)) throw new Error(`${op}: unknown dtype ${String(dtype)} (use 'float32', 'float64' or 'int32')`);
  if (!isDevice(device)) throw new Error(`${op}: unknown device ${String(device)} (use 'cpu' or 'cuda')`);
  if (device === 'cuda') requireCuda(op);
  const requiresGrad = o?.requiresGrad ?? false;
  if (typeof requiresGrad !== 'boolean') throw new Error(`${op}: requiresGrad must be true or false, got ${describeValue(requiresGrad)}`);
  if (requiresGrad && dtype === 'int32') throw new Error(`${op}: only floating-point tensors can require gradients`);
  return { dtype, device, requiresGrad };
}

/** Throws a clear error when CUDA tensors are requested without a usable GPU. */
export function requireCuda(op: string): void {
  if (cudaDevices === undefined) cudaDevices = addon.cudaInfo().deviceCount;
  if (cudaDevices === 0) {
    throw new Error(`${op}: cuda: no CUDA device is available (mg.cuda.isAvailable() is false${addon.cudaInfo().compiled ? '' : '; this build of metagrad has no CUDA backend'})`);
  }
}
let cudaDevices: number | undefined;

function finish(t: Tensor, requiresGrad: boolean): Tensor {
  t.requiresGrad = requiresGrad;
  return t;
}

/**
 * A zeroed JS buffer of `n` elements of `dtype` for a tensor of `shape`, made by `op`: the shape
 * is checked first (Note [Shape limits] in shape.ts), and a size a JS buffer cannot have is an
 * Error naming `op` rather than a RangeError.
 */
function jsBuffer(op: string, dtype: DType, shape: readonly number[]): AnyTypedArray {
  checkShape(op, shape, dtype);
  const n = numel(shape);
  const C = arrayClass(dtype);
  const bytes = n * C.BYTES_PER_ELEMENT;
  if (bytes > bufferConstants.MAX_LENGTH) {
    throw new Error(`${op}: shape ${fmt(shape)} of ${dtype} needs ${bytes} bytes, more than a JavaScript buffer holds (${bufferConstants.MAX_LENGTH})`);
  }
  try {
    return new C(n);
  } catch (e) {
    throw new Error(`${op}: out of memory allocating ${bytes} bytes for shape ${fmt(shape)} (${(e as Error).message})`);
  }
}

/** Copies a typed array of `dtype` elements into a new tensor. */
function fromTyped(view: AnyTypedArray, shape: readonly number[], dtype: DType, device: Device, op = 'tensor'): Tensor {
  header(dtype, device, shape, op);
  return new Tensor(addon.fromBuffer(view), shape, dtype, device);
}

function inferShape(data: NestedArray, shape: number[], depth: number): void {
  if (Array.isArray(data)) {
    if (depth === 16) throw new Error('tensor: nested arrays deeper than 16 levels (the maximum rank is 16)');
    if (depth === shape.length) shape.push(data.length);
    else if (shape[depth] !== data.length) throw new Error(`tensor: ragged nested array (length ${data.length} where ${shape[depth]} was expected at depth ${depth})`);
    if (data.length > 0) inferShape(data[0], shape, depth + 1);
  } else if (typeof data !== 'number' && typeof data !== 'boolean') {
    throw new Error(`tensor: expected numbers, got ${describeValue(data)}`);
  }
}

function flattenInto(data: NestedArray, shape: number[], depth: number, out: AnyTypedArray, pos: { i: number }): void {
  if (depth === shape.length) {
    if (Array.isArray(data)) throw new Error(`tensor: ragged nested array (too deep at depth ${depth})`);
    if (typeof data !== 'number' && typeof data !== 'boolean') throw new Error(`tensor: expected numbers, got ${describeValue(data)}`);
    out[pos.i++] = Number(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array (expected ${shape[depth]} elements at depth ${depth})`);
  }
  for (const v of data) flattenInto(v, shape, depth + 1, out, pos);
}

function typedDType(v: ArrayBufferView): DType | undefined {
  if (v instanceof Float32Array) return 'float32';
  if (v instanceof Float64Array) return 'float64';
  if (v instanceof Int32Array) return 'int32';
  return undefined;
}

/**
 * A tensor from a number, nested arrays, or a typed array (then `shape` is required, and the
 * dtype defaults to the array's own: Float64Array gives float64, Int32Array int32).
 */
export function tensor(data: number | NestedArray | ArrayLike<number> | ArrayBufferView, options: TensorOptions & { shape?: readonly number[] } = {}): Tensor {
  if (ArrayBuffer.isView(data)) {
    const own = typedDType(data);
    const o = opts('tensor', options, own ?? 'float32');
    const shape = options.shape;
    if (!shape) throw new Error('tensor: `shape` is required when the data is a typed array');
    checkShape('tensor', shape, o.dtype);
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array) {
      throw new Error(`tensor: a ${data.constructor.name} cannot hold tensor data (use a Float32Array, Float64Array or Int32Array)`);
    }
    const src = data as unknown as ArrayLike<number>;
    if (src.length !== numel(shape)) throw new Error(`tensor: ${src.length} values cannot fill shape ${fmt(shape)} (${numel(shape)} elements)`);
    const view = own === o.dtype ? (data as AnyTypedArray) : arrayClass(o.dtype).from(src);
    return finish(fromTyped(view, shape.slice(), o.dtype, o.device), o.requiresGrad);
  }
  const o = opts('tensor', options);
  const shape: number[] = [];
  inferShape(data as NestedArray, shape, 0);
  if (options.shape) {
    checkShape('tensor', options.shape, o.dtype);
    if (numel(options.shape) !== numel(shape)) throw new Error(`tensor: data of shape ${fmt(shape)} does not fit shape ${fmt(options.shape)}`);
  }
  const buf = jsBuffer('tensor', o.dtype, shape);
  flattenInto(data as NestedArray, shape, 0, buf, { i: 0 });
  return finish(fromTyped(buf, options.shape ? options.shape.slice() : shape, o.dtype, o.device), o.requiresGrad);
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  return filled('full', shape, value, options);
}

function filled(op: string, shape: readonly number[], value: number, options: TensorOptions): Tensor {
  const o = opts(op, options);
  checkShape(op, shape, o.dtype);
  if (typeof value !== 'number') throw new Error(`${op}: value must be a number, got ${describeValue(value)}`);
  const s = shape.slice();
  const at = header(o.dtype, o.device, s, op);
  A[at] = value;
  return finish(new Tensor(exec(Op.FILL), s, o.dtype, o.device), o.requiresGrad);
}
/** Zeros of `shape`. */
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor { return filled('zeros', shape, 0, options); }
/** Ones of `shape`. */
export function ones(shape: readonly number[], options: TensorOptions = {}): Tensor { return filled('ones', shape, 1, options); }
/** The `*Like` functions: `value` with `t`'s shape, dtype and device unless `options` override them. */
function filledLike(op: string, t: Tensor, value: number, options: TensorOptions): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${op}: expected a tensor, got ${describeValue(t)}`);
  t.handle(op); // a disposed tensor is an error here as in every other op
  checkOptions(op, options);
  return filled(op, t.shape, value, { dtype: t.dtype, device: t.device, ...options });
}
/** Zeros with `t`'s shape, dtype and device (unless overridden). */
export function zerosLike(t: Tensor, options: TensorOptions = {}): Tensor { return filledLike('zerosLike', t, 0, options); }
/** Ones with `t`'s shape, dtype and device (unless overridden). */
export function onesLike(t: Tensor, options: TensorOptions = {}): Tensor { return filledLike('onesLike', t, 1, options); }
/** `value` with `t`'s shape, dtype and device (unless overridden). */
export function fullLike(t: Tensor, value: number, options: TensorOptions = {}): Tensor { return filledLike('fullLike', t, value, options); }

/** `start, start+step, ...` below `end` (`arange(n)` is 0..n-1). int32 when all arguments are integers and no dtype is given. */
export function arange(start: number, end?: number, step = 1, options: TensorOptions = {}): Tensor {
  if (end === undefined) {
    end = start;
    start = 0;
  }
  for (const v of [start, end, step]) if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`arange: arguments must be finite numbers, got ${describeValue(start)}, ${describeValue(end)}, ${describeValue(step)}`);
  if (step === 0) throw new Error('arange: step must not be zero');
  const allInt = Number.isInteger(start) && Number.isInteger(end) && Number.isInteger(step);
  const o = opts('arange', options, allInt ? 'int32' : 'float32');
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (!Number.isSafeInteger(n)) throw new Error(`arange: ${start} to ${end} in steps of ${step} is ${n} values, more than a tensor can hold`);
  const buf = jsBuffer('arange', o.dtype, [n]);
  for (let i = 0; i < n; i++) buf[i] = start + i * step;
  return finish(fromTyped(buf, [n], o.dtype, o.device, 'arange'), o.requiresGrad);
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: TensorOptions = {}): Tensor {
  for (const v of [start, end]) if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`linspace: start and end must be finite numbers, got ${describeValue(start)} and ${describeValue(end)}`);
  if (!Number.isSafeInteger(steps) || steps < 0) throw new Error(`linspace: steps must be a non-negative safe integer, got ${describeValue(steps)}`);
  const o = opts('linspace', options);
  const buf = jsBuffer('linspace', o.dtype, [steps]);
  const d = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Fill from both ends, as NumPy does, so the last value is exactly `end`.
  for (let i = 0; i < steps; i++) buf[i] = i < steps / 2 ? start + i * d : end - (steps - 1 - i) * d;
  return finish(fromTyped(buf, [steps], o.dtype, o.device, 'linspace'), o.requiresGrad);
}

/** The n x m identity (m = n by default). */
export function eye(n: number, m = n, options: TensorOptions = {}): Tensor {
  const o = opts('eye', options);
  const buf = jsBuffer('eye', o.dtype, [n, m]);
  for (let i = 0; i < Math.min(n, m); i++) buf[i * m + i] = 1;
  return finish(fromTyped(buf, [n, m], o.dtype, o.device, 'eye'), o.requiresGrad);
}

/** Uniform samples in [0, 1) from the seeded generator. */
export function rand(shape: readonly number[], options: TensorOptions = {}): Tensor {
  const o = opts('rand', options);
  if (o.dtype === 'int32') throw new Error('rand: dtype must be float32 or float64 (use randint for integers)');
  checkShape('rand', shape, o.dtype);
  const s = shape.slice();
  const at = header(o.dtype, o.device, s, 'rand');
  A[at] = 0;
  A[at + 1] = 1;
  return finish(new Tensor(exec(Op.RAND_UNIFORM), s, o.dtype, o.device), o.requiresGrad);
}

/** Standard normal samples from the seeded generator. */
export function randn(shape: readonly number[], options: TensorOptions = {}): Tensor {
  const o = opts('randn', options);
  if (o.dtype === 'int32') throw new Error('randn: dtype must be float32 or float64');
  checkShape('randn', shape, o.dtype);
  const s = shape.slice();
  const at = header(o.dtype, o.device, s, 'randn');
  A[at] = 0;
  A[at + 1] = 1;
  return finish(new Tensor(exec(Op.RAND_NORMAL), s, o.dtype, o.device), o.requiresGrad);
}

/** Uniform integers in [low, high) from the seeded generator (int32 unless a dtype is given). */
export function randint(low: number, high: number, shape: readonly number[], options: TensorOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high)) throw new Error(`randint: low and high must be integers, got ${describeValue(low)} and ${describeValue(high)}`);
  if (high <= low) throw new Error(`randint: high (${high}) must be greater than low (${low})`);
  if (low < -(2 ** 31) || high > 2 ** 31) throw new Error(`randint: [${low}, ${high}) does not fit in int32`);
  const o = opts('randint', options, 'int32');
  checkShape('randint', shape, o.dtype);
  const s = shape.slice();
  const at = header(o.dtype, o.device, s, 'randint');
  A[at] = low;
  A[at + 1] = high;
  return finish(new Tensor(exec(Op.RAND_INT), s, o.dtype, o.device), o.requiresGrad);
}

/** Seeds the generator of every device; the same seed gives the same draws, bit for bit. */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`manualSeed: seed must be a non-negative safe integer, got ${seed}`);
  addon.manualSeed(Math.floor(seed / 2 ** 32), seed % 2 ** 32);
}
