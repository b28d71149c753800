/** Movement ops: reshape (a view), and the copying ops permute, expand, slice, cat, gather, pad... */
import { exec, header } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { checkShape, fmt, numel } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

const todo = (name: string): never => { throw new Error(`${name}: not implemented yet`); };

/** The same data with another shape (one entry may be -1). Shares the buffer: no copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
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
  const s = out === shape ? shape.slice() : out;
  header(x.dtype, x.device, s);
  return new Tensor(exec(Op.RESHAPE, x.handle('reshape')), s, x.dtype, x.device);
}
/** Merges dims startDim..endDim into one. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor { return todo('flatten'); }
/** Removes size-1 dims (all of them, or those in `axis`). */
export function squeeze(x: Tensor, axis?: number | readonly number[]): Tensor { return todo('squeeze'); }
/** Inserts a size-1 dim at `axis`. */
export function unsqueeze(x: Tensor, axis: number): Tensor { return todo('unsqueeze'); }
/** Swaps two dims (the last two by default). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor { return todo('transpose'); }
/** Reorders dims: output dim i is input dim perm[i]. */
export function permute(x: Tensor, perm: readonly number[]): Tensor { return todo('permute'); }
/** Broadcasts to `shape` (-1 keeps a dim), materialised. */
export function expand(x: Tensor, shape: readonly number[]): Tensor { return todo('expand'); }
/** Elements start, start+step, ... before end along `axis` (negative indices count from the end). */
export function slice(x: Tensor, axis: number, start: number, end?: number, step = 1): Tensor { return todo('slice'); }
/** Concatenates along an existing axis. */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor { return todo('cat'); }
/** Stacks along a new axis. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor { return todo('stack'); }
/** torch.gather: out[i][j] = x[index[i][j]][j] for axis 0, and so on. */
export function gather(x: Tensor, axis: number, index: Tensor): Tensor { return todo('gather'); }
/** x with src added at `index` along `axis` (the adjoint of gather). */
export function scatterAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor { return todo('scatterAdd'); }
/** Picks slices along `axis` by a 1-D int32 index. */
export function indexSelect(x: Tensor, axis: number, index: Tensor): Tensor { return todo('indexSelect'); }
/** x with src's slices added at `index` along `axis` (the adjoint of indexSelect). */
export function indexAdd(x: Tensor, axis: number, index: Tensor, src: Tensor): Tensor { return todo('indexAdd'); }
/** One-hot encoding of int32 indices into a new last axis of `numClasses`. */
export function oneHot(indices: Tensor, numClasses: number, opts: { dtype?: 'float32' | 'float64' | 'int32' } = {}): Tensor { return todo('oneHot'); }
/** Constant padding, torch.nn.functional.pad order: [lastLeft, lastRight, prevLeft, prevRight, ...]. */
export function pad(x: Tensor, pads: readonly number[], value = 0): Tensor { return todo('pad'); }
