// Op-table rows for the matmul ops (see Note [Op table] in ../ops.test.ts).
import * as mg from '../../../src/index.js';
import { matmulT } from '../../../src/ops/matmul.js';
import { randomTensor } from '../../helpers.js';
import { dev, type OpCase } from './types.js';

const r = (shape: number[], seed: number) => randomTensor(shape, 'float64', seed).t;
const F = mg.nn.functional;

export const matmulCases: OpCase[] = [
  { name: 'matmul [2,3]@[3,2]', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([2, 3], 1), r([3, 2], 2)] },
  { name: 'matmul A@A (same input twice)', fn: (a) => mg.matmul(a, a), inputs: () => [r([2, 2], 3)] },
  { name: 'matmul batch broadcast [2,1,3,4]@[5,4,2]', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([2, 1, 3, 4], 4), r([5, 4, 2], 5)], firstOrderOnly: true, why: 'size: covered at second order by the smaller broadcast row' },
  { name: 'matmul batch broadcast [2,1,2,2]@[3,2,1]', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([2, 1, 2, 2], 6), r([3, 2, 1], 7)] },
  { name: 'matmul 1-D @ 2-D', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([3], 8), r([3, 2], 9)] },
  { name: 'matmul 2-D @ 1-D', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([2, 3], 10), r([3], 11)] },
  { name: 'matmul 1-D @ 1-D (0-d result)', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([3], 12), r([3], 13)] },
  { name: 'matmul 1-D @ batched [2,3,2]', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([3], 14), r([2, 3, 2], 15)] },
  { name: 'matmul batched [2,2,3] @ 1-D', fn: (a, b) => mg.matmul(a, b), inputs: () => [r([2, 2, 3], 16), r([3], 17)] },
  { name: 'matmul chain tanh(A@B)@C', fn: (a, b, c) => mg.matmul(mg.tanh(mg.matmul(a, b)), c), inputs: () => [r([2, 2], 18), r([2, 3], 19), r([3, 1], 20)] },
  { name: 'matmul with a constant right operand', fn: (a) => mg.matmul(a.square(), mg.tensor([[1, 2], [3, -1]], { dtype: 'float64', device: dev() })), inputs: () => [r([3, 2], 21)] },
  { name: 'matmul float64 @ constant float32 (promotion)', fn: (a) => mg.matmul(a, mg.tensor([[0.5], [-2]], { dtype: 'float32', device: dev() })), inputs: () => [r([2, 2], 22)] },
  // matmulT: all four flags, with batch broadcasting.
  { name: 'matmulT (F,F) [2,2,3]@[3,2]', fn: (a, b) => matmulT(a, b, false, false), inputs: () => [r([2, 2, 3], 23), r([3, 2], 24)] },
  { name: 'matmulT (T,F) [2,3,2]@[3,2]', fn: (a, b) => matmulT(a, b, true, false), inputs: () => [r([2, 3, 2], 25), r([3, 2], 26)] },
  { name: 'matmulT (F,T) [2,3]@[1,2,4,3]', fn: (a, b) => matmulT(a, b, false, true), inputs: () => [r([2, 3], 27), r([1, 2, 4, 3], 28)] },
  { name: 'matmulT (T,T) [2,1,3,2]@[2,3]', fn: (a, b) => matmulT(a, b, true, true), inputs: () => [r([2, 1, 3, 2], 29), r([2, 3], 30)] },
  { name: 'matmulT (T,T) with a 1-D left operand', fn: (a, b) => matmulT(a, b, true, true), inputs: () => [r([3], 31), r([2, 3], 32)] },
  { name: 'matmulT (T,F) nonlinear', fn: (a, b) => mg.square(matmulT(a.sin(), b, true, false)), inputs: () => [r([3, 2], 33), r([3, 2], 34)] },
  { name: 'matmulT (F,T) with a 1-D right operand', fn: (a, b) => matmulT(a, b, false, true), inputs: () => [r([2, 2, 3], 43), r([3], 44)] },
  // nn.functional.linear (matmulT(x, w, false, true) + bias)
  { name: 'linear with bias', fn: (x, w, b) => F.linear(x, w, b), inputs: () => [r([2, 3], 35), r([2, 3], 36), r([2], 37)] },
  { name: 'linear without bias, 3-D input', fn: (x, w) => F.linear(x, w), inputs: () => [r([2, 2, 3], 38), r([2, 3], 39)] },
  { name: 'linear 1-D input, tanh', fn: (x, w, b) => mg.tanh(F.linear(x, w, b)), inputs: () => [r([3], 40), r([2, 3], 41), r([2], 42)] },
];
