/**
 * The one place that reduces a broadcast gradient back to its operand's shape (ARCHITECTURE.md
 * rule 4): rules call `sumToShape(g, x.shape)` and never sum broadcast axes by hand.
 */
import { reshape, expand } from './movement.js';
import { sum } from './reduce.js';
import { fmt, sameShape } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/** Sums `g` over the axes along which `shape` was broadcast to `g.shape`. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new Error(`sumToShape: gradient ${fmt(g.shape)} has fewer dims than ${fmt(shape)}`);
  const axes: number[] = [];
  for (let d = 0; d < g.ndim; d++) if (d < lead || (shape[d - lead] === 1 && g.shape[d] !== 1)) axes.push(d);
  const s = sum(g, axes, true);
  return s.ndim === shape.length && sameShape(s.shape, shape) ? s : reshape(s, shape);
}

/** Broadcasts a tangent `t` to `shape` (forward-mode counterpart of sumToShape). */
export function broadcastTo(t: Tensor, shape: readonly number[]): Tensor {
  return sameShape(t.shape, shape) ? t : expand(t, shape);
}
