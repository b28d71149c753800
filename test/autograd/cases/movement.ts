// Op-table rows for the movement ops (see Note [Op table] in ../ops.test.ts).
import * as mg from '../../../src/index.js';
import { randomTensor } from '../../helpers.js';
import { dev, type OpCase } from './types.js';

const r = (shape: number[], seed: number) => randomTensor(shape, 'float64', seed).t;
const ix = (v: number[] | number[][], shape?: number[]) => mg.tensor(v as number[], { dtype: 'int32', shape, device: dev() });

export const movementCases: OpCase[] = [
  // Views (reshape): flatten, squeeze and unsqueeze go through it.
  { name: 'reshape [2,3]->[3,-1]', fn: (a) => mg.reshape(a, [3, -1]), inputs: () => [r([2, 3], 1)] },
  { name: 'flatten dims 1..2', fn: (a) => mg.flatten(a, 1), inputs: () => [r([2, 2, 2], 2)] },
  { name: 'squeeze axis -1', fn: (a) => mg.squeeze(a, -1).mul(a.sum()), inputs: () => [r([3, 1], 3)] },
  { name: 'unsqueeze axis -1', fn: (a) => mg.unsqueeze(a, -1).mul(mg.unsqueeze(a, 0)), inputs: () => [r([3], 4)] },
  { name: 'expand [3,1]->[2,3,2]', fn: (a) => mg.expand(a, [2, -1, 2]), inputs: () => [r([3, 1], 5)] },
  // permute / transpose
  { name: 'permute [2,3,2] by [-1,0,1]', fn: (a) => mg.permute(a, [-1, 0, 1]), inputs: () => [r([2, 3, 2], 6)] },
  { name: 'permute then square (nonlinear)', fn: (a) => mg.square(mg.permute(a, [1, 2, 0])), inputs: () => [r([2, 2, 3], 7)] },
  { name: 'transpose default', fn: (a) => mg.transpose(a), inputs: () => [r([2, 3], 8)] },
  { name: 'transpose (0,-1) of 3-D times itself', fn: (a) => mg.transpose(a, 0, -1).mul(mg.transpose(a, 0, -1)), inputs: () => [r([2, 1, 3], 9)] },
  // slice
  { name: 'slice step 1', fn: (a) => mg.slice(a, 1, 1, 3), inputs: () => [r([2, 4], 10)] },
  { name: 'slice negative axis and start', fn: (a) => mg.slice(a, -1, -3), inputs: () => [r([2, 4], 11)] },
  { name: 'slice step 2', fn: (a) => mg.slice(a, 0, 1, undefined, 2), inputs: () => [r([5, 2], 12)] },
  { name: 'slice step 3, end past the size, squared', fn: (a) => mg.square(mg.slice(a, -2, 0, 99, 3)), inputs: () => [r([7, 2], 13)] },
  { name: 'slice empty (zero gradient)', fn: (a) => mg.cat([mg.slice(a, 0, 3, 1), a.mul(a)], 0), inputs: () => [r([4], 14)] },
  { name: 'slice full range (view)', fn: (a) => mg.slice(a, 0, 0).mul(a), inputs: () => [r([3], 15)] },
  // cat / stack
  { name: 'cat two on axis 0', fn: (a, b) => mg.cat([a, b], 0), inputs: () => [r([2, 3], 16), r([1, 3], 17)] },
  {
    name: 'cat three on axis -1, middle one a constant',
    fn: (a, b) => mg.cat([a.mul(b.sum()), mg.ones([2, 2], { dtype: 'float64', device: dev() }), b], -1),
    inputs: () => [r([2, 1], 18), r([2, 3], 19)],
  },
  { name: 'cat promotes a constant int32 tensor', fn: (a) => mg.cat([ix([[1, 2]]), a.square()], 0), inputs: () => [r([2, 2], 20)] },
  { name: 'cat of one tensor', fn: (a) => mg.cat([a]).mul(a), inputs: () => [r([3], 21)] },
  { name: 'cat the same tensor twice', fn: (a) => mg.cat([a, a.square(), a], 1), inputs: () => [r([2, 1], 22)] },
  { name: 'stack axis 1', fn: (a, b) => mg.stack([a, b], 1), inputs: () => [r([2, 2], 23), r([2, 2], 24)] },
  { name: 'stack axis -1 with a constant', fn: (a) => mg.stack([a.square(), mg.zeros([3], { dtype: 'float64', device: dev() }), a], -1), inputs: () => [r([3], 25)] },
  // gather / scatterAdd
  { name: 'gather axis 1, repeated indices', fn: (a) => mg.gather(a, 1, ix([[0, 0, 2], [1, 2, 1]], [2, 3])), inputs: () => [r([2, 3], 26)] },
  { name: 'gather axis -2, index smaller off axis, squared', fn: (a) => mg.square(mg.gather(a, -2, ix([[2], [0], [2], [1]], [4, 1]))), inputs: () => [r([3, 2], 27)] },
  {
    name: 'scatterAdd axis 1, repeated indices',
    fn: (x, s) => mg.scatterAdd(x, 1, ix([[0, 2, 0], [1, 1, 3]], [2, 3]), s),
    inputs: () => [r([2, 4], 28), r([2, 3], 29)],
  },
  {
    name: 'scatterAdd axis 0, src larger than index, nonlinear',
    fn: (x, s) => mg.square(mg.scatterAdd(x, 0, ix([[1, 0], [1, 1]], [2, 2]), s.mul(s))),
    inputs: () => [r([2, 3], 30), r([3, 3], 31)],
  },
  { name: 'scatterAdd into a constant', fn: (s) => mg.scatterAdd(mg.ones([3], { dtype: 'float64', device: dev() }), 0, ix([2, 2, 0]), s), inputs: () => [r([4], 32)] },
  // indexSelect / indexAdd
  { name: 'indexSelect axis 0, repeated', fn: (a) => mg.indexSelect(a, 0, ix([2, 0, 2, 1])), inputs: () => [r([3, 2], 33)] },
  { name: 'indexSelect axis -1, 0-d index, squared', fn: (a) => mg.square(mg.indexSelect(a, -1, mg.tensor(1, { dtype: 'int32', device: dev() }))), inputs: () => [r([2, 3], 34)] },
  {
    name: 'indexAdd axis 1, repeated',
    fn: (x, s) => mg.indexAdd(x, 1, ix([2, 0, 2]), s),
    inputs: () => [r([2, 3], 35), r([2, 3], 36)],
  },
  {
    name: 'indexAdd axis -2 nonlinear in both',
    fn: (x, s) => mg.indexAdd(x.square(), -2, ix([1]), s.mul(x.sum())),
    inputs: () => [r([2, 2], 37), r([1, 2], 38)],
  },
  { name: 'indexAdd into a constant', fn: (s) => mg.indexAdd(mg.ones([2, 3], { dtype: 'float64', device: dev() }), 0, ix([1, 1, 0]), s.square()), inputs: () => [r([3, 3], 43)] },
  { name: 'gather 0-d x and index', fn: (a) => mg.gather(a, 0, mg.tensor(0, { dtype: 'int32', device: dev() })).mul(a), inputs: () => [r([], 44)] },
  { name: 'permute identity (view) and a 2-cycle', fn: (a) => mg.permute(a, [0, 1]).mul(mg.permute(a, [1, 0]).sum(0)), inputs: () => [r([2, 2], 45)] },
  // pad (oneHot: int input, no gradient; used as a constant)
  { name: 'pad last dim', fn: (a) => mg.pad(a, [1, 2]), inputs: () => [r([2, 2], 39)] },
  { name: 'pad two dims with a value, squared', fn: (a) => mg.square(mg.pad(a, [0, 1, 2, 0], 3)), inputs: () => [r([2, 2], 40)] },
  { name: 'pad with nothing', fn: (a) => mg.pad(a, [0, 0]).mul(a), inputs: () => [r([3], 41)] },
  { name: 'oneHot as a constant mask', fn: (a) => a.mul(mg.oneHot(ix([2, 0]), 3, { dtype: 'float64' })).sum(1), inputs: () => [r([2, 3], 42)] },
];
