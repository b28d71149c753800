/** Matrix products: 2-D, batched, with broadcast batch dims (numpy.matmul semantics). */
import { Tensor } from '../tensor/tensor.js';

/** `a @ b` with NumPy matmul semantics (1-D operands are promoted and the added dim removed). */
export function matmul(a: Tensor, b: Tensor): Tensor { throw new Error('matmul: not implemented yet'); }
