/**
 * metagrad: tensors on a C++/CUDA addon, reverse- and forward-mode autodiff to any order, and
 * optimization-based meta-learning.
 *
 * ```ts
 * import * as mg from 'metagrad';
 * const x = mg.tensor([[1, 2], [3, 4]]);
 * x.matmul(x).sum().item(); // 54
 * ```
 */
export { Tensor, keep, type NestedArray, type TensorLike } from './tensor/tensor.js';
export type { DType, Device } from './tensor/dtype.js';
export {
  tensor, zeros, ones, full, zerosLike, onesLike, fullLike, arange, linspace, eye,
  rand, randn, randint, manualSeed, type TensorOptions,
} from './tensor/creation.js';
export { tidy, memory, resetPeakMemory, releaseCachedMemory, type MemoryReport, type DeviceMemoryReport, type CudaMemoryReport } from './tensor/memory.js';
export {
  add, sub, mul, div, pow, maximum, minimum, eq, ne, lt, le, gt, ge,
  neg, exp, log, sin, cos, tanh, sigmoid, relu, abs, sqrt, square, sign, clamp, where,
} from './ops/elementwise.js';
export { sum, mean, max, min, argmax, logsumexp } from './ops/reduce.js';
export { matmul } from './ops/matmul.js';
export {
  reshape, flatten, squeeze, unsqueeze, transpose, permute, expand, slice, cat, stack,
  gather, scatterAdd, indexSelect, indexAdd, oneHot, pad,
} from './ops/movement.js';
export { conv2dInputGrad, conv2dWeightGrad } from './ops/conv.js';
export { maxPool2dWithIndices, maxPool2dBackward, avgPool2dBackward } from './ops/pool.js';
export { copy_ } from './ops/inplace.js';
export { grad, noGrad, enableGrad, isGradEnabled, detectAnomaly, type GradOptions } from './autograd/engine.js';
export { jvp } from './autograd/forward.js';
export { vjp, valueAndGrad, hvp, vhp, hessian, jacobian, type HvpOptions, type JacobianOptions } from './autograd/functional.js';
export { gradcheck, gradgradcheck, type GradcheckOptions } from './autograd/gradcheck.js';
export { checkpoint } from './autograd/checkpoint.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as io from './io/index.js';
export * as meta from './meta/index.js';
export * as data from './data/index.js';
export * as cuda from './cuda.js';
export * as backend from './backend/index.js';
export * as distributed from './distributed/index.js';
