/** Reductions over any set of axes, with keepdim. */
import { Tensor } from '../tensor/tensor.js';

const todo = (name: string): never => { throw new Error(`${name}: not implemented yet`); };

/** Sum over `axis` (all axes when omitted). */
export function sum(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return todo('sum'); }
/** Mean over `axis` (all axes when omitted). */
export function mean(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return todo('mean'); }
/** Maximum over `axis` (all axes when omitted); NaN propagates. */
export function max(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return todo('max'); }
/** Minimum over `axis` (all axes when omitted); NaN propagates. */
export function min(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return todo('min'); }
/** Index (int32) of the first maximum along `axis` (of the flattened tensor when omitted). */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor { return todo('argmax'); }
/** `log(sum(exp(x)))` over `axis`, computed stably. */
export function logsumexp(x: Tensor, axis?: number | readonly number[], keepdim = false): Tensor { return todo('logsumexp'); }
