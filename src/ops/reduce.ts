/**
 * Reductions over any set of axes, with keepdim.
 *
 * `axis` may be a number, an array of numbers (negative values count from the end), or omitted
 * for all axes. An empty array `[]` reduces no axes (JAX semantics): the result holds the input's
 * values unchanged, as a new tensor (mean/logsumexp still change an int32 dtype to float32). A 0-d
 * tensor reduced over all axes gives a 0-d result. Reducing over a size-0 axis gives 0 for sum, NaN
 * for mean and -Infinity for logsumexp (like PyTorch); max, min and argmax throw.
 */
import { A, exec, header, reserve } from '../backend/exec.js';
import { Op, type OpCode } from '../backend/opcodes.js';
import type { DType } from '../tensor/dtype.js';
import { fmt, normAxes, sameShape } from '../tensor/shape.js';
import { needsRecord, record } from '../autograd/record.js';
import { div, eq, exp, mul, sub } from './elementwise.js';
import { expand, reshape } from './movement.js';
import { Tensor } from '../tensor/tensor.js';

type ReduceKind = 'same' | 'float' | 'index';

/** Axes of a 0-d tensor: each must be 0 or -1; none is reduced. */
function check0d(name: string, axis: number | readonly number[] | undefined): number[] {
  const list = axis === undefined ? [] : typeof axis === 'number' ? [axis] : axis;
  for (const a of list) {
    if (a !== 0 && a !== -1) throw new Error(`${name}: axis ${a} is out of range for a tensor of rank 0`);
  }
  if (list.length > 1) throw new Error(`${name}: axis ${list[1]} is repeated in [${list.join(',')}]`);
  return [];
}

/** Shared body: validates, computes the output shape and dtype, and calls the kernel. */
function reduce(op: OpCode, name: string, x: Tensor, axis: number | readonly number[] | undefined, keepdim: boolean, kind: ReduceKind, needsElements: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${name}: expected a tensor, got ${String(x)}`);
  if (axis !== undefined && typeof axis !== 'number' && !Array.isArray(axis)) {
    throw new Error(`${name}: axis must be a number or an array of numbers, got ${String(axis)}`);
  }
  if (typeof keepdim !== 'boolean') throw new Error(`${name}: keepdim must be a boolean, got ${String(keepdim)}`);
  const shape = x.shape;
  const nd = shape.length;
  // A 0-d tensor has no axes: "all", [], 0 and -1 (as in PyTorch) reduce nothing.
  const axes = nd === 0 ? check0d(name, axis) : normAxes(name, axis, nd);
  const isReduced = new Array<boolean>(nd).fill(false);
  for (const a of axes) isReduced[a] = true;
  const out: number[] = [];
  let kept = 1;
  for (let d = 0; d < nd; d++) {
    if (!isReduced[d]) {
      out.push(shape[d]);
      kept *= shape[d];
    } else if (keepdim) {
      out.push(1);
    }
  }
  if (needsElements && kept > 0) {
    for (const a of axes) {
      if (shape[a] === 0) throw new Error(`${name}: cannot reduce over axis ${a} of size 0 (shape ${fmt(shape)})`);
    }
  }
  const dt: DType = kind === 'index' ? 'int32' : kind === 'float' && x.dtype === 'int32' ? 'float32' : x.dtype;
  const at = header(dt, x.device, out);
  reserve(name, at, axes.length + 1);
  A[at] = axes.length;
  for (let i = 0; i < axes.length; i++) A[at + 1 + i] = axes[i];
  const y = new Tensor(exec(op, x.handle(name)), out, dt, x.device);
  if (kind !== 'index' && x.dtype !== 'int32' && needsRecord(x)) {
    const keepShape = shape.map((d, i) => (isReduced[i] ? 1 : d));
    recordReduce(op, name, x, y, axes, keepdim, keepShape);
  }
  return y;
}

/**
 * Derivative rules of the reductions. `keepShape` is the output's shape with the reduced axes kept
 * as size 1, so that `expand` broadcasts a gradient back over them.
 */
function recordReduce(op: OpCode, name: string, x: Tensor, y: Tensor, axes: number[], keepdim: boolean, keepShape: number[]): void {
  const kept = (t: Tensor) => (keepdim || sameShape(t.shape, keepShape) ? t : reshape(t, keepShape));
  const back = (g: Tensor) => expand(kept(g), x.shape);
  const count = axes.reduce((n, a) => n * x.shape[a], 1);
  switch (op) {
    case Op.SUM:
      record(y, name, [x], (g) => [back(g)], ([t]) => t && sum(t, axes, keepdim));
      return;
    case Op.MEAN:
      // Divide before broadcasting: the same numbers, one pass over the output's elements, not the input's.
      record(y, name, [x], (g) => [back(div(g, count))], ([t]) => t && mean(t, axes, keepdim));
      return;
    case Op.MAX:
    case Op.MIN: {
      // The gradient is shared evenly between tied extrema, as torch.amax/amin do.
      const share = () => {
        const hit = eq(x, kept(y));
        return div(hit, sum(hit, axes, true));
      };
      record(y, name, [x], (g) => [mul(back(g), share())], ([t]) => t && sum(mul(t, share()), axes, keepdim), undefined, true);
      return;
    }
    case Op.LOGSUMEXP: {
      const soft = () => exp(sub(x, kept(y)));
      record(y, name, [x], (g) => [mul(back(g), soft())], ([t]) => t && sum(mul(t, soft()), axes, keepdim), undefined, true);
      return;
    }
  }
}

/** Sum over `axis` (all axes when omitted); int32 stays int32 (wrapping on overflow). */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduce(Op.SUM, 'sum', x, axis, keepdim, 'same', false);
}
/** Mean over `axis` (all axes when omitted); int32 input gives float32, a size-0 axis gives NaN. */
export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduce(Op.MEAN, 'mean', x, axis, keepdim, 'float', false);
}
/** Maximum over `axis` (all axes when omitted); NaN propagates. */
export function max(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduce(Op.MAX, 'max', x, axis, keepdim, 'same', true);
}
/** Minimum over `axis` (all axes when omitted); NaN propagates. */
export function min(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduce(Op.MIN, 'min', x, axis, keepdim, 'same', true);
}
/**
 * Index (int32) of the first maximum along `axis` (of the flattened tensor when omitted); NaN
 * counts as the maximum, as in PyTorch.
 */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis !== undefined && typeof axis !== 'number') throw new Error(`argmax: axis must be a number, got ${String(axis)}`);
  return reduce(Op.ARGMAX, 'argmax', x, axis, keepdim, 'index', true);
}
/**
 * `log(sum(exp(x)))` over `axis`, computed stably (the maximum is factored out): all -Infinity
 * gives -Infinity, any +Infinity gives +Infinity. int32 input gives float32.
 */
export function logsumexp(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor {
  return reduce(Op.LOGSUMEXP, 'logsumexp', x, axis, keepdim, 'float', false);
}
