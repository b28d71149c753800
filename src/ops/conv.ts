/** 2-D convolution (NCHW, weight [out, in/groups, kh, kw]) and the kernels its gradients need. */
import { A, exec, header, reserve } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { needsRecord, record } from '../autograd/record.js';
import { addOrNull } from './elementwise.js';
import { expand, reshape } from './movement.js';
import { sum } from './reduce.js';


/**
 * Options of {@link conv2d} and its gradient kernels, as in `torch.nn.functional.conv2d`.
 * A single number applies to both spatial dimensions; a pair is `[height, width]`.
 */
export interface Conv2dOptions {
  /** Step between windows (positive; default 1). */
  stride?: number | [number, number];
  /** Implicit zero padding on each side (non-negative; default 0). */
  padding?: number | [number, number];
  /** Spacing between kernel taps (positive; default 1). */
  dilation?: number | [number, number];
  /** Channel groups: input and output channels must both be divisible by it (default 1). */
  groups?: number;
}

/** @internal A `[h, w]` pair from a number or a pair, checked to hold integers >= `min`. */
export function pair(op: string, what: string, v: number | readonly number[] | undefined, dflt: [number, number], min: number): [number, number] {
  let p: [number, number];
  if (v === undefined) p = dflt;
  else if (typeof v === 'number') p = [v, v];
  else if (Array.isArray(v) && v.length === 2) p = [v[0], v[1]];
  else throw new Error(`${op}: ${what} must be a number or a pair of numbers, got ${String(v)}`);
  for (const n of p) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min) {
      throw new Error(`${op}: ${what} must hold integers >= ${min}, got ${Array.isArray(v) ? fmt(v) : String(v)}`);
    }
  }
  return p;
}

/** @internal Checks that `t` is a float tensor of rank 4 (or 3 when `allow3`). */
export function checkFloatTensor(op: string, what: string, t: unknown, allow3: boolean): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor, got ${String(t)}`);
  if (t.dtype === 'int32') throw new Error(`${op}: ${what} ${fmt(t.shape)} must be float32 or float64, got int32`);
  if (t.ndim !== 4 && !(allow3 && t.ndim === 3)) {
    throw new Error(`${op}: ${what} ${fmt(t.shape)} must be 4-D (N, C, H, W)${allow3 ? ' or 3-D (C, H, W)' : ''}`);
  }
}

/** @internal Checks a user-given NCHW shape (rank 4, or 3 when `allow3`). */
export function checkShape4(op: string, what: string, s: readonly number[], allow3: boolean): void {
  if (!Array.isArray(s) || (s.length !== 4 && !(allow3 && s.length === 3)) || s.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new Error(`${op}: ${what} must be ${allow3 ? '3-D or ' : ''}4-D non-negative integers, got ${Array.isArray(s) ? fmt(s) : String(s)}`);
  }
}

function sameDevice(op: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.device !== b.device) throw new Error(`${op}: ${an} is on ${a.device} but ${bn} is on ${b.device}`);
}
function sameDtype(op: string, a: Tensor, b: Tensor, an: string, bn: string): void {
  if (a.dtype !== b.dtype) throw new Error(`${op}: ${an} ${fmt(a.shape)} is ${a.dtype} but ${bn} ${fmt(b.shape)} is ${b.dtype}`);
}

interface Geom {
  stride: [number, number];
  padding: [number, number];
  dilation: [number, number];
  groups: number;
  out: [number, number];
}

/** Validates the geometry for input shape `xs` (4-D) and weight shape `ws`; returns Ho, Wo. */
function geometry(op: string, xs: readonly number[], ws: readonly number[], opts: Conv2dOptions): Geom {
  if (typeof opts !== 'object' || opts === null) throw new Error(`${op}: options must be an object`);
  const stride = pair(op, 'stride', opts.stride, [1, 1], 1);
  const padding = pair(op, 'padding', opts.padding, [0, 0], 0);
  const dilation = pair(op, 'dilation', opts.dilation, [1, 1], 1);
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new Error(`${op}: groups must be a positive integer, got ${String(groups)}`);
  const [, C, H, W] = xs;
  const [O, Cg, kh, kw] = ws;
  if (C % groups !== 0) throw new Error(`${op}: groups ${groups} does not divide the ${C} input channels of ${fmt(xs)}`);
  if (O % groups !== 0) throw new Error(`${op}: groups ${groups} does not divide the ${O} output channels of weight ${fmt(ws)}`);
  if (C !== Cg * groups) {
    throw new Error(`${op}: input ${fmt(xs)} has ${C} channels but weight ${fmt(ws)} expects ${Cg * groups} (groups ${groups})`);
  }
  if (kh < 1 || kw < 1) throw new Error(`${op}: weight ${fmt(ws)} has an empty kernel`);
  const eh = dilation[0] * (kh - 1) + 1;
  const ew = dilation[1] * (kw - 1) + 1;
  if (H + 2 * padding[0] < eh || W + 2 * padding[1] < ew) {
    throw new Error(
      `${op}: kernel ${eh}x${ew} (weight ${fmt(ws)}, dilation ${fmt(dilation)}) is larger than the padded input ` +
        `${H + 2 * padding[0]}x${W + 2 * padding[1]} (input ${fmt(xs)}, padding ${fmt(padding)})`,
    );
  }
  const out: [number, number] = [
    Math.floor((H + 2 * padding[0] - eh) / stride[0]) + 1,
    Math.floor((W + 2 * padding[1] - ew) / stride[1]) + 1,
  ];
  return { stride, padding, dilation, groups, out };
}

function writeAttrs(op: string, at: number, g: Geom): void {
  reserve(op, at, 7);
  A[at] = g.stride[0];
  A[at + 1] = g.stride[1];
  A[at + 2] = g.padding[0];
  A[at + 3] = g.padding[1];
  A[at + 4] = g.dilation[0];
  A[at + 5] = g.dilation[1];
  A[at + 6] = g.groups;
}

/**
 * Cross-correlation as `torch.nn.functional.conv2d`: `x` [N, C, H, W] (or unbatched [C, H, W]),
 * `weight` [O, C/groups, kh, kw], optional `bias` [O]; returns [N, O, Ho, Wo] with
 * `Ho = floor((H + 2*padH - dilH*(kh-1) - 1) / strideH) + 1` (likewise Wo).
 * Input, weight and bias must share a float dtype and a device.
 */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2d';
  checkFloatTensor(op, 'input', x, true);
  checkFloatTensor(op, 'weight', weight, false);
  sameDtype(op, x, weight, 'input', 'weight');
  sameDevice(op, x, weight, 'input', 'weight');
  const unbatched = x.ndim === 3;
  const xs = unbatched ? [1, ...x.shape] : x.shape;
  const g = geometry(op, xs, weight.shape, opts);
  const O = weight.shape[0];
  if (bias !== undefined && bias !== null) {
    if (!(bias instanceof Tensor)) throw new Error(`${op}: bias must be a tensor or null, got ${String(bias)}`);
    if (bias.ndim !== 1 || bias.shape[0] !== O) throw new Error(`${op}: bias ${fmt(bias.shape)} must have shape [${O}] for weight ${fmt(weight.shape)}`);
    sameDtype(op, x, bias, 'input', 'bias');
    sameDevice(op, x, bias, 'input', 'bias');
  }
  const xin = unbatched ? x.reshape(xs) : x;
  const shape = [xs[0], O, g.out[0], g.out[1]];
  writeAttrs(op, header(x.dtype, x.device, shape, op), g);
  const bh = bias ? bias.handle(op) : null;
  const y = new Tensor(exec(Op.CONV2D, xin.handle(op), weight.handle(op), bh), shape, x.dtype, x.device);
  const b = bias ?? null;
  if (needsRecord(xin, weight, b)) {
    // Rules at the 4-D level (the unbatched reshapes carry their own rules). Both gradient
    // kernels are ops with rules of their own (ARCHITECTURE.md rule 2), so any order works.
    record(
      y,
      op,
      [xin, weight, b],
      (gy, n) => [
        n[0] ? conv2dInputGrad(gy, weight, xin.shape, opts) : null,
        n[1] ? conv2dWeightGrad(gy, xin, weight.shape, opts) : null,
        n[2] ? sum(gy, [0, 2, 3]) : null,
      ],
      ([tx, tw, tb]) =>
        addOrNull(
          addOrNull(tx && conv2d(tx, weight, null, opts), tw && conv2d(xin, tw, null, opts)),
          tb && expand(reshape(tb, [1, O, 1, 1]), shape),
        ),
    );
  }
  return unbatched ? y.reshape(shape.slice(1)) : y;
}

/**
 * The gradient of {@link conv2d} with respect to its input: the transposed convolution of
 * `gradOut` [N, O, Ho, Wo] with `weight`, returned with shape `inputShape` [N, C, H, W] (or 3-D
 * for an unbatched input). `inputShape` is needed because strides lose the input's exact size.
 */
export function conv2dInputGrad(gradOut: Tensor, weight: Tensor, inputShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dInputGrad';
  checkFloatTensor(op, 'gradOut', gradOut, true);
  checkFloatTensor(op, 'weight', weight, false);
  sameDtype(op, gradOut, weight, 'gradOut', 'weight');
  sameDevice(op, gradOut, weight, 'gradOut', 'weight');
  checkShape4(op, 'inputShape', inputShape, true);
  const unbatched = inputShape.length === 3;
  const xs = unbatched ? [1, ...inputShape] : [...inputShape];
  const g = geometry(op, xs, weight.shape, opts);
  const expected = [xs[0], weight.shape[0], g.out[0], g.out[1]];
  const gs = gradOut.ndim === 3 ? [1, ...gradOut.shape] : gradOut.shape;
  if (gradOut.ndim !== inputShape.length || gs.some((d, i) => d !== expected[i])) {
    throw new Error(`${op}: gradOut ${fmt(gradOut.shape)} should be ${fmt(unbatched ? expected.slice(1) : expected)} for input ${fmt(inputShape)} and weight ${fmt(weight.shape)}`);
  }
  const gin = unbatched ? gradOut.reshape(gs) : gradOut;
  writeAttrs(op, header(gradOut.dtype, gradOut.device, xs, op), g);
  const dx = new Tensor(exec(Op.CONV2D_INPUT_GRAD, gin.handle(op), weight.handle(op)), xs, gradOut.dtype, gradOut.device);
  if (needsRecord(gin, weight)) {
    // Bilinear: <inputGrad(g, w), H> = <g, conv2d(H, w)> = <weightGrad(g, H), w>.
    record(
      dx,
      op,
      [gin, weight],
      (h, n) => [n[0] ? conv2d(h, weight, null, opts) : null, n[1] ? conv2dWeightGrad(gin, h, weight.shape, opts) : null],
      ([tg, tw]) => addOrNull(tg && conv2dInputGrad(tg, weight, xs, opts), tw && conv2dInputGrad(gin, tw, xs, opts)),
    );
  }
  return unbatched ? dx.reshape(inputShape) : dx;
}

/**
 * The gradient of {@link conv2d} with respect to its weight: for `gradOut` [N, O, Ho, Wo] and the
 * input `x` [N, C, H, W] (or both unbatched), returns `weightShape` [O, C/groups, kh, kw], summed
 * over the batch in a fixed order (repeatable bit for bit).
 */
export function conv2dWeightGrad(gradOut: Tensor, x: Tensor, weightShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dWeightGrad';
  checkFloatTensor(op, 'gradOut', gradOut, true);
  checkFloatTensor(op, 'input', x, true);
  sameDtype(op, gradOut, x, 'gradOut', 'input');
  sameDevice(op, gradOut, x, 'gradOut', 'input');
  checkShape4(op, 'weightShape', weightShape, false);
  const unbatched = x.ndim === 3;
  const xs = unbatched ? [1, ...x.shape] : x.shape;
  const ws = [...weightShape];
  const g = geometry(op, xs, ws, opts);
  const expected = [xs[0], ws[0], g.out[0], g.out[1]];
  const gs = gradOut.ndim === 3 ? [1, ...gradOut.shape] : gradOut.shape;
  if (gradOut.ndim !== x.ndim || gs.some((d, i) => d !== expected[i])) {
    throw new Error(`${op}: gradOut ${fmt(gradOut.shape)} should be ${fmt(unbatched ? expected.slice(1) : expected)} for input ${fmt(x.shape)} and weight ${fmt(ws)}`);
  }
  const gin = unbatched ? gradOut.reshape(gs) : gradOut;
  const xin = unbatched ? x.reshape(xs) : x;
  writeAttrs(op, header(x.dtype, x.device, ws, op), g);
  const dw = new Tensor(exec(Op.CONV2D_WEIGHT_GRAD, gin.handle(op), xin.handle(op)), ws, x.dtype, x.device);
  if (needsRecord(gin, xin)) {
    // Bilinear: <weightGrad(g, x), K> = <g, conv2d(x, K)> = <inputGrad(g, K), x>.
    record(
      dw,
      op,
      [gin, xin],
      (k, n) => [n[0] ? conv2d(xin, k, null, opts) : null, n[1] ? conv2dInputGrad(gin, k, xin.shape, opts) : null],
      ([tg, tx]) => addOrNull(tg && conv2dWeightGrad(tg, xin, ws, opts), tx && conv2dWeightGrad(gin, tx, ws, opts)),
    );
  }
  return dw;
}
