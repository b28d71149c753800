// Op-table rows for the reductions.
import * as mg from '../../../src/index.js';
import { randomTensor } from '../../helpers.js';
import type { OpCase } from './types.js';

const r = (shape: number[], seed: number) => randomTensor(shape, 'float64', seed).t;

export const reduceCases: OpCase[] = [
  { name: 'sum all', fn: (a) => mg.sum(a), inputs: () => [r([2, 3], 1)] },
  { name: 'sum axis 1', fn: (a) => mg.sum(a, 1), inputs: () => [r([2, 3], 2)] },
  { name: 'sum axes [0,2] keepdim', fn: (a) => mg.sum(a, [0, 2], true), inputs: () => [r([2, 3, 2], 3)] },
  { name: 'mean axis -1', fn: (a) => mg.mean(a, -1), inputs: () => [r([3, 4], 4)] },
  { name: 'max axis 0 (distinct values)', fn: (a) => mg.max(a, 0), inputs: () => [r([3, 4], 5)] },
  { name: 'min all', fn: (a) => mg.min(a), inputs: () => [r([2, 3], 6)] },
  { name: 'logsumexp axis 1', fn: (a) => mg.logsumexp(a, 1), inputs: () => [r([2, 5], 7)] },
  { name: 'logsumexp all keepdim', fn: (a) => mg.logsumexp(a, undefined, true), inputs: () => [r([2, 3], 8)] },
];
