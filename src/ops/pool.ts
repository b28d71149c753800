/** Max and average pooling over NCHW tensors, and the kernels their gradients need. */
import { A, exec, execMulti, header, reserve } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { checkFloatTensor, checkShape4, pair } from './conv.js';
import { needsRecord, record } from '../autograd/record.js';
import { ge, lt, where } from './elementwise.js';
import { min } from './reduce.js';

/** A reshape that records nothing (for int32 indices and kernel operands). */
function rawView(x: Tensor, shape: readonly number[]): Tensor {
  header(x.dtype, x.device, shape);
  return new Tensor(exec(Op.RESHAPE, x.handle('reshape')), shape, x.dtype, x.device);
}

/**
 * The max-pooling indices `i4` [N, C, Ho, Wo] prepared for gathering: flattened to
 * [N, C, Ho*Wo], with the -1 of empty windows replaced by 0 and a mask (1 = real index) when
 * there are any. Built eagerly, when the node is recorded: every node using it saves `tensors()`
 * (Note [Saved tensors]), so nothing it holds is freed while a rule may still need it.
 */
class PoolIndex {
  readonly flat: Tensor;
  readonly mask: Tensor | null = null;
  constructor(readonly i4: Tensor) {
    const [N, C, Ho, Wo] = i4.shape;
    const f = rawView(i4, [N, C, Ho * Wo]);
    if (i4.size > 0 && min(i4).item() < 0) {
      this.flat = where(lt(f, 0), 0, f);
      this.mask = ge(f, 0);
      f._release();
    } else {
      this.flat = f;
    }
  }
  get(): [Tensor, Tensor | null] {
    return [this.flat, this.mask];
  }
  /** What a node using this index must save. */
  tensors(): Tensor[] {
    return this.mask === null ? [this.i4, this.flat] : [this.i4, this.flat, this.mask];
  }
  /** Hands the tensors over to the nodes that saved them (call after recording). */
  release(): void {
    for (const t of this.tensors()) t._release();
  }
}

/**
 * `t` [N, C, H, W] read at the argmax positions: out[n, c, p] = t[n, c, idx[n, c, p]], and 0 for an
 * empty window. The adjoint of {@link maxPool2dBackward} (which scatter-adds), so the two are each
 * other's vjp and both are linear: their jvps are themselves. Uses the gather kernel directly so
 * that these two rules alone make max pooling differentiable to any order.
 */
function poolGather(t: Tensor, ix: PoolIndex, inputShape: readonly number[]): Tensor {
  const op = 'maxPool2d (gather)';
  const [N, C, H, W] = t.shape;
  const outShape = ix.i4.shape;
  const [idx, mask] = ix.get();
  const t3 = rawView(t, [N, C, H * W]);
  const at = header(t.dtype, t.device, idx.shape);
  A[at] = 2;
  let flat = new Tensor(exec(Op.GATHER, t3.handle(op), idx.handle(op)), idx.shape, t.dtype, t.device);
  if (mask !== null) flat = rawMul(flat, mask);
  const y = rawView(flat, outShape);
  if (needsRecord(t)) {
    record(y, op, [t], (g) => [maxPool2dBackward(g, ix.i4, inputShape)], ([tt]) => tt && poolGather(tt, ix, inputShape), ix.tensors());
  }
  return y;
}

/** `x * m` for a 0/1 int32 mask `m`, recording nothing (callers record the whole op). */
function rawMul(x: Tensor, m: Tensor): Tensor {
  header(x.dtype, x.device, x.shape);
  return new Tensor(exec(Op.WHERE, m.handle('where'), x.handle('where'), 0), x.shape, x.dtype, x.device);
}

/**
 * Pooling options, as in `torch.nn.functional.max_pool2d` / `avg_pool2d`. A single number applies
 * to both spatial dimensions; a pair is `[height, width]`.
 */
export interface Pool2dOptions {
  /** Step between windows (positive; default: the kernel size). */
  stride?: number | [number, number];
  /** Implicit padding on each side (-inf for max, 0 for average); at most half the kernel size. */
  padding?: number | [number, number];
  /** Spacing between window taps (max pooling only; default 1). */
  dilation?: number | [number, number];
  /** Round the output size up instead of down; the last window must still start inside the input or the left padding. */
  ceilMode?: boolean;
  /** avgPool2d: count padded zeros in the divisor (default true, like PyTorch). */
  countIncludePad?: boolean;
}

interface PoolGeom {
  k: [number, number];
  s: [number, number];
  p: [number, number];
  d: [number, number];
  ceil: boolean;
  out: [number, number];
}

// PyTorch's pooling_output_shape.
function outSize(n: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  let o = Math.floor((n + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}

function geometry(op: string, xs: readonly number[], kernelSize: number | [number, number], opts: Pool2dOptions, allowDilation: boolean): PoolGeom {
  if (typeof opts !== 'object' || opts === null) throw new Error(`${op}: options must be an object`);
  if (kernelSize === undefined) throw new Error(`${op}: kernelSize is required`);
  const k = pair(op, 'kernelSize', kernelSize, [1, 1], 1);
  const s = pair(op, 'stride', opts.stride, k, 1);
  const p = pair(op, 'padding', opts.padding, [0, 0], 0);
  const d = pair(op, 'dilation', opts.dilation, [1, 1], 1);
  if (!allowDilation && (d[0] !== 1 || d[1] !== 1)) throw new Error(`${op}: dilation is not supported`);
  if (p[0] > Math.floor(k[0] / 2) || p[1] > Math.floor(k[1] / 2)) {
    throw new Error(`${op}: padding ${fmt(p)} must be at most half the kernel size ${fmt(k)}`);
  }
  const ceil = opts.ceilMode ?? false;
  if (typeof ceil !== 'boolean') throw new Error(`${op}: ceilMode must be a boolean`);
  const [H, W] = [xs[xs.length - 2], xs[xs.length - 1]];
  const out: [number, number] = [outSize(H, k[0], s[0], p[0], d[0], ceil), outSize(W, k[1], s[1], p[1], d[1], ceil)];
  if (out[0] < 1 || out[1] < 1) {
    throw new Error(`${op}: input ${fmt(xs)} is too small for kernel ${fmt(k)} (dilation ${fmt(d)}, padding ${fmt(p)}): output size ${out[0]}x${out[1]}`);
  }
  return { k, s, p, d, ceil, out };
}

/** The 4-D view of a 3-D tensor; call it before writing the header (reshape writes A too). */
function to4(x: Tensor): Tensor {
  return x.ndim === 3 ? x.reshape([1, ...x.shape]) : x;
}
function outShape(xs: readonly number[], g: PoolGeom): number[] {
  return [...xs.slice(0, xs.length - 2), g.out[0], g.out[1]];
}

function maxAttrs(op: string, at: number, g: PoolGeom): void {
  reserve(op, at, 9);
  A.set([g.k[0], g.k[1], g.s[0], g.s[1], g.p[0], g.p[1], g.d[0], g.d[1], g.ceil ? 1 : 0], at);
}
function avgAttrs(op: string, at: number, g: PoolGeom, opts: Pool2dOptions): void {
  const cip = opts.countIncludePad ?? true;
  if (typeof cip !== 'boolean') throw new Error(`${op}: countIncludePad must be a boolean`);
  reserve(op, at, 8);
  A.set([g.k[0], g.k[1], g.s[0], g.s[1], g.p[0], g.p[1], g.ceil ? 1 : 0, cip ? 1 : 0], at);
}

/**
 * Max pooling of `x` [N, C, H, W] (or [C, H, W]) over `kernelSize` windows; returns
 * [values, indices] where indices (int32) are flat `h * W + w` positions in each input plane, as
 * torch's `return_indices`. Padding acts as -inf; NaN propagates; among equal maxima the first
 * (row-major) wins. A window that dilation and padding leave without any input element gives
 * -inf and index -1 ({@link maxPool2dBackward} skips it).
 */
export function maxPool2dWithIndices(x: Tensor, kernelSize: number | [number, number], opts: Pool2dOptions = {}): [Tensor, Tensor] {
  const op = 'maxPool2d';
  checkFloatTensor(op, 'input', x, true);
  const g = geometry(op, x.shape, kernelSize, opts, true);
  const shape = outShape(x.shape, g);
  const s4 = x.ndim === 3 ? [1, ...shape] : shape;
  const x4 = to4(x); // before the header: reshape writes A too
  maxAttrs(op, header(x.dtype, x.device, s4, op), g);
  const [hv, hi] = execMulti(Op.MAXPOOL2D, x4.handle(op));
  const v = new Tensor(hv, s4, x.dtype, x.device);
  const i = new Tensor(hi, s4, 'int32', x.device);
  if (needsRecord(x4)) {
    // The rules keep their own view of the indices: the caller may dispose the returned ones.
    const si = rawView(i, s4);
    const ix = new PoolIndex(si);
    const xs = x4.shape;
    record(v, op, [x4], (g) => [maxPool2dBackward(g, si, xs)], ([t]) => t && poolGather(t, ix, xs), ix.tensors());
    ix.release();
  }
  return x.ndim === 3 ? [v.reshape(shape), i.reshape(shape)] : [v, i];
}

/** Max pooling (see {@link maxPool2dWithIndices}); returns the values. */
export function maxPool2d(x: Tensor, kernelSize: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  const [v, i] = maxPool2dWithIndices(x, kernelSize, opts);
  i.dispose(); // the rules hold their own view of the indices
  return v;
}

/**
 * Scatters `gradOut` to the argmax positions `indices` (from {@link maxPool2dWithIndices}), adding
 * where windows overlap: the gradient of max pooling, with shape `inputShape`.
 */
export function maxPool2dBackward(gradOut: Tensor, indices: Tensor, inputShape: readonly number[]): Tensor {
  const op = 'maxPool2dBackward';
  checkFloatTensor(op, 'gradOut', gradOut, true);
  if (!(indices instanceof Tensor) || indices.dtype !== 'int32') throw new Error(`${op}: indices must be an int32 tensor`);
  checkShape4(op, 'inputShape', inputShape, true);
  if (indices.device !== gradOut.device) throw new Error(`${op}: gradOut is on ${gradOut.device} but indices are on ${indices.device}`);
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (!same(gradOut.shape, indices.shape)) throw new Error(`${op}: gradOut ${fmt(gradOut.shape)} and indices ${fmt(indices.shape)} differ`);
  const nb = inputShape.length - 2;
  if (gradOut.ndim !== inputShape.length || !same(gradOut.shape.slice(0, nb), inputShape.slice(0, nb))) {
    throw new Error(`${op}: gradOut ${fmt(gradOut.shape)} does not match input shape ${fmt(inputShape)}`);
  }
  const xs = inputShape.length === 3 ? [1, ...inputShape] : [...inputShape];
  const g4 = to4(gradOut);
  const i4 = to4(indices);
  header(gradOut.dtype, gradOut.device, xs, op);
  const dx = new Tensor(exec(Op.MAXPOOL2D_BACKWARD, g4.handle(op), i4.handle(op)), xs, gradOut.dtype, gradOut.device);
  if (needsRecord(g4)) {
    // Linear in gradOut; its adjoint is the gather at the same indices.
    const si = rawView(i4, i4.shape);
    const ix = new PoolIndex(si);
    record(dx, op, [g4], (c) => [poolGather(c, ix, xs)], ([t]) => t && maxPool2dBackward(t, si, xs), ix.tensors());
    ix.release();
  }
  return inputShape.length === 3 ? dx.reshape(inputShape) : dx;
}

/**
 * Average pooling of `x` [N, C, H, W] (or [C, H, W]) with PyTorch's divisor rules: with
 * `countIncludePad` (default) the divisor counts padding but not the part of a ceil-mode window
 * beyond the padding; without it, only input elements.
 */
export function avgPool2d(x: Tensor, kernelSize: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  const op = 'avgPool2d';
  checkFloatTensor(op, 'input', x, true);
  const g = geometry(op, x.shape, kernelSize, opts, false);
  const shape = outShape(x.shape, g);
  const s4 = x.ndim === 3 ? [1, ...shape] : shape;
  const x4 = to4(x);
  avgAttrs(op, header(x.dtype, x.device, s4, op), g, opts);
  const y = new Tensor(exec(Op.AVGPOOL2D, x4.handle(op)), s4, x.dtype, x.device);
  if (needsRecord(x4)) {
    const xs = x4.shape;
    record(y, op, [x4], (g) => [avgPool2dBackward(g, xs, kernelSize, opts)], ([t]) => t && avgPool2d(t, kernelSize, opts));
  }
  return x.ndim === 3 ? y.reshape(shape) : y;
}

/** The gradient of {@link avgPool2d} for an input of shape `inputShape` (same kernel and options). */
export function avgPool2dBackward(gradOut: Tensor, inputShape: readonly number[], kernelSize: number | [number, number], opts: Pool2dOptions = {}): Tensor {
  const op = 'avgPool2dBackward';
  checkFloatTensor(op, 'gradOut', gradOut, true);
  checkShape4(op, 'inputShape', inputShape, true);
  const g = geometry(op, inputShape, kernelSize, opts, false);
  const expected = outShape(inputShape, g);
  if (gradOut.ndim !== expected.length || gradOut.shape.some((d, i) => d !== expected[i])) {
    throw new Error(`${op}: gradOut ${fmt(gradOut.shape)} should be ${fmt(expected)} for input ${fmt(inputShape)}`);
  }
  const xs = inputShape.length === 3 ? [1, ...inputShape] : [...inputShape];
  const g4 = to4(gradOut);
  avgAttrs(op, header(gradOut.dtype, gradOut.device, xs, op), g, opts);
  const dx = new Tensor(exec(Op.AVGPOOL2D_BACKWARD, g4.handle(op)), xs, gradOut.dtype, gradOut.device);
  if (needsRecord(g4)) {
    // Linear in gradOut, and the adjoint of avgPool2d with the same options.
    record(dx, op, [g4], (c) => [avgPool2d(c, kernelSize, opts)], ([t]) => t && avgPool2dBackward(t, xs, kernelSize, opts));
  }
  return inputShape.length === 3 ? dx.reshape(inputShape) : dx;
}
