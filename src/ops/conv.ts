/** 2-D convolution (NCHW, weight [out, in/groups, kh, kw]) and the kernels its gradients need. */
import { Tensor } from '../tensor/tensor.js';

export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  dilation?: number | [number, number];
  groups?: number;
}

/** Cross-correlation as torch.nn.functional.conv2d (bias optional). */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor { throw new Error('conv2d: not implemented yet'); }
/** The gradient of conv2d with respect to its input: a transposed convolution of `gradOut`. */
export function conv2dInputGrad(gradOut: Tensor, weight: Tensor, inputShape: readonly number[], opts: Conv2dOptions = {}): Tensor { throw new Error('conv2dInputGrad: not implemented yet'); }
/** The gradient of conv2d with respect to its weight. */
export function conv2dWeightGrad(gradOut: Tensor, x: Tensor, weightShape: readonly number[], opts: Conv2dOptions = {}): Tensor { throw new Error('conv2dWeightGrad: not implemented yet'); }
