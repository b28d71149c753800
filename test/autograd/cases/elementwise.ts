// Op-table rows for the elementwise ops, where, clamp and casts.
import * as mg from '../../../src/index.js';
import { randomTensor } from '../../helpers.js';
import { dev, type OpCase } from './types.js';

const r = (shape: number[], seed: number, lo = -2, hi = 2) => randomTensor(shape, 'float64', seed, lo, hi).t;
const pos = (shape: number[], seed: number) => r(shape, seed, 0.5, 2);

export const elementwiseCases: OpCase[] = [
  { name: 'add same shape', fn: (a, b) => mg.add(a, b), inputs: () => [r([2, 3], 1), r([2, 3], 2)] },
  { name: 'add broadcast [2,3]+[3]', fn: (a, b) => mg.add(a, b), inputs: () => [r([2, 3], 1), r([3], 2)] },
  { name: 'add broadcast [2,1,3]+[4,1]', fn: (a, b) => mg.add(a, b), inputs: () => [r([2, 1, 3], 1), r([4, 1], 2)] },
  { name: 'add scalar', fn: (a) => mg.add(a, 1.5), inputs: () => [r([3], 1)] },
  { name: 'add 0-d + [2,2]', fn: (a, b) => mg.add(a, b), inputs: () => [r([], 1), r([2, 2], 2)] },
  { name: 'sub broadcast', fn: (a, b) => mg.sub(a, b), inputs: () => [r([3, 1], 1), r([1, 4], 2)] },
  { name: 'sub scalar-left', fn: (a) => mg.sub(2, a), inputs: () => [r([3], 3)] },
  { name: 'mul broadcast', fn: (a, b) => mg.mul(a, b), inputs: () => [r([2, 3], 1), r([2, 1], 2)] },
  { name: 'mul self', fn: (a) => mg.mul(a, a), inputs: () => [r([4], 4)] },
  { name: 'div broadcast', fn: (a, b) => mg.div(a, b), inputs: () => [r([2, 3], 1), pos([3], 2)] },
  { name: 'div scalar-left', fn: (a) => mg.div(1, a), inputs: () => [pos([3], 5)] },
  { name: 'pow tensor^scalar', fn: (a) => mg.pow(a, 3), inputs: () => [r([4], 6)] },
  { name: 'pow tensor^tensor', fn: (a, b) => mg.pow(a, b), inputs: () => [pos([3], 7), r([3], 8)] },
  { name: 'pow scalar^tensor', fn: (b) => mg.pow(2, b), inputs: () => [r([3], 9)] },
  { name: 'maximum', fn: (a, b) => mg.maximum(a, b), inputs: () => [r([5], 10), r([5], 11)] },
  { name: 'minimum broadcast', fn: (a, b) => mg.minimum(a, b), inputs: () => [r([2, 3], 12), r([3], 13)] },
  { name: 'neg', fn: (a) => mg.neg(a), inputs: () => [r([3], 14)] },
  { name: 'exp', fn: (a) => mg.exp(a), inputs: () => [r([2, 2], 15)] },
  { name: 'log', fn: (a) => mg.log(a), inputs: () => [pos([4], 16)] },
  { name: 'sin', fn: (a) => mg.sin(a), inputs: () => [r([4], 17)] },
  { name: 'cos', fn: (a) => mg.cos(a), inputs: () => [r([4], 18)] },
  { name: 'tanh', fn: (a) => mg.tanh(a), inputs: () => [r([4], 19)] },
  { name: 'sigmoid', fn: (a) => mg.sigmoid(a), inputs: () => [r([4], 20)] },
  { name: 'relu (away from 0)', fn: (a) => mg.relu(a), inputs: () => [mg.tensor([-1.5, -0.3, 0.4, 2], { dtype: 'float64' })] },
  { name: 'abs (away from 0)', fn: (a) => mg.abs(a), inputs: () => [mg.tensor([-1.5, -0.3, 0.4, 2], { dtype: 'float64' })] },
  { name: 'sqrt', fn: (a) => mg.sqrt(a), inputs: () => [pos([4], 21)] },
  { name: 'square', fn: (a) => mg.square(a), inputs: () => [r([4], 22)] },
  { name: 'clamp (away from the bounds)', fn: (a) => mg.clamp(a, -1, 1), inputs: () => [mg.tensor([-1.7, -0.5, 0.2, 0.9, 1.6], { dtype: 'float64' })] },
  { name: 'where broadcast', fn: (a, b) => mg.where(mg.tensor([[1, 0, 1]], { dtype: 'int32', device: dev() }), a, b), inputs: () => [r([2, 3], 23), r([2, 1], 24)] },
  { name: 'where with a scalar', fn: (a) => mg.where(mg.tensor([1, 0, 1], { dtype: 'int32', device: dev() }), a, 0.5), inputs: () => [r([3], 25)] },
  { name: 'clone', fn: (a) => a.clone().mul(a), inputs: () => [r([3], 26)] },
  { name: 'composite tanh(x)*x + exp(x)/2', fn: (a) => a.tanh().mul(a).add(a.exp().div(2)), inputs: () => [r([4], 27)] },
];
