// Op-table rows for the nn ops (see Note [Op table] in ../ops.test.ts). Shapes are tiny: the
// numerical Jacobian costs two evaluations per input element and gradgradcheck squares that.
import * as mg from '../../../src/index.js';
import { randomTensor } from '../../helpers.js';
import { dev, type OpCase } from './types.js';

const F = mg.nn.functional;
const r = (shape: number[], seed: number, lo = -2, hi = 2) => randomTensor(shape, 'float64', seed, lo, hi).t;
const pos = (shape: number[], seed: number) => r(shape, seed, 0.1, 1);
const idx = (values: number[], shape: number[]) => mg.tensor(Int32Array.from(values), { shape, dtype: 'int32', device: dev() });

/** Indices of max pooling over `x` (computed on the rows' fixed inputs, as a constant). */
const poolIndices = (x: mg.Tensor, k: number | [number, number], opts: mg.nn.functional.Pool2dOptions = {}) =>
  mg.noGrad(() => mg.maxPool2dWithIndices(x, k, opts)[1]);

// Fixed inputs of the pooling-backward rows (the indices come from them).
const xPool = r([1, 2, 4, 4], 40);
const iPool = poolIndices(xPool, 2, { stride: 1 }); // overlapping windows: scatter-add accumulates
const xPoolPad = r([1, 1, 5, 5], 41);
const iPoolPad = poolIndices(xPoolPad, 3, { stride: 2, padding: 1 });

export const nnCases: OpCase[] = [
  // conv2d
  { name: 'conv2d [1,2,4,4] * [3,2,2,2]', fn: (x, w) => F.conv2d(x, w), inputs: () => [r([1, 2, 4, 4], 1), r([3, 2, 2, 2], 2)] },
  { name: 'conv2d with bias', fn: (x, w, b) => F.conv2d(x, w, b), inputs: () => [r([1, 2, 3, 3], 3), r([2, 2, 2, 2], 4), r([2], 5)] },
  {
    name: 'conv2d stride 2 padding 1, batch 2',
    fn: (x, w, b) => F.conv2d(x, w, b, { stride: 2, padding: 1 }),
    inputs: () => [r([2, 1, 4, 3], 6), r([2, 1, 2, 2], 7), r([2], 8)],
  },
  {
    name: 'conv2d stride [2,1] padding [0,1] (input rows left unused)',
    fn: (x, w) => F.conv2d(x, w, null, { stride: [2, 1], padding: [0, 1] }),
    inputs: () => [r([1, 1, 4, 3], 9), r([2, 1, 1, 2], 10)],
  },
  { name: 'conv2d dilation 2', fn: (x, w) => F.conv2d(x, w, null, { dilation: 2 }), inputs: () => [r([1, 1, 4, 4], 11), r([2, 1, 2, 2], 12)] },
  {
    name: 'conv2d groups 2 with bias',
    fn: (x, w, b) => F.conv2d(x, w, b, { groups: 2, padding: 1 }),
    inputs: () => [r([1, 4, 2, 2], 13), r([2, 2, 2, 2], 14), r([2], 15)],
  },
  { name: 'conv2d unbatched [2,3,3]', fn: (x, w) => F.conv2d(x, w), inputs: () => [r([2, 3, 3], 16), r([1, 2, 2, 2], 17)] },
  {
    name: 'conv2d twice (x through two layers)',
    fn: (x, w) => F.conv2d(F.conv2d(x, w, null, { padding: 1 }).tanh(), w),
    inputs: () => [r([1, 2, 3, 3], 18, -1, 1), r([2, 2, 2, 2], 19, -1, 1)],
  },
  // conv2d's gradient kernels as functions of both arguments
  {
    name: 'conv2dInputGrad(g, w)',
    fn: (g, w) => mg.conv2dInputGrad(g, w, [1, 2, 4, 4], {}),
    inputs: () => [r([1, 3, 3, 3], 20), r([3, 2, 2, 2], 21)],
  },
  {
    name: 'conv2dInputGrad(g, w) stride 2 padding 1 dilation 2 groups 2',
    fn: (g, w) => mg.conv2dInputGrad(g, w, [1, 2, 5, 5], { stride: 2, padding: 1, dilation: 2, groups: 2 }),
    inputs: () => [r([1, 2, 3, 3], 22), r([2, 1, 2, 2], 23)],
  },
  {
    name: 'conv2dWeightGrad(g, x)',
    fn: (g, x) => mg.conv2dWeightGrad(g, x, [3, 2, 2, 2], {}),
    inputs: () => [r([1, 3, 3, 3], 24), r([1, 2, 4, 4], 25)],
  },
  {
    name: 'conv2dWeightGrad(g, x) stride 2 padding 1 groups 2, batch 2',
    fn: (g, x) => mg.conv2dWeightGrad(g, x, [2, 1, 2, 2], { stride: 2, padding: 1, groups: 2 }),
    inputs: () => [r([2, 2, 2, 2], 26), r([2, 2, 3, 3], 27)],
  },
  // pooling
  { name: 'maxPool2d 2x2 (distinct values)', fn: (x) => F.maxPool2d(x, 2), inputs: () => [r([1, 2, 4, 4], 30)] },
  { name: 'maxPool2d 2x2 stride 1 (overlapping windows)', fn: (x) => F.maxPool2d(x, 2, { stride: 1 }), inputs: () => [r([1, 1, 3, 4], 31)] },
  {
    name: 'maxPool2d 3x3 stride 2 padding 1 ceilMode',
    fn: (x) => F.maxPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
    inputs: () => [r([1, 1, 4, 4], 32)],
  },
  { name: 'maxPool2d dilation 2, unbatched', fn: (x) => F.maxPool2d(x, 2, { dilation: 2, stride: 1 }), inputs: () => [r([1, 4, 4], 33)] },
  { name: 'maxPool2d then square (second order through the pool)', fn: (x) => F.maxPool2d(x.square(), 2), inputs: () => [r([1, 1, 4, 4], 34)] },
  {
    name: 'maxPool2dWithIndices values',
    fn: (x) => mg.maxPool2dWithIndices(x, [2, 1])[0].mul(x.sum()),
    inputs: () => [r([1, 1, 4, 2], 35)],
  },
  { name: 'maxPool2dBackward(g) overlapping windows', fn: (g) => mg.maxPool2dBackward(g, iPool.to(dev()), [1, 2, 4, 4]), inputs: () => [r([1, 2, 3, 3], 42)] },
  { name: 'maxPool2dBackward(g) padding', fn: (g) => mg.maxPool2dBackward(g, iPoolPad.to(dev()), [1, 1, 5, 5]), inputs: () => [r([1, 1, 3, 3], 43)] },
  { name: 'avgPool2d 2x2', fn: (x) => F.avgPool2d(x, 2), inputs: () => [r([1, 2, 4, 4], 50)] },
  {
    name: 'avgPool2d 3x3 stride 2 padding 1 ceilMode',
    fn: (x) => F.avgPool2d(x, 3, { stride: 2, padding: 1, ceilMode: true }),
    inputs: () => [r([1, 1, 4, 4], 51)],
  },
  {
    name: 'avgPool2d padding 1 countIncludePad false, unbatched',
    fn: (x) => F.avgPool2d(x, [2, 3], { stride: 1, padding: [1, 1], countIncludePad: false }),
    inputs: () => [r([1, 3, 3], 52)],
  },
  {
    name: 'avgPool2dBackward(g) stride 2 padding 1 ceilMode countIncludePad false',
    fn: (g) => mg.avgPool2dBackward(g, [1, 1, 4, 4], 3, { stride: 2, padding: 1, ceilMode: true, countIncludePad: false }),
    inputs: () => [r([1, 1, 3, 3], 53)],
  },
  { name: 'avgPool2dBackward(g) 2x2', fn: (g) => mg.avgPool2dBackward(g, [1, 2, 4, 4], 2), inputs: () => [r([1, 2, 2, 2], 54)] },
  { name: 'avgPool2d then square', fn: (x) => F.avgPool2d(x.square(), 2, { stride: 1 }), inputs: () => [r([1, 1, 3, 3], 55)] },
  // softmax / logSoftmax
  { name: 'softmax last axis', fn: (x) => F.softmax(x), inputs: () => [r([2, 3], 60)] },
  { name: 'softmax axis 0', fn: (x) => F.softmax(x, 0), inputs: () => [r([3, 2], 61)] },
  { name: 'softmax middle axis of [2,3,2]', fn: (x) => F.softmax(x, 1), inputs: () => [r([2, 3, 2], 62)] },
  { name: 'logSoftmax last axis', fn: (x) => F.logSoftmax(x), inputs: () => [r([2, 4], 63)] },
  { name: 'logSoftmax axis -3 of [2,2,3]', fn: (x) => F.logSoftmax(x, -3), inputs: () => [r([2, 2, 3], 64)] },
  { name: 'logSoftmax 1-D', fn: (x) => F.logSoftmax(x, 0), inputs: () => [r([5], 65)] },
  // losses and composites
  {
    name: 'crossEntropy probabilities (mean)',
    fn: (x, p) => F.crossEntropy(x, p),
    inputs: () => [r([2, 3], 70), F.softmax(r([2, 3], 71))],
  },
  {
    name: "crossEntropy probabilities [N,C,d] label smoothing 0.2 'none'",
    fn: (x, p) => F.crossEntropy(x, p, { labelSmoothing: 0.2, reduction: 'none' }),
    inputs: () => [r([2, 3, 2], 72), F.softmax(r([2, 3, 2], 73), 1)],
  },
  { name: "mseLoss 'mean'", fn: (a, b) => F.mseLoss(a, b), inputs: () => [r([2, 3], 80), r([2, 3], 81)] },
  { name: "mseLoss broadcast 'sum'", fn: (a, b) => F.mseLoss(a, b, { reduction: 'sum' }), inputs: () => [r([2, 3], 82), r([3], 83)] },
  { name: "mseLoss 'none'", fn: (a, b) => F.mseLoss(a, b, { reduction: 'none' }), inputs: () => [r([4], 84), r([4], 85)] },
  {
    name: 'batchNorm training [3,2] (x only)',
    fn: (x) => F.batchNorm(x, null, null, { training: true }),
    inputs: () => [r([3, 2], 90)],
  },
  {
    name: 'batchNorm training [2,2,2,1] with weight and bias',
    fn: (x, w, b) => F.batchNorm(x, null, null, { training: true, weight: w, bias: b, eps: 1e-3 }),
    inputs: () => [r([2, 2, 2, 1], 91), pos([2], 92), r([2], 93)],
  },
  {
    name: 'conv2d -> batchNorm -> relu-free tanh -> avgPool2d -> logSoftmax',
    fn: (x, w) => F.logSoftmax(F.avgPool2d(F.batchNorm(F.conv2d(x, w, null, { padding: 1 }), null, null, { training: true }).tanh(), 2).reshape([2, -1]), 1),
    inputs: () => [r([2, 1, 3, 3], 94, -1, 1), r([2, 1, 2, 2], 95, -1, 1)],
  },
  // The fused batch-norm primitives as functions of all their arguments (their rules are written
  // in the same primitives, so gradgradcheck here checks third-order rules of batchNorm).
  {
    name: 'batchNormTrain(x, w, b) [3,2,2] eps 1e-3',
    fn: (x, w, b) => mg.batchNormTrain(x, w, b, 1e-3),
    inputs: () => [r([3, 2, 2], 96), pos([2], 97), r([2], 98)],
  },
  {
    name: 'batchNormBackward(u, x, w) [2,3,2]',
    fn: (u, x, w) => mg.batchNormBackward(u, x, w, 1e-3),
    inputs: () => [r([2, 3, 2], 110), r([2, 3, 2], 111), pos([3], 112)],
  },
  {
    name: 'batchNormBackward(u, x) without weight [4,2]',
    fn: (u, x) => mg.batchNormBackward(u, x, null, 1e-3),
    inputs: () => [r([4, 2], 113), r([4, 2], 114)],
  },
  {
    name: 'batchNormWeightGrad(dy, x) [2,2,3]',
    fn: (dy, x) => mg.batchNormWeightGrad(dy, x, 1e-3),
    inputs: () => [r([2, 2, 3], 115), r([2, 2, 3], 116)],
  },
  {
    name: 'conv2d 3x3 pad 1 -> batchNorm (weight, bias) -> maxPool2d -> tanh',
    fn: (x, w, g, b) => F.maxPool2d(F.batchNorm(F.conv2d(x, w, null, { padding: 1 }), null, null, { training: true, weight: g, bias: b }), 2).tanh(),
    inputs: () => [r([2, 2, 4, 4], 117, -1, 1), r([2, 2, 3, 3], 118, -1, 1), pos([2], 119), r([2], 120)],
  },
  // Composites over matmul (linear) and gather (crossEntropy with class indices).
  { name: 'linear with bias', fn: (x, w, b) => F.linear(x, w, b), inputs: () => [r([2, 3], 100), r([2, 3], 101), r([2], 102)] },
  { name: 'linear [2,1,3] no bias', fn: (x, w) => F.linear(x, w), inputs: () => [r([2, 1, 3], 103), r([2, 3], 104)] },
  { name: 'crossEntropy class indices (mean)', fn: (x) => F.crossEntropy(x, idx([2, 0], [2])), inputs: () => [r([2, 3], 105)] },
  { name: "crossEntropy class indices 'sum'", fn: (x) => F.crossEntropy(x, idx([1, 2, 0], [3]), { reduction: 'sum' }), inputs: () => [r([3, 3], 106)] },
  {
    name: "crossEntropy class indices [N,C,d] label smoothing 0.1 'none'",
    fn: (x) => F.crossEntropy(x, idx([0, 2, 1, 1], [2, 2]), { labelSmoothing: 0.1, reduction: 'none' }),
    inputs: () => [r([2, 3, 2], 107)],
  },
];
