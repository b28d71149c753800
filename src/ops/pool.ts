/** Max and average pooling over NCHW tensors, and the kernels their gradients need. */
import { Tensor } from '../tensor/tensor.js';

export interface Pool2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  ceilMode?: boolean;
  /** avgPool2d: count padded zeros in the divisor (default true, like PyTorch). */
  countIncludePad?: boolean;
}

/** Max pooling; returns the values. */
export function maxPool2d(x: Tensor, kernelSize: number | [number, number], opts: Pool2dOptions = {}): Tensor { throw new Error('maxPool2d: not implemented yet'); }
/** Max pooling returning [values, indices] (int32 flat indices into each input plane). */
export function maxPool2dWithIndices(x: Tensor, kernelSize: number | [number, number], opts: Pool2dOptions = {}): [Tensor, Tensor] { throw new Error('maxPool2d: not implemented yet'); }
/** Scatters `gradOut` to the argmax positions: the gradient of max pooling. */
export function maxPool2dBackward(gradOut: Tensor, indices: Tensor, inputShape: readonly number[]): Tensor { throw new Error('maxPool2dBackward: not implemented yet'); }
/** Average pooling. */
export function avgPool2d(x: Tensor, kernelSize: number | [number, number], opts: Pool2dOptions = {}): Tensor { throw new Error('avgPool2d: not implemented yet'); }
/** The gradient of average pooling. */
export function avgPool2dBackward(gradOut: Tensor, inputShape: readonly number[], kernelSize: number | [number, number], opts: Pool2dOptions = {}): Tensor { throw new Error('avgPool2dBackward: not implemented yet'); }
