/**
 * The one in-place write (ARCHITECTURE.md rule 3): optimizers, running statistics and Reptile's
 * interpolation overwrite a tensor's buffer with new values. Everything else is immutable.
 */
import { execVoid, header } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { cast } from './convert.js';
import { describeValue, fmt, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * Overwrites `dst`'s values with `src`'s (same shape; `src` is cast to `dst`'s dtype). Views that
 * share `dst`'s buffer (reshapes, detach) see the change. Returns `dst`.
 */
export function copy_(dst: Tensor, src: Tensor): Tensor {
  if (!(dst instanceof Tensor)) throw new Error(`copy_: the destination must be a tensor, got ${describeValue(dst)}`);
  if (!(src instanceof Tensor)) throw new Error(`copy_: the source must be a tensor, got ${describeValue(src)}`);
  dst.handle('copy_');
  src.handle('copy_');
  if (!sameShape(dst.shape, src.shape)) throw new Error(`copy_: source shape ${fmt(src.shape)} differs from destination shape ${fmt(dst.shape)}`);
  if (dst.device !== src.device) throw new Error(`copy_: source is on ${src.device} but destination is on ${dst.device}`);
  const s = src.dtype === dst.dtype ? src : cast(src, dst.dtype);
  header(dst.dtype, dst.device, dst.shape);
  execVoid(Op.ASSIGN, dst.handle('copy_'), s.handle('copy_'));
  if (s !== src) s.dispose();
  return dst;
}
