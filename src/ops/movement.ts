/** Movement ops: reshape (a view), and the copying ops permute, expand, slice, cat, gather, pad... */
import { A, exec, header, reserve } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { checkOptions, checkShape, describeValue, fmt, normAxes, normAxis, numel, sameShape } from '../tensor/shape.js';
import { isDType, promoteTypes, type DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import { cast } from './convert.js';
import { needsRecord, needsRecordAll, record, release } from '../autograd/record.js';
import { sumToShape } from './sum_to_shape.js';
import { arange, zeros } from '../tensor/creation.js';


/** The same data with another shape (one entry may be -1). Shares the buffer: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('reshape', x);
  if (!Array.isArray(shape)) throw new Error(`reshape: shape must be an array, got ${String(shape)}`);
  let infer = -1;
  let known = 1;
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === -1) {
      if (infer >= 0) throw new Error(`reshape: only one dimension can be -1 in ${fmt(shape)}`);
      infer = i;
    } else known *= shape[i];
  }
  let out = shape;
  if (infer >= 0) {
    if (known === 0 || x.size % known !== 0) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} into ${fmt(shape)}`);
    out = shape.slice();
    (out as number[])[infer] = x.size / known;
  }
  checkShape('reshape', out);
  if (numel(out) !== x.size) throw new Error(`reshape: cannot reshape ${fmt(x.shape)} (${x.size} elements) into ${fmt(shape)}`);
  return view(x, out === shape ? shape.slice() : out);
}

function checkTensor(op: string, x: unknown, what = 'x'): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor, got ${describeValue(x)}`);
}

function checkInt(op: string, what: string, v: unknown): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${op}: ${what} must be an integer, got ${String(v)}`);
}

function checkIndex(op: string, index: unknown): asserts index is Tensor {
  checkTensor(op, index, 'index');
  if (index.dtype !== 'int32') throw new Error(`${op}: index must be int32, got ${index.dtype}`);
}

function checkDevice(op: string, a: Tensor, b: Tensor, what: string): void {
  if (a.device !== b.device) throw new Error(`${op}: x is on ${a.device} but ${what} is on ${b.device}`);
}

/** A reshape view with a known-good shape (the element count is unchanged). */
function view(x: Tensor, shape: readonly number[]): Tensor {
  header(x.dtype, x.device, shape);
  const y = new Tensor(exec(Op.RESHAPE, x.handle('reshape')), shape, x.dtype, x.device);
  if (needsRecord(x)) record(y, 'reshape', [x], (g) => [reshape(g, x.shape)], ([t]) => t && reshape(t, shape));
  return y;
}

/**
 * Merges dims startDim..endDim (inclusive; negative counts from the end) into one.
 * A view sharing x's buffer: no copy. A 0-d tensor flattens to shape [1], as in PyTorch.
 */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  checkTensor('flatten', x);
  if (x.ndim === 0) {
    normAxis('flatten', startDim, 1); // 0 and -1 both name the single (virtual) dim
    normAxis('flatten', endDim, 1);
    return view(x, [1]);
  }
  const s = normAxis('flatten', startDim, x.ndim);
  const e = normAxis('flatten', endDim, x.ndim);
  if (s > e) throw new Error(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${fmt(x.shape)}`);
  const shape = [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return view(x, shape);
}

/**
 * Removes size-1 dims: all of them, or those listed in `axis` (negative counts from the end).
 * As in PyTorch, a listed dim whose size is not 1 is left in place. A view: no copy.
 */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor {
  checkTensor('squeeze', x);
  const axes = axis === undefined ? null : new Set(normAxes('squeeze', axis, x.ndim));
  const shape = x.shape.filter((d, i) => d !== 1 || (axes !== null && !axes.has(i)));
  return view(x, shape);
}

/** Inserts a size-1 dim at `axis`, in [-ndim-1, ndim] (negative counts from the end). A view: no copy. */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  checkTensor('unsqueeze', x);
  const n = x.ndim;
  if (!Number.isInteger(axis) || axis < -n - 1 || axis > n) {
    throw new Error(`unsqueeze: axis ${describeValue(axis)} is out of range for a tensor of rank ${n} (valid: ${-n - 1}..${n})`);
  }
  const a = axis < 0 ? axis + n + 1 : axis;
  return view(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/**
 * Swaps two dims (the last two by default; negative counts from the end). A copy, as
 * {@link permute}; swapping a dim with itself returns a view.
 */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  checkTensor('transpose', x);
  const a = normAxis('transpose', dim0, x.ndim);
  const b = normAxis('transpose', dim1, x.ndim);
  if (x.ndim === 0) return view(x, x.shape);
  const perm = x.shape.map((_, i) => i);
  perm[a] = b;
  perm[b] = a;
  return permute(x, perm);
}

/**
 * Reorders dims: output dim i is input dim perm[i] (entries may be negative). Materialised
 * (tensors are contiguous); the identity permutation returns a view.
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  checkTensor('permute', x);
  if (!Array.isArray(perm)) throw new Error(`permute: perm must be an array, got ${String(perm)}`);
  if (perm.length !== x.ndim) throw new Error(`permute: perm [${perm.join(',')}] has ${perm.length} entries but the tensor of shape ${fmt(x.shape)} has rank ${x.ndim}`);
  const p = perm.map((a) => normAxis('permute', a, x.ndim));
  const seen = new Set(p);
  if (seen.size !== p.length) throw new Error(`permute: perm [${perm.join(',')}] repeats an axis`);
  if (p.every((v, i) => v === i)) return view(x, x.shape);
  const shape = p.map((a) => x.shape[a]);
  const at = header(x.dtype, x.device, shape);
  for (let i = 0; i < p.length; i++) A[at + i] = p[i];
  const y = new Tensor(exec(Op.PERMUTE, x.handle('permute')), shape, x.dtype, x.device);
  if (needsRecord(x)) {
    const inv = new Array<number>(p.length);
    for (let i = 0; i < p.length; i++) inv[p[i]] = i;
    record(y, 'permute', [x], (g) => [permute(g, inv)], ([t]) => t && permute(t, p));
  }
  return y;
}

/**
 * Broadcasts to `shape` (right-aligned, NumPy rules), materialised. Each existing dim must equal
 * the target or be 1; -1 keeps the existing dim; extra leading dims are added (they cannot be -1).
 * Expanding to the same shape returns a view.
 */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  checkTensor('expand', x);
  if (!Array.isArray(shape)) throw new Error(`expand: shape must be an array, got ${String(shape)}`);
  const off = shape.length - x.ndim;
  if (off < 0) throw new Error(`expand: cannot expand shape ${fmt(x.shape)} to the lower rank ${fmt(shape)}`);
  const out = shape.map((d, i) => {
    if (d === -1) {
      if (i < off) throw new Error(`expand: -1 is not allowed for the new leading dim ${i} in ${fmt(shape)}`);
      return x.shape[i - off];
    }
    return d;
  });
  checkShape('expand', out);
  for (let i = 0; i < x.ndim; i++) {
    const xd = x.shape[i];
    if (xd !== 1 && xd !== out[off + i]) {
      throw new Error(`expand: cannot expand shape ${fmt(x.shape)} to ${fmt(shape)}: dim ${i} has size ${xd}, neither 1 nor ${out[off + i]}`);
    }
  }
  if (sameShape(out, x.shape)) return view(x, out);
  header(x.dtype, x.device, out, 'expand');
  const y = new Tensor(exec(Op.EXPAND, x.handle('expand')), out, x.dtype, x.device);
  if (needsRecord(x)) record(y, 'expand', [x], (g) => [sumToShape(g, x.shape)], ([t]) => t && expand(t, out));
  return y;
}

/**
 * Elements start, start+step, ... before end along `axis`, with Python slice semantics: negative
 * start/end count from the end, out-of-range values clamp, end defaults to the dim size, step is
 * a positive integer. Empty results are allowed. A copy, except that the full range returns a view.
 */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor {
  checkTensor('slice', x);
  if (x.ndim === 0) throw new Error('slice: cannot slice a 0-d tensor');
  const ax = normAxis('slice', axis, x.ndim);
  checkInt('slice', 'start', start);
  if (end !== undefined && end !== null) checkInt('slice', 'end', end);
  if (!Number.isInteger(step) || step <= 0) throw new Error(`slice: step must be a positive integer, got ${String(step)}`);
  const n = x.shape[ax];
  const clampIdx = (v: number): number => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const s = clampIdx(start);
  const e = end === undefined || end === null ? n : clampIdx(end);
  const len = e > s ? Math.ceil((e - s) / step) : 0;
  if (len === n) return view(x, x.shape); // the full range (step 1 or n <= 1)
  const shape = x.shape.slice();
  shape[ax] = len;
  const at = header(x.dtype, x.device, shape);
  reserve('slice', at, 2 * x.ndim);
  for (let d = 0; d < x.ndim; d++) {
    A[at + 2 * d] = d === ax && len > 0 ? s : 0;
    A[at + 2 * d + 1] = d === ax ? step : 1;
  }
  const y = new Tensor(exec(Op.SLICE, x.handle('slice')), shape, x.dtype, x.device);
  if (needsRecord(x)) {
    // The adjoint puts g back at s, s+step, ...: zero padding for step 1 (or an empty slice),
    // otherwise an indexAdd into zeros (both differentiable, so any order works).
    const vjp = (g: Tensor): Tensor[] => {
      if (step === 1 || len === 0) {
        const before = len > 0 ? s : 0;
        return [padAxis(g, ax, before, n - before - len)];
      }
      const idx = arange(s, s + len * step, step, { dtype: 'int32', device: x.device });
      return [indexAdd(zeros(x.shape, { dtype: x.dtype, device: x.device }), ax, idx, g)];
    };
    record(y, 'slice', [x], vjp, ([t]) => t && slice(t, ax, s, e, step));
  }
  return y;
}

/** Zero padding of `before` and `after` elements on axis `ax` only (for the rules of slice and cat). */
function padAxis(x: Tensor, ax: number, before: number, after: number): Tensor {
  const pads = new Array<number>(2 * (x.ndim - ax)).fill(0);
  pads[2 * (x.ndim - 1 - ax)] = before;
  pads[2 * (x.ndim - 1 - ax) + 1] = after;
  return pad(x, pads);
}

/**
 * Concatenates along an existing axis (negative counts from the end). Tensors must share the
 * device and rank (at least 1) and agree in shape off `axis`. Dtypes promote as in torch.cat
 * (int32 < float32 < float64); inputs of another dtype are cast first. One tensor gives a copy.
 */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('cat: expected a non-empty array of tensors');
  tensors.forEach((t, i) => checkTensor('cat', t, `tensors[${i}]`));
  const t0 = tensors[0];
  if (t0.ndim === 0) throw new Error('cat: 0-d tensors cannot be concatenated (use stack)');
  const ax = normAxis('cat', axis, t0.ndim);
  let dtype: DType = t0.dtype;
  let total = 0;
  for (let i = 0; i < tensors.length; i++) {
    const t = tensors[i];
    if (t.device !== t0.device) throw new Error(`cat: tensor ${i} is on ${t.device} but tensor 0 is on ${t0.device}`);
    const need = t0.shape.slice();
    if (t.ndim === t0.ndim) need[ax] = t.shape[ax];
    if (!sameShape(t.shape, need)) throw new Error(`cat: tensor ${i} has shape ${fmt(t.shape)} but ${fmt(need)} is needed off axis ${ax}`);
    dtype = promoteTypes(dtype, t.dtype);
    total += t.shape[ax];
  }
  const ins = tensors.map((t) => cast(t, dtype, 'cat'));
  const shape = t0.shape.slice();
  shape[ax] = total;
  const at = header(dtype, t0.device, shape, 'cat');
  A[at] = ax;
  const out = new Tensor(exec(Op.CAT, ...ins.map((t) => t.handle('cat'))), shape, dtype, t0.device);
  if (dtype !== 'int32' && needsRecordAll(ins)) {
    const sizes = ins.map((t) => t.shape[ax]);
    const vjp = (g: Tensor, needs: readonly boolean[]): (Tensor | null)[] => {
      let off = 0;
      return sizes.map((sz, i) => {
        const from = off;
        off += sz;
        return needs[i] ? slice(g, ax, from, from + sz) : null;
      });
    };
    const jvp = (ts: readonly (Tensor | null)[]): Tensor | null => {
      if (ts.every((t) => t === null)) return null;
      return cat(ts.map((t, i) => t ?? zeros(ins[i].shape, { dtype, device: t0.device })), ax);
    };
    record(out, 'cat', ins, vjp, jvp);
  }
  // Free promotion temporaries now (release: a tape node may still hold them).
  ins.forEach((t, i) => t !== tensors[i] && release(t));
  return out;
}

/**
 * Stacks equal-shaped tensors along a new axis in [-ndim-1, ndim] (unsqueeze each, then
 * {@link cat}; dtypes promote as in cat).
 */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors) || tensors.length === 0) throw new Error('stack: expected a non-empty array of tensors');
  tensors.forEach((t, i) => checkTensor('stack', t, `tensors[${i}]`));
  const s0 = tensors[0].shape;
  const n = s0.length;
  if (!Number.isInteger(axis) || axis < -n - 1 || axis > n) throw new Error(`stack: axis ${axis} is out of range for tensors of rank ${n} (valid: ${-n - 1}..${n})`);
  tensors.forEach((t, i) => {
    if (!sameShape(t.shape, s0)) throw new Error(`stack: tensor ${i} has shape ${fmt(t.shape)} but tensor 0 has ${fmt(s0)}`);
  });
  const a = axis < 0 ? axis + n + 1 : axis;
  return cat(tensors.map((t) => unsqueeze(t, a)), a);
}

/**
 * torch.gather: out[i][j] = x[index[i][j]][j] for axis 0, x[i][index[i][j]] for axis 1, and so
 * on. `index` is int32 with x's rank and index.shape[d] <= x.shape[d] off `axis`; the output has
 * index's shape. Every index must lie in [0, x.shape[axis]) (checked natively).
 */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor {
  checkTensor('gather', x);
  checkIndex('gather', index);
  checkDevice('gather', x, index, 'index');
  if (x.ndim === 0 && index.ndim === 0) return view(gather(view(x, [1]), axis, view(index, [1])), []);
  const ax = normAxis('gather', axis, x.ndim);
  if (index.ndim !== x.ndim) throw new Error(`gather: index of shape ${fmt(index.shape)} must have the rank of x ${fmt(x.shape)}`);
  for (let d = 0; d < x.ndim; d++) {
    if (d !== ax && index.shape[d] > x.shape[d]) {
      throw new Error(`gather: index shape ${fmt(index.shape)} exceeds x shape ${fmt(x.shape)} at dim ${d} (off axis ${ax})`);
    }
  }
  const at = header(x.dtype, x.device, index.shape);
  A[at] = ax;
  const y = new Tensor(exec(Op.GATHER, x.handle('gather'), index.handle('gather')), index.shape, x.dtype, x.device);
  if (x.dtype !== 'int32' && needsRecord(x)) {
    record(
      y,
      'gather',
      [x],
      (g) => [scatterAdd(zeros(x.shape, { dtype: x.dtype, device: x.device }), ax, index, g)],
      ([t]) => t && gather(t, ax, index),
      [index],
    );
  }
  return y;
}

/**
 * x with src added at `index` along `axis` (torch.scatter_add; the adjoint of gather):
 * out = x, then out[i][index[i][j]] += src[i][j] for axis 1, and so on. index is int32; x, index
 * and src share a rank; index.shape[d] <= src.shape[d] everywhere and <= x.shape[d] off axis.
 * src must have x's dtype. Additions happen in index order, so the result is deterministic.
 */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  checkTensor('scatterAdd', x);
  checkIndex('scatterAdd', index);
  checkTensor('scatterAdd', src, 'src');
  checkDevice('scatterAdd', x, index, 'index');
  checkDevice('scatterAdd', x, src, 'src');
  if (src.dtype !== x.dtype) throw new Error(`scatterAdd: src is ${src.dtype} but x is ${x.dtype}`);
  if (x.ndim === 0 && index.ndim === 0 && src.ndim === 0) {
    return view(scatterAdd(view(x, [1]), axis, view(index, [1]), view(src, [1])), []);
  }
  const ax = normAxis('scatterAdd', axis, x.ndim);
  if (index.ndim !== x.ndim || src.ndim !== x.ndim) {
    throw new Error(`scatterAdd: x ${fmt(x.shape)}, index ${fmt(index.shape)} and src ${fmt(src.shape)} must have the same rank`);
  }
  for (let d = 0; d < x.ndim; d++) {
    if (index.shape[d] > src.shape[d] || (d !== ax && index.shape[d] > x.shape[d])) {
      throw new Error(`scatterAdd: index shape ${fmt(index.shape)} exceeds src ${fmt(src.shape)} or x ${fmt(x.shape)} (off axis ${ax}) at dim ${d}`);
    }
  }
  const at = header(x.dtype, x.device, x.shape);
  A[at] = ax;
  const y = new Tensor(exec(Op.SCATTER_ADD, x.handle('scatterAdd'), index.handle('scatterAdd'), src.handle('scatterAdd')), x.shape, x.dtype, x.device);
  if (x.dtype !== 'int32' && needsRecord(x, src)) {
    // Only src's leading index.shape block is read: its gradient is zero outside it.
    const srcPads: number[] = [];
    for (let d = src.ndim - 1; d >= 0; d--) srcPads.push(0, src.shape[d] - index.shape[d]);
    const cropped = srcPads.some((v) => v !== 0);
    const srcGrad = (g: Tensor): Tensor => {
      const gs = gather(g, ax, index);
      return cropped ? pad(gs, srcPads) : gs;
    };
    record(
      y,
      'scatterAdd',
      [x, src],
      (g, needs) => [needs[0] ? g : null, needs[1] ? srcGrad(g) : null],
      ([tx, ts]) => {
        if (ts === null) return tx;
        return scatterAdd(tx ?? zeros(x.shape, { dtype: x.dtype, device: x.device }), ax, index, ts);
      },
      [index],
    );
  }
  return y;
}

function vectorIndex(op: string, index: Tensor): Tensor {
  if (index.ndim === 0) return view(index, [1]);
  if (index.ndim !== 1) throw new Error(`${op}: index must be 1-D, got shape ${fmt(index.shape)}`);
  return index;
}

/**
 * Picks slices along `axis` by an int32 index (1-D, or 0-d as one entry): the output is x's
 * shape with shape[axis] = len(index). Every index must lie in [0, x.shape[axis]).
 */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor {
  checkTensor('indexSelect', x);
  checkIndex('indexSelect', index);
  checkDevice('indexSelect', x, index, 'index');
  if (x.ndim === 0) throw new Error('indexSelect: x must have at least one dim, got shape []');
  const ax = normAxis('indexSelect', axis, x.ndim);
  const ix = vectorIndex('indexSelect', index);
  const shape = x.shape.slice();
  shape[ax] = ix.shape[0];
  const at = header(x.dtype, x.device, shape);
  A[at] = ax;
  const y = new Tensor(exec(Op.INDEX_SELECT, x.handle('indexSelect'), ix.handle('indexSelect')), shape, x.dtype, x.device);
  if (x.dtype !== 'int32' && needsRecord(x)) {
    record(
      y,
      'indexSelect',
      [x],
      (g) => [indexAdd(zeros(x.shape, { dtype: x.dtype, device: x.device }), ax, ix, g)],
      ([t]) => t && indexSelect(t, ax, ix),
      [ix],
    );
  }
  return y;
}

/**
 * x with src's slices added at `index` along `axis` (torch.index_add; the adjoint of
 * indexSelect): out[.., index[k], ..] += src[.., k, ..]. index is int32 (1-D, or 0-d); src has
 * x's dtype and x's shape with shape[axis] = len(index). Repeated indices accumulate, in order.
 */
export function indexAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor {
  checkTensor('indexAdd', x);
  checkIndex('indexAdd', index);
  checkTensor('indexAdd', src, 'src');
  checkDevice('indexAdd', x, index, 'index');
  checkDevice('indexAdd', x, src, 'src');
  if (src.dtype !== x.dtype) throw new Error(`indexAdd: src is ${src.dtype} but x is ${x.dtype}`);
  if (x.ndim === 0) throw new Error('indexAdd: x must have at least one dim, got shape []');
  const ax = normAxis('indexAdd', axis, x.ndim);
  const ix = vectorIndex('indexAdd', index);
  const need = x.shape.slice();
  need[ax] = ix.shape[0];
  if (!sameShape(src.shape, need)) throw new Error(`indexAdd: src has shape ${fmt(src.shape)} but ${fmt(need)} is needed (x ${fmt(x.shape)}, ${ix.shape[0]} indices on axis ${ax})`);
  const at = header(x.dtype, x.device, x.shape);
  A[at] = ax;
  const y = new Tensor(exec(Op.INDEX_ADD, x.handle('indexAdd'), ix.handle('indexAdd'), src.handle('indexAdd')), x.shape, x.dtype, x.device);
  if (x.dtype !== 'int32' && needsRecord(x, src)) {
    record(
      y,
      'indexAdd',
      [x, src],
      (g, needs) => [needs[0] ? g : null, needs[1] ? indexSelect(g, ax, ix) : null],
      ([tx, ts]) => {
        if (ts === null) return tx;
        return indexAdd(tx ?? zeros(x.shape, { dtype: x.dtype, device: x.device }), ax, ix, ts);
      },
      [ix],
    );
  }
  return y;
}

/**
 * One-hot encoding of int32 indices into a new last axis of `numClasses` (a positive integer):
 * output shape [...indices.shape, numClasses], dtype `opts.dtype` (float32 by default). Every
 * index must lie in [0, numClasses).
 */
export function oneHot(indices: Tensor, numClasses: number, opts: { dtype?: 'float32' | 'float64' | 'int32' } = {}): Tensor {
  checkTensor('oneHot', indices, 'indices');
  if (indices.dtype !== 'int32') throw new Error(`oneHot: indices must be int32, got ${indices.dtype}`);
  if (!Number.isInteger(numClasses) || numClasses <= 0) throw new Error(`oneHot: numClasses must be a positive integer, got ${String(numClasses)}`);
  checkOptions('oneHot', opts);
  const dtype = opts?.dtype ?? 'float32';
  if (!isDType(dtype)) throw new Error(`oneHot: dtype must be float32, float64 or int32, got ${String(dtype)}`);
  const shape = [...indices.shape, numClasses];
  checkShape('oneHot', shape);
  const at = header(dtype, indices.device, shape, 'oneHot');
  A[at] = numClasses;
  return new Tensor(exec(Op.ONE_HOT, indices.handle('oneHot')), shape, dtype, indices.device);
}

/**
 * Constant padding in torch.nn.functional.pad order: pairs from the last dim backwards,
 * [lastLeft, lastRight, prevLeft, prevRight, ...]; pads.length is even and at most 2 * ndim, and
 * every pad a non-negative integer. `value` fills the border (truncated toward zero for int32).
 */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor {
  checkTensor('pad', x);
  if (!Array.isArray(pads)) throw new Error(`pad: pads must be an array, got ${String(pads)}`);
  if (pads.length % 2 !== 0 || pads.length > 2 * x.ndim) {
    throw new Error(`pad: pads [${pads.join(',')}] must have an even length of at most ${2 * x.ndim} for shape ${fmt(x.shape)}`);
  }
  for (const p of pads) {
    if (!Number.isInteger(p) || p < 0) throw new Error(`pad: pads [${pads.join(',')}] must be non-negative integers`);
  }
  if (typeof value !== 'number') throw new Error(`pad: value must be a number, got ${String(value)}`);
  const n = x.ndim;
  const before = new Array<number>(n).fill(0);
  const after = new Array<number>(n).fill(0);
  for (let k = 0; 2 * k < pads.length; k++) {
    before[n - 1 - k] = pads[2 * k];
    after[n - 1 - k] = pads[2 * k + 1];
  }
  const shape = x.shape.map((d, i) => d + before[i] + after[i]);
  const at = header(x.dtype, x.device, shape, 'pad');
  reserve('pad', at, 2 * n + 1);
  for (let d = 0; d < n; d++) {
    A[at + 2 * d] = before[d];
    A[at + 2 * d + 1] = after[d];
  }
  A[at + 2 * n] = value;
  const y = new Tensor(exec(Op.PAD, x.handle('pad')), shape, x.dtype, x.device);
  if (x.dtype !== 'int32' && needsRecord(x)) {
    // The border is constant: the gradient is g's interior; the tangent is padded with zeros.
    const vjp = (g: Tensor): Tensor[] => {
      let gx = g;
      for (let d = 0; d < n; d++) if (before[d] !== 0 || after[d] !== 0) gx = slice(gx, d, before[d], before[d] + x.shape[d]);
      return [gx];
    };
    record(y, 'pad', [x], vjp, ([t]) => t && pad(t, pads, 0));
  }
  return y;
}
