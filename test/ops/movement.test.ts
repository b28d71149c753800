/**
 * Movement ops against plain-TypeScript references: every expected value comes from index
 * arithmetic in this file (or a hand-written literal), never from the library.
 */
import { afterEach, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, numel, prng, randomTensor, strides, unravel } from '../helpers.js';

const DTYPES: mg.DType[] = ['float32', 'float64', 'int32'];
const i32 = (data: number[], shape?: number[]): mg.Tensor => mg.tensor(Int32Array.from(data), { shape: shape ?? [data.length], dtype: 'int32' });

/** Values of an output of `shape` whose element at multi-index idx is f(idx). */
function build(shape: readonly number[], f: (idx: number[]) => number): number[] {
  const n = numel(shape);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = f(unravel(i, shape));
  return out;
}

/** Element idx of row-major values v of `shape`. */
function read(v: readonly number[], shape: readonly number[], idx: readonly number[]): number {
  const st = strides(shape);
  let p = 0;
  for (let d = 0; d < shape.length; d++) p += idx[d] * st[d];
  return v[p];
}

/** Exact comparison of shape, dtype and every element (fast on large tensors). */
function same(t: mg.Tensor, shape: readonly number[], dtype: mg.DType, expected: readonly number[]): void {
  expect(t.shape).toEqual(shape);
  expect(t.dtype).toBe(dtype);
  const d = t.data();
  expect(d.length).toBe(expected.length);
  for (let i = 0; i < d.length; i++) {
    if (d[i] !== expected[i] && !(Number.isNaN(d[i]) && Number.isNaN(expected[i]))) {
      throw new Error(`element ${i} (${unravel(i, shape).join(',')}): got ${d[i]}, expected ${expected[i]}`);
    }
  }
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1)) for (let k = 0; k <= p.length; k++) out.push([...p.slice(0, k), n - 1, ...p.slice(k)]);
  return out;
}

function refPermute(v: number[], shape: number[], perm: number[]): { shape: number[]; v: number[] } {
  const os = perm.map((p) => shape[p]);
  return {
    shape: os,
    v: build(os, (o) => {
      const idx = new Array<number>(shape.length);
      perm.forEach((p, i) => (idx[p] = o[i]));
      return read(v, shape, idx);
    }),
  };
}

const defaultThreads = mg.backend.cpuInfo().threads;
afterEach(() => {
  mg.backend.setNumThreads(defaultThreads);
});

describe('permute / transpose', () => {
  test('every permutation of a rank-3 tensor, all dtypes', () => {
    for (const dtype of DTYPES) {
      const { t, v } = randomTensor([2, 3, 4], dtype, 3, -50, 50);
      for (const perm of permutations(3)) {
        const r = refPermute(v, [2, 3, 4], perm);
        same(mg.permute(t, perm), r.shape, dtype, r.v);
      }
    }
  });

  test('negative entries, size-1 and size-0 dims, 0-d and rank 5', () => {
    const { t, v } = randomTensor([2, 1, 3], 'float64', 4);
    let r = refPermute(v, [2, 1, 3], [2, 0, 1]);
    same(mg.permute(t, [-1, 0, -2]), r.shape, 'float64', r.v);
    same(mg.permute(mg.zeros([2, 0, 3]), [2, 1, 0]), [3, 0, 2], 'float32', []);
    same(mg.permute(mg.tensor(7.5), []), [], 'float32', [7.5]);
    const s5 = [2, 3, 1, 4, 2];
    const x5 = randomTensor(s5, 'int32', 5, -100, 100);
    const rnd = prng(9);
    for (let k = 0; k < 6; k++) {
      const perm = [0, 1, 2, 3, 4];
      for (let i = 4; i > 0; i--) {
        const j = Math.floor(rnd() * (i + 1));
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      r = refPermute(x5.v, s5, perm);
      same(mg.permute(x5.t, perm), r.shape, 'int32', r.v);
    }
  });

  test('transpose: defaults, negative axes, rank 1 swap with itself', () => {
    const { t, v } = randomTensor([2, 3, 5], 'float32', 6);
    let r = refPermute(v, [2, 3, 5], [0, 2, 1]);
    same(mg.transpose(t), r.shape, 'float32', r.v);
    same(t.transpose(), r.shape, 'float32', r.v);
    r = refPermute(v, [2, 3, 5], [2, 1, 0]);
    same(mg.transpose(t, 0, -1), r.shape, 'float32', r.v);
    const one = mg.tensor([1, 2, 3]);
    same(mg.transpose(one, 0, -1), [3], 'float32', [1, 2, 3]);
  });

  test('large: blocked transpose with sizes not multiple of the tile, batched, and general perms, across thread counts', () => {
    const cases: [number[], number[], mg.DType][] = [
      [[300, 257], [1, 0], 'float32'],
      [[3, 70, 45], [0, 2, 1], 'float64'],
      [[40, 30, 71], [2, 0, 1], 'int32'],
      [[50, 40, 33], [1, 0, 2], 'float32'],
      [[6, 7, 8, 9, 5], [4, 2, 0, 3, 1], 'float64'],
    ];
    for (const [shape, perm, dtype] of cases) {
      const { t, v } = randomTensor(shape, dtype, 7, -1000, 1000);
      const r = refPermute(v, shape, perm);
      for (const n of [1, 3]) {
        mg.backend.setNumThreads(n);
        same(mg.permute(t, perm), r.shape, dtype, r.v);
      }
    }
  });
});

describe('views', () => {
  test('reshape, flatten, squeeze, unsqueeze share storage', () => {
    const x = mg.arange(0, 24, 1, { dtype: 'float32' }).reshape([2, 1, 3, 4]);
    const views: [mg.Tensor, number[]][] = [
      [mg.reshape(x, [6, -1]), [6, 4]],
      [mg.flatten(x), [24]],
      [mg.flatten(x, 1, 2), [2, 3, 4]],
      [mg.flatten(x, -2), [2, 1, 12]],
      [mg.squeeze(x), [2, 3, 4]],
      [mg.squeeze(x, 1), [2, 3, 4]],
      [mg.squeeze(x, [0, -3]), [2, 3, 4]], // dim 0 has size 2: left in place, as in PyTorch
      [mg.unsqueeze(x, 0), [1, 2, 1, 3, 4]],
      [mg.unsqueeze(x, -1), [2, 1, 3, 4, 1]],
      [mg.unsqueeze(x, 4), [2, 1, 3, 4, 1]],
      [mg.unsqueeze(x, -5), [1, 2, 1, 3, 4]],
      [x.flatten(0, 1), [2, 3, 4]],
      [x.squeeze(), [2, 3, 4]],
      [x.unsqueeze(2), [2, 1, 1, 3, 4]],
    ];
    const flat = Array.from({ length: 24 }, (_, i) => i);
    for (const [y, shape] of views) {
      expect(mg.backend.sharesStorage(x, y)).toBe(true);
      same(y, shape, 'float32', flat);
    }
    const s = mg.tensor(3);
    same(mg.flatten(s), [1], 'float32', [3]);
    same(mg.unsqueeze(s, 0), [1], 'float32', [3]);
    same(mg.squeeze(mg.ones([1, 1])), [], 'float32', [1]);
  });

  test('copying ops do not share storage', () => {
    const x = mg.arange(0, 6).reshape([2, 3]);
    expect(mg.backend.sharesStorage(x, mg.transpose(x))).toBe(false);
    expect(mg.backend.sharesStorage(x, mg.cat([x]))).toBe(false);
    expect(mg.backend.sharesStorage(x, mg.slice(x, 1, 0, 2))).toBe(false);
  });
});

describe('expand', () => {
  const refExpand = (v: number[], shape: number[], out: number[]): number[] =>
    build(out, (o) => read(v, shape, shape.map((d, i) => (d === 1 ? 0 : o[out.length - shape.length + i]))));

  test('broadcasts size-1 dims, -1, new leading dims, all dtypes', () => {
    for (const dtype of DTYPES) {
      const cases: [number[], number[], number[]][] = [
        [[3, 1], [3, 4], [3, 4]],
        [[1, 3], [2, -1], [2, 3]],
        [[2, 3], [4, 2, 3], [4, 2, 3]],
        [[2, 1, 3], [5, -1, 4, -1], [5, 2, 4, 3]],
        [[1], [2, 2, 1, 2, 3], [2, 2, 1, 2, 3]],
      ];
      for (const [shape, target, out] of cases) {
        const { t, v } = randomTensor(shape, dtype, 11, -9, 9);
        same(mg.expand(t, target), out, dtype, refExpand(v, shape, out));
      }
    }
    same(mg.expand(mg.tensor(2), [2, 3]), [2, 3], 'float32', [2, 2, 2, 2, 2, 2]);
    same(mg.expand(mg.zeros([0, 1]), [0, 5]), [0, 5], 'float32', []);
    same(mg.expand(mg.ones([2, 1]), [2, 0]), [2, 0], 'float32', []);
  });

  test('same shape is a view; large broadcast', () => {
    const x = mg.ones([2, 3]);
    expect(mg.backend.sharesStorage(x, mg.expand(x, [2, -1]))).toBe(true);
    const { t, v } = randomTensor([1, 301], 'float32', 12);
    same(t.expand([400, 301]), [400, 301], 'float32', refExpand(v, [1, 301], [400, 301]));
    const c = randomTensor([301, 1], 'float64', 13);
    same(c.t.expand([301, 300]), [301, 300], 'float64', refExpand(c.v, [301, 1], [301, 300]));
  });
});

describe('slice', () => {
  // Python: list(range(5))[start:end:step]
  const cases: [number, number | undefined, number, number[]][] = [
    [0, undefined, 1, [0, 1, 2, 3, 4]],
    [-3, undefined, 1, [2, 3, 4]],
    [1, -1, 1, [1, 2, 3]],
    [-100, 100, 1, [0, 1, 2, 3, 4]],
    [3, 1, 1, []],
    [5, undefined, 1, []],
    [0, 5, 2, [0, 2, 4]],
    [1, undefined, 3, [1, 4]],
    [-2, -1, 1, [3]],
    [4, 100, 7, [4]],
    [0, 0, 1, []],
    [2, 4, 1, [2, 3]],
  ];

  test('Python semantics on each axis of a rank-3 tensor, all dtypes', () => {
    const shape = [5, 5, 5];
    for (const dtype of DTYPES) {
      const { t, v } = randomTensor(shape, dtype, 21, -50, 50);
      for (let axis = -3; axis < 3; axis++) {
        const ax = axis < 0 ? axis + 3 : axis;
        for (const [s, e, step, picks] of cases) {
          const out = shape.slice();
          out[ax] = picks.length;
          const exp = build(out, (o) => {
            const idx = o.slice();
            idx[ax] = picks[o[ax]];
            return read(v, shape, idx);
          });
          same(mg.slice(t, axis, s, e, step), out, dtype, exp);
        }
      }
    }
  });

  test('full range is a view; size-0 and rank-5; large strided inner slice', () => {
    const x = mg.ones([3, 4]);
    expect(mg.backend.sharesStorage(x, mg.slice(x, 1, 0))).toBe(true);
    same(mg.slice(mg.zeros([0, 4]), 1, 1, 3), [0, 2], 'float32', []);
    same(mg.slice(mg.zeros([3, 0]), 1, 1, 3), [3, 0], 'float32', []);
    const s5 = [2, 3, 4, 2, 5];
    const r5 = randomTensor(s5, 'float64', 22);
    same(r5.t.slice(-1, -4, undefined, 2), [2, 3, 4, 2, 2], 'float64', build([2, 3, 4, 2, 2], (o) => read(r5.v, s5, [o[0], o[1], o[2], o[3], 1 + 2 * o[4]])));
    const big = [700, 301];
    const { t, v } = randomTensor(big, 'float32', 23);
    for (const n of [1, 3]) {
      mg.backend.setNumThreads(n);
      same(mg.slice(t, 1, 1, undefined, 3), [700, 100], 'float32', build([700, 100], (o) => read(v, big, [o[0], 1 + 3 * o[1]])));
      same(mg.slice(t, 1, 5, -5), [700, 291], 'float32', build([700, 291], (o) => read(v, big, [o[0], o[1] + 5])));
      same(mg.slice(t, 0, 10, -10), [680, 301], 'float32', build([680, 301], (o) => read(v, big, [o[0] + 10, o[1]])));
    }
  });
});

describe('cat / stack', () => {
  function refCat(parts: { v: number[]; shape: number[] }[], ax: number): { shape: number[]; v: number[] } {
    const shape = parts[0].shape.slice();
    shape[ax] = parts.reduce((a, p) => a + p.shape[ax], 0);
    return {
      shape,
      v: build(shape, (o) => {
        let k = o[ax];
        for (const p of parts) {
          if (k < p.shape[ax]) {
            const idx = o.slice();
            idx[ax] = k;
            return read(p.v, p.shape, idx);
          }
          k -= p.shape[ax];
        }
        throw new Error('unreachable');
      }),
    };
  }

  test('three inputs along every axis (incl. negative, incl. size 0), all dtypes', () => {
    for (const dtype of DTYPES) {
      for (let axis = -3; axis < 3; axis++) {
        const ax = (axis + 3) % 3;
        const sizes = [2, 0, 3];
        const parts = sizes.map((n, i) => {
          const shape = [2, 3, 4];
          shape[ax] = n;
          return { shape, ...randomTensor(shape, dtype, 30 + i, -50, 50) };
        });
        const r = refCat(parts, ax);
        same(mg.cat(parts.map((p) => p.t), axis), r.shape, dtype, r.v);
      }
    }
  });

  test('single tensor copies; dtype promotion; large; many inputs', () => {
    const x = mg.tensor([[1, 2], [3, 4]], { dtype: 'int32' });
    const c = mg.cat([x]);
    expect(mg.backend.sharesStorage(x, c)).toBe(false);
    same(c, [2, 2], 'int32', [1, 2, 3, 4]);
    same(mg.cat([x, mg.tensor([[0.5, 1.5]])]), [3, 2], 'float32', [1, 2, 3, 4, 0.5, 1.5]);
    same(mg.cat([mg.tensor([0.25], { dtype: 'float32' }), mg.tensor([1], { dtype: 'float64' }), i32([7])]), [3], 'float64', [0.25, 1, 7]);
    const a = randomTensor([200, 190], 'float32', 33);
    const b = randomTensor([200, 150], 'float32', 34);
    const r = refCat([{ ...a, shape: [200, 190] }, { ...b, shape: [200, 150] }], 1);
    for (const n of [1, 3]) {
      mg.backend.setNumThreads(n);
      same(mg.cat([a.t, b.t], 1), r.shape, 'float32', r.v);
    }
    const many = Array.from({ length: 20 }, (_, i) => mg.full([1, 2], i, { dtype: 'int32' }));
    same(mg.cat(many, 0), [20, 2], 'int32', Array.from({ length: 40 }, (_, i) => Math.floor(i / 2)));
  });

  test('stack along 0, middle, ndim and negative axes; 0-d inputs', () => {
    const p = [0, 1, 2].map((i) => randomTensor([2, 3], 'float64', 40 + i));
    const cases: [number, number][] = [[0, 0], [1, 1], [2, 2], [-1, 2], [-3, 0]];
    for (const [axis, ax] of cases) {
      const out = [2, 3];
      out.splice(ax, 0, 3);
      const exp = build(out, (o) => {
        const rest = o.filter((_, d) => d !== ax);
        return read(p[o[ax]].v, [2, 3], rest);
      });
      same(mg.stack(p.map((q) => q.t), axis), out, 'float64', exp);
    }
    same(mg.stack([mg.tensor(1), mg.tensor(2), mg.tensor(3)]), [3], 'float32', [1, 2, 3]);
  });
});

describe('gather / scatterAdd', () => {
  function randIndex(shape: number[], hi: number, seed: number): { t: mg.Tensor; v: number[] } {
    const r = prng(seed);
    const v = Array.from({ length: numel(shape) }, () => Math.floor(r() * hi));
    return { t: i32(v, shape), v };
  }

  test('torch.gather on every axis with a smaller index, all dtypes', () => {
    const xs = [4, 5, 3];
    for (const dtype of DTYPES) {
      const { t, v } = randomTensor(xs, dtype, 50, -50, 50);
      for (let axis = -3; axis < 3; axis++) {
        const ax = (axis + 3) % 3;
        const is = [3, 4, 2];
        is[ax] = 7; // longer than x along axis: allowed
        const ix = randIndex(is, xs[ax], 51 + ax);
        const exp = build(is, (o) => {
          const idx = o.slice();
          idx[ax] = read(ix.v, is, o);
          return read(v, xs, idx);
        });
        same(mg.gather(t, axis, ix.t), is, dtype, exp);
        same(t.gather(axis, ix.t), is, dtype, exp);
      }
    }
    same(mg.gather(mg.tensor(4), 0, i32([0], [])), [], 'float32', [4]);
    same(mg.gather(mg.zeros([3, 2]), 0, i32([], [0, 2])), [0, 2], 'float32', []);
  });

  test('large gather across thread counts', () => {
    const xs = [256, 300];
    const { t, v } = randomTensor(xs, 'float32', 52);
    const ix = randIndex([256, 280], 300, 53);
    const exp = build([256, 280], (o) => read(v, xs, [o[0], read(ix.v, [256, 280], o)]));
    for (const n of [1, 3]) {
      mg.backend.setNumThreads(n);
      same(mg.gather(t, 1, ix.t), [256, 280], 'float32', exp);
    }
  });

  function refScatter(x: number[], xs: number[], ax: number, ix: number[], is: number[], src: number[], ss: number[]): number[] {
    const out = x.slice();
    const st = strides(xs);
    for (let p = 0; p < numel(is); p++) {
      const o = unravel(p, is);
      const idx = o.slice();
      idx[ax] = ix[p];
      out[idx.reduce((a, k, d) => a + k * st[d], 0)] += read(src, ss, o);
    }
    return out;
  }

  test('torch.scatter_add with duplicates and src larger than index, all dtypes', () => {
    const xs = [3, 4, 5];
    for (const dtype of DTYPES) {
      const x = randomTensor(xs, dtype, 60, -9, 9);
      for (let ax = 0; ax < 3; ax++) {
        const is = [2, 3, 4];
        is[ax] = 6; // more entries than x has along axis: duplicates certain
        const ss = is.map((d) => d + 1);
        const ix = randIndex(is, xs[ax], 61 + ax);
        const src = randomTensor(ss, dtype, 64 + ax, -9, 9);
        const exp = refScatter(x.v, xs, ax, ix.v, is, src.v, ss);
        const got = mg.scatterAdd(x.t, ax - 3, ix.t, src.t);
        expect(got.shape).toEqual(xs);
        expect(got.dtype).toBe(dtype);
        expectClose(got, exp);
        expectClose(x.t.scatterAdd(ax, ix.t, src.t), exp);
      }
    }
    same(mg.scatterAdd(mg.tensor(1), 0, i32([0], []), mg.tensor(2)), [], 'float32', [3]);
  });

  test('large scatterAdd is identical across thread counts', () => {
    const xs = [64, 100];
    const x = randomTensor(xs, 'float32', 70);
    const is = [64, 2000];
    const ix = randIndex(is, 100, 71);
    const src = randomTensor(is, 'float32', 72);
    const exp = refScatter(x.v, xs, 1, ix.v, is, src.v, is);
    mg.backend.setNumThreads(1);
    const a = Array.from(mg.scatterAdd(x.t, 1, ix.t, src.t).data());
    mg.backend.setNumThreads(3);
    const b = mg.scatterAdd(x.t, 1, ix.t, src.t);
    same(b, xs, 'float32', a);
    expectClose(b, exp, { rtol: 1e-4, atol: 1e-4 });
  });
});

describe('indexSelect / indexAdd', () => {
  test('indexSelect with duplicates on every axis, all dtypes', () => {
    const xs = [3, 4, 5];
    const picks = [2, 0, 2, 1];
    for (const dtype of DTYPES) {
      const { t, v } = randomTensor(xs, dtype, 80, -50, 50);
      for (let axis = -3; axis < 3; axis++) {
        const ax = (axis + 3) % 3;
        const out = xs.slice();
        out[ax] = picks.length;
        const exp = build(out, (o) => {
          const idx = o.slice();
          idx[ax] = picks[o[ax]];
          return read(v, xs, idx);
        });
        same(mg.indexSelect(t, axis, i32(picks)), out, dtype, exp);
      }
      same(t.indexSelect(1, i32([])), [3, 0, 5], dtype, []);
    }
    same(mg.indexSelect(mg.tensor([5, 6, 7]), 0, i32([2], [])), [1], 'float32', [7]);
  });

  test('large indexSelect', () => {
    const xs = [500, 130];
    const { t, v } = randomTensor(xs, 'float64', 81);
    const r = prng(82);
    const picks = Array.from({ length: 700 }, () => Math.floor(r() * 500));
    const exp = build([700, 130], (o) => read(v, xs, [picks[o[0]], o[1]]));
    for (const n of [1, 3]) {
      mg.backend.setNumThreads(n);
      same(mg.indexSelect(t, 0, i32(picks)), [700, 130], 'float64', exp);
    }
  });

  test('indexAdd accumulates repeated indices on every axis, all dtypes; large', () => {
    const xs = [3, 4, 5];
    const picks = [1, 3, 1, 0, 1];
    for (const dtype of DTYPES) {
      const x = randomTensor(xs, dtype, 90, -9, 9);
      for (let ax = 0; ax < 3; ax++) {
        const p = picks.map((k) => k % xs[ax]);
        const ss = xs.slice();
        ss[ax] = p.length;
        const src = randomTensor(ss, dtype, 91 + ax, -9, 9);
        const exp = x.v.slice();
        const st = strides(xs);
        for (let q = 0; q < numel(ss); q++) {
          const o = unravel(q, ss);
          const idx = o.slice();
          idx[ax] = p[o[ax]];
          exp[idx.reduce((a, k, d) => a + k * st[d], 0)] += src.v[q];
        }
        const got = mg.indexAdd(x.t, ax - 3, i32(p), src.t);
        expect(got.shape).toEqual(xs);
        expect(got.dtype).toBe(dtype);
        expectClose(got, exp);
        expectClose(x.t.indexAdd(ax, i32(p), src.t), exp);
      }
    }
    const big = randomTensor([10, 40000], 'float32', 95);
    const src = randomTensor([3, 40000], 'float32', 96);
    const exp = big.v.slice();
    [7, 2, 7].forEach((row, k) => {
      for (let j = 0; j < 40000; j++) exp[row * 40000 + j] += src.v[k * 40000 + j];
    });
    mg.backend.setNumThreads(3);
    expectClose(mg.indexAdd(big.t, 0, i32([7, 2, 7]), src.t), exp, { rtol: 1e-5, atol: 1e-5 });
  });
});

describe('oneHot', () => {
  test('dtypes and shapes', () => {
    const idx = [2, 0, 1, 2, 3, 0];
    for (const dtype of DTYPES) {
      const exp = build([2, 3, 4], (o) => (idx[o[0] * 3 + o[1]] === o[2] ? 1 : 0));
      same(mg.oneHot(i32(idx, [2, 3]), 4, { dtype }), [2, 3, 4], dtype, exp);
    }
    same(mg.oneHot(i32([1], []), 3), [3], 'float32', [0, 1, 0]);
    same(mg.oneHot(i32([]), 3), [0, 3], 'float32', []);
    const r = prng(110);
    const many = Array.from({ length: 20000 }, () => Math.floor(r() * 10));
    mg.backend.setNumThreads(3);
    same(mg.oneHot(i32(many), 10, { dtype: 'int32' }), [20000, 10], 'int32', build([20000, 10], (o) => (many[o[0]] === o[1] ? 1 : 0)));
  });
});

describe('pad', () => {
  function refPad(v: number[], shape: number[], pads: number[], value: number): { shape: number[]; v: number[] } {
    const n = shape.length;
    const before = new Array<number>(n).fill(0);
    const out = shape.slice();
    for (let k = 0; 2 * k < pads.length; k++) {
      before[n - 1 - k] = pads[2 * k];
      out[n - 1 - k] += pads[2 * k] + pads[2 * k + 1];
    }
    return {
      shape: out,
      v: build(out, (o) => {
        const idx = o.map((k, d) => k - before[d]);
        return idx.every((k, d) => k >= 0 && k < shape[d]) ? read(v, shape, idx) : value;
      }),
    };
  }

  test('torch.nn.functional.pad order, values, all dtypes', () => {
    const cases: [number[], number[], number][] = [
      [[2, 3], [1, 2], 0],
      [[2, 3], [0, 1, 2, 0], -1.5],
      [[2, 3, 4], [1, 1, 0, 0, 2, 1], 7],
      [[2, 3, 4], [], 3],
      [[2, 3, 4], [0, 0, 0, 0], 3],
      [[1, 2, 1, 2, 2], [1, 0, 0, 1, 2, 0, 0, 0, 1, 1], 9],
      [[0, 3], [1, 1, 1, 0], 4],
      [[5], [0, 3], 2],
    ];
    for (const dtype of DTYPES) {
      for (const [shape, pads, value] of cases) {
        const { t, v } = randomTensor(shape, dtype, 100, -50, 50);
        const val = dtype === 'int32' ? Math.trunc(value) : value;
        const r = refPad(v, shape, pads, val);
        same(mg.pad(t, pads, value), r.shape, dtype, r.v);
      }
    }
    same(mg.pad(mg.tensor(2), []), [], 'float32', [2]);
  });

  test('large pad across thread counts', () => {
    const { t, v } = randomTensor([300, 260], 'float32', 101);
    const r = refPad(v, [300, 260], [3, 5, 2, 1], 0.5);
    for (const n of [1, 3]) {
      mg.backend.setNumThreads(n);
      same(t.pad([3, 5, 2, 1], 0.5), r.shape, 'float32', r.v);
    }
  });
});

describe('errors', () => {
  const x = mg.zeros([2, 3]);
  const ix = i32([0, 1], [1, 2]);
  test('out-of-range indices name the index, axis and size', () => {
    expect(() => mg.gather(mg.zeros([2, 5]), 1, i32([1, 7], [1, 2]))).toThrow(/gather: index 7 is out of range for axis 1 of size 5/);
    expect(() => mg.gather(x, 0, i32([-1], [1, 1]))).toThrow(/gather: index -1 is out of range for axis 0 of size 2/);
    expect(() => mg.scatterAdd(x, 1, i32([3], [1, 1]), mg.ones([1, 1]))).toThrow(/scatterAdd: index 3 is out of range for axis 1 of size 3/);
    expect(() => mg.indexSelect(x, 0, i32([0, 2]))).toThrow(/indexSelect: index 2 is out of range for axis 0 of size 2/);
    expect(() => mg.indexSelect(mg.zeros([2, 0]), 1, i32([0]))).toThrow(/indexSelect: index 0 is out of range for axis 1 of size 0/);
    expect(() => mg.indexAdd(x, 1, i32([-4]), mg.ones([2, 1]))).toThrow(/indexAdd: index -4 is out of range for axis 1 of size 3/);
    expect(() => mg.oneHot(i32([1, 5]), 3)).toThrow(/oneHot: index 5 is out of range for 3 classes/);
    expect(() => mg.oneHot(i32([-1]), 3)).toThrow(/oneHot: index -1 is out of range/);
  });

  test('non-int32 indices name the op and dtype', () => {
    const f = mg.zeros([1, 2]);
    expect(() => mg.gather(x, 0, f)).toThrow(/gather: index must be int32, got float32/);
    expect(() => mg.scatterAdd(x, 0, f, f)).toThrow(/scatterAdd: index must be int32, got float32/);
    expect(() => mg.indexSelect(x, 0, mg.zeros([2], { dtype: 'float64' }))).toThrow(/indexSelect: index must be int32, got float64/);
    expect(() => mg.indexAdd(x, 0, mg.zeros([1]), mg.ones([1, 3]))).toThrow(/indexAdd: index must be int32, got float32/);
    expect(() => mg.oneHot(mg.zeros([2]), 3)).toThrow(/oneHot: indices must be int32, got float32/);
  });

  test('bad axes', () => {
    expect(() => mg.transpose(x, 0, 2)).toThrow(/transpose: axis 2 is out of range for a tensor of rank 2/);
    expect(() => mg.permute(x, [0])).toThrow(/permute: .* has 1 entries .* rank 2/);
    expect(() => mg.permute(x, [0, 0])).toThrow(/permute: .*repeats/);
    expect(() => mg.permute(x, [0, 2])).toThrow(/permute: axis 2 is out of range/);
    expect(() => mg.slice(x, 2, 0)).toThrow(/slice: axis 2 is out of range/);
    expect(() => mg.slice(mg.tensor(1), 0, 0)).toThrow(/slice: cannot slice a 0-d tensor/);
    expect(() => mg.cat([x, x], -3)).toThrow(/cat: axis -3 is out of range/);
    expect(() => mg.stack([x], 3)).toThrow(/stack: axis 3 is out of range/);
    expect(() => mg.gather(x, 2, ix)).toThrow(/gather: axis 2 is out of range/);
    expect(() => mg.indexSelect(x, -3, i32([0]))).toThrow(/indexSelect: axis -3 is out of range/);
    expect(() => mg.unsqueeze(x, 3)).toThrow(/unsqueeze: axis 3 is out of range/);
    expect(() => mg.unsqueeze(x, -4)).toThrow(/unsqueeze: axis -4 is out of range/);
    expect(() => mg.squeeze(x, 2)).toThrow(/squeeze: axis 2 is out of range/);
    expect(() => mg.flatten(x, 1, 0)).toThrow(/flatten: startDim 1 comes after endDim 0/);
  });

  test('mismatched shapes, dtypes and bad arguments', () => {
    expect(() => mg.cat([mg.zeros([2, 3]), mg.zeros([2, 4])])).toThrow('cat: tensor 1 has shape [2,4] but [2,3] is needed off axis 0');
    expect(() => mg.cat([mg.zeros([2, 3]), mg.zeros([3])])).toThrow(/cat: tensor 1 has shape \[3\]/);
    expect(() => mg.cat([])).toThrow(/cat: expected a non-empty array/);
    expect(() => mg.cat([mg.tensor(1)])).toThrow(/cat: 0-d tensors/);
    expect(() => mg.stack([mg.zeros([2]), mg.zeros([3])])).toThrow(/stack: tensor 1 has shape \[3\] but tensor 0 has \[2\]/);
    expect(() => mg.expand(mg.zeros([2, 3]), [4, 3])).toThrow(/expand: cannot expand shape \[2,3\] to \[4,3\]/);
    expect(() => mg.expand(mg.zeros([2, 3]), [3])).toThrow(/expand: cannot expand shape \[2,3\] to the lower rank \[3\]/);
    expect(() => mg.expand(mg.zeros([3]), [-1, 3])).toThrow(/expand: -1 is not allowed/);
    expect(() => mg.slice(x, 0, 0, 2, 0)).toThrow(/slice: step must be a positive integer, got 0/);
    expect(() => mg.slice(x, 0, 0, 2, -1)).toThrow(/slice: step must be a positive integer, got -1/);
    expect(() => mg.slice(x, 0, 0.5)).toThrow(/slice: start must be an integer/);
    expect(() => mg.gather(x, 0, i32([0], [1]))).toThrow(/gather: index of shape \[1\] must have the rank of x \[2,3\]/);
    expect(() => mg.gather(x, 0, i32([0, 0, 0, 0], [1, 4]))).toThrow(/gather: index shape \[1,4\] exceeds x shape \[2,3\] at dim 1/);
    expect(() => mg.scatterAdd(x, 0, ix, mg.ones([1, 1]))).toThrow(/scatterAdd: index shape \[1,2\] exceeds src \[1,1\]/);
    expect(() => mg.scatterAdd(x, 0, ix, mg.ones([1, 2], { dtype: 'float64' }))).toThrow(/scatterAdd: src is float64 but x is float32/);
    expect(() => mg.indexSelect(x, 0, i32([0, 1], [1, 2]))).toThrow(/indexSelect: index must be 1-D, got shape \[1,2\]/);
    expect(() => mg.indexAdd(x, 0, i32([0]), mg.ones([2, 3]))).toThrow(/indexAdd: src has shape \[2,3\] but \[1,3\] is needed/);
    expect(() => mg.oneHot(i32([0]), 0)).toThrow(/oneHot: numClasses must be a positive integer, got 0/);
    expect(() => mg.oneHot(i32([0]), 2.5)).toThrow(/oneHot: numClasses must be a positive integer, got 2.5/);
    expect(() => mg.pad(x, [1])).toThrow(/pad: pads \[1\] must have an even length of at most 4/);
    expect(() => mg.pad(x, [1, 1, 1, 1, 1, 1])).toThrow(/pad: .* at most 4 for shape \[2,3\]/);
    expect(() => mg.pad(x, [1, -1])).toThrow(/pad: pads \[1,-1\] must be non-negative integers/);
  });
});
