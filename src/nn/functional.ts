/** `mg.nn.functional`: neural-network ops (PyTorch layouts: NCHW images, linear weight [out, in]). */
export { conv2d, type Conv2dOptions } from '../ops/conv.js';
export { maxPool2d, avgPool2d, type Pool2dOptions } from '../ops/pool.js';
export { softmax, logSoftmax } from '../ops/softmax.js';
