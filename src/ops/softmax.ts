/** Softmax and log-softmax along one axis, computed stably in one native pass. */
import { Tensor } from '../tensor/tensor.js';

/** `exp(x) / sum(exp(x))` along `axis` (the last by default). */
export function softmax(x: Tensor, axis = -1): Tensor { throw new Error('softmax: not implemented yet'); }
/** `x - logsumexp(x)` along `axis` (the last by default). */
export function logSoftmax(x: Tensor, axis = -1): Tensor { throw new Error('logSoftmax: not implemented yet'); }
