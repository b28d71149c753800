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
import * as creation from './tensor/creation.js';
import * as ew from './ops/elementwise.js';
import * as red from './ops/reduce.js';
import * as mm from './ops/matmul.js';
import * as mv from './ops/movement.js';
import * as conv from './ops/conv.js';
import * as pool from './ops/pool.js';
import * as bn from './ops/batchnorm.js';
import * as inplace from './ops/inplace.js';
import * as engine from './autograd/engine.js';
import { publicOp } from './tensor/public_op.js';

// Note [Public op names] (tensor/public_op.ts): each public function without a user callback is
// exported under its name, so an error inside it names the op the user called.
export type { TensorOptions } from './tensor/creation.js';
export const tensor = publicOp('tensor', creation.tensor);
export const zeros = publicOp('zeros', creation.zeros);
export const ones = publicOp('ones', creation.ones);
export const full = publicOp('full', creation.full);
export const zerosLike = publicOp('zerosLike', creation.zerosLike);
export const onesLike = publicOp('onesLike', creation.onesLike);
export const fullLike = publicOp('fullLike', creation.fullLike);
export const arange = publicOp('arange', creation.arange);
export const linspace = publicOp('linspace', creation.linspace);
export const eye = publicOp('eye', creation.eye);
export const rand = publicOp('rand', creation.rand);
export const randn = publicOp('randn', creation.randn);
export const randint = publicOp('randint', creation.randint);
export const manualSeed = publicOp('manualSeed', creation.manualSeed);
export { tidy, memory, resetPeakMemory, releaseCachedMemory, type MemoryReport, type DeviceMemoryReport, type CudaMemoryReport } from './tensor/memory.js';
export const add = publicOp('add', ew.add);
export const sub = publicOp('sub', ew.sub);
export const mul = publicOp('mul', ew.mul);
export const div = publicOp('div', ew.div);
export const pow = publicOp('pow', ew.pow);
export const maximum = publicOp('maximum', ew.maximum);
export const minimum = publicOp('minimum', ew.minimum);
export const eq = publicOp('eq', ew.eq);
export const ne = publicOp('ne', ew.ne);
export const lt = publicOp('lt', ew.lt);
export const le = publicOp('le', ew.le);
export const gt = publicOp('gt', ew.gt);
export const ge = publicOp('ge', ew.ge);
export const neg = publicOp('neg', ew.neg);
export const exp = publicOp('exp', ew.exp);
export const log = publicOp('log', ew.log);
export const sin = publicOp('sin', ew.sin);
export const cos = publicOp('cos', ew.cos);
export const tanh = publicOp('tanh', ew.tanh);
export const sigmoid = publicOp('sigmoid', ew.sigmoid);
export const relu = publicOp('relu', ew.relu);
export const abs = publicOp('abs', ew.abs);
export const sqrt = publicOp('sqrt', ew.sqrt);
export const square = publicOp('square', ew.square);
export const sign = publicOp('sign', ew.sign);
export const clamp = publicOp('clamp', ew.clamp);
export const where = publicOp('where', ew.where);
export const sum = publicOp('sum', red.sum);
export const mean = publicOp('mean', red.mean);
export const max = publicOp('max', red.max);
export const min = publicOp('min', red.min);
export const argmax = publicOp('argmax', red.argmax);
export const logsumexp = publicOp('logsumexp', red.logsumexp);
export const matmul = publicOp('matmul', mm.matmul);
export const reshape = publicOp('reshape', mv.reshape);
export const flatten = publicOp('flatten', mv.flatten);
export const squeeze = publicOp('squeeze', mv.squeeze);
export const unsqueeze = publicOp('unsqueeze', mv.unsqueeze);
export const transpose = publicOp('transpose', mv.transpose);
export const permute = publicOp('permute', mv.permute);
export const expand = publicOp('expand', mv.expand);
export const slice = publicOp('slice', mv.slice);
export const cat = publicOp('cat', mv.cat);
export const stack = publicOp('stack', mv.stack);
export const gather = publicOp('gather', mv.gather);
export const scatterAdd = publicOp('scatterAdd', mv.scatterAdd);
export const indexSelect = publicOp('indexSelect', mv.indexSelect);
export const indexAdd = publicOp('indexAdd', mv.indexAdd);
export const oneHot = publicOp('oneHot', mv.oneHot);
export const pad = publicOp('pad', mv.pad);
export const conv2dInputGrad = publicOp('conv2dInputGrad', conv.conv2dInputGrad);
export const conv2dWeightGrad = publicOp('conv2dWeightGrad', conv.conv2dWeightGrad);
export const maxPool2dWithIndices = publicOp('maxPool2dWithIndices', pool.maxPool2dWithIndices);
export const maxPool2dBackward = publicOp('maxPool2dBackward', pool.maxPool2dBackward);
export const avgPool2dBackward = publicOp('avgPool2dBackward', pool.avgPool2dBackward);
export const batchNormTrain = publicOp('batchNormTrain', bn.batchNormTrain);
export const batchNormBackward = publicOp('batchNormBackward', bn.batchNormBackward);
export const batchNormWeightGrad = publicOp('batchNormWeightGrad', bn.batchNormWeightGrad);
export const copy_ = publicOp('copy_', inplace.copy_);
export const grad = publicOp('grad', engine.grad);
export { noGrad, enableGrad, isGradEnabled, detectAnomaly, type GradOptions } from './autograd/engine.js';
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
