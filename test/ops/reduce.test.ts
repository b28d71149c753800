// Reductions against plain-TypeScript references over explicit index loops.
import { describe, expect, it } from 'vitest';
import * as mg from '../../src/index.js';
import { exec, header, A } from '../../src/backend/exec.js';
import { Op } from '../../src/backend/opcodes.js';
import { addon } from '../../src/backend/addon.js';
import { expectClose, numel, randomTensor, strides, unravel } from '../helpers.js';

type DT = mg.DType;
const ALL: DT[] = ['float32', 'float64', 'int32'];

/** Output shape of a reduction over `axes` (the test's own computation). */
function outShape(shape: number[], axes: number[], keepdim: boolean): number[] {
  const o: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) o.push(d);
    else if (keepdim) o.push(1);
  });
  return o;
}

/** For each output element (kept dims row-major), the reduced values in row-major order of the reduced dims. */
function groups(v: number[], shape: number[], axes: number[]): number[][] {
  const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const ks = kept.map((i) => shape[i]);
  const rs = axes.map((i) => shape[i]);
  const st = strides(shape);
  const out: number[][] = [];
  for (let o = 0; o < numel(ks); o++) {
    const ki = unravel(o, ks);
    const g: number[] = [];
    for (let r = 0; r < numel(rs); r++) {
      const ri = unravel(r, rs);
      let p = 0;
      kept.forEach((d, j) => (p += ki[j] * st[d]));
      axes.forEach((d, j) => (p += ri[j] * st[d]));
      g.push(v[p]);
    }
    out.push(g);
  }
  return out;
}

const refSum = (g: number[]) => g.reduce((a, b) => a + b, 0);
const refMax = (g: number[]) => (g.some(Number.isNaN) ? NaN : Math.max(...g));
const refMin = (g: number[]) => (g.some(Number.isNaN) ? NaN : Math.min(...g));
function refArgmax(g: number[]): number {
  let best = 0;
  for (let i = 1; i < g.length; i++) {
    if (Number.isNaN(g[best])) break;
    if (Number.isNaN(g[i]) || g[i] > g[best]) best = i;
  }
  return best;
}
function refLse(g: number[]): number {
  if (g.some(Number.isNaN)) return NaN;
  const m = Math.max(...g);
  if (m === Infinity || m === -Infinity) return m;
  return m + Math.log(g.reduce((a, x) => a + Math.exp(x - m), 0));
}

const CASES: [number[], number[]][] = [
  [[2, 3, 4], []], [[2, 3, 4], [0]], [[2, 3, 4], [1]], [[2, 3, 4], [2]], [[2, 3, 4], [0, 1]], [[2, 3, 4], [1, 2]],
  [[2, 3, 4], [0, 2]], [[2, 3, 4], [0, 1, 2]], [[2, 3, 1, 4, 2], [0, 2, 4]], [[2, 3, 1, 4, 2], [1, 3]],
  [[2, 3, 1, 4, 2], [3, 4]], [[2, 3, 1, 4, 2], [0, 1, 2, 3, 4]], [[3, 1, 5], [1]], [[1, 5, 1], [0, 2]], [[7], [0]],
  [[3, 70, 2], [1]], [[130, 3], [0]], [[2, 140, 3, 2], [0, 2]],
];

describe('sum mean max min logsumexp', () => {
  const ops = [
    { name: 'sum', f: mg.sum, ref: refSum, ints: true },
    { name: 'mean', f: mg.mean, ref: (g: number[]) => refSum(g) / g.length, ints: true },
    { name: 'max', f: mg.max, ref: refMax, ints: true },
    { name: 'min', f: mg.min, ref: refMin, ints: true },
    { name: 'logsumexp', f: mg.logsumexp, ref: refLse, ints: true },
  ];
  for (const op of ops) {
    for (const dt of ALL) {
      it(`${op.name} ${dt} over axis sets, with and without keepdim`, () => {
        CASES.forEach(([shape, axes], k) => {
          const x = randomTensor(shape, dt, k + 1, -3, 3);
          for (const keepdim of [false, true]) {
            const y = op.f(x.t, axes, keepdim);
            expect(y.shape).toEqual(outShape(shape, axes, keepdim));
            const floatOut = (op.name === 'mean' || op.name === 'logsumexp') && dt === 'int32';
            expect(y.dtype).toBe(floatOut ? 'float32' : dt);
            expectClose(y, groups(x.v, shape, axes).map(op.ref), dt === 'float32' || floatOut ? { rtol: 2e-6, atol: 1e-6 } : {});
          }
        });
        // omitted axis = all axes; negative axes count from the end
        const x = randomTensor([3, 4], dt, 99);
        expect(op.f(x.t).shape).toEqual([]);
        expect(op.f(x.t, undefined, true).shape).toEqual([1, 1]);
        expectClose(op.f(x.t), [op.ref(x.v)], { rtol: 1e-6, atol: 1e-6 });
        expectClose(op.f(x.t, -1), groups(x.v, [3, 4], [1]).map(op.ref), { rtol: 1e-6, atol: 1e-6 });
      });
    }
  }

  it('0-d tensors and empty axis lists return the values', () => {
    const s = mg.tensor(2.5);
    for (const f of [mg.sum, mg.mean, mg.max, mg.min, mg.logsumexp]) {
      const y = f(s);
      expect(y.shape).toEqual([]);
      expect(y.item()).toBe(2.5);
      expect(f(s, 0).item()).toBe(2.5);
      expect(f(s, -1, true).shape).toEqual([]);
    }
    expect(mg.argmax(s).item()).toBe(0);
    const x = mg.tensor([[1, -2], [3, 4]], { dtype: 'int32' });
    const e = mg.sum(x, []);
    expect(e.shape).toEqual([2, 2]);
    expect(e.toArray()).toEqual([[1, -2], [3, 4]]);
    expect(mg.backend.sharesStorage(e, x)).toBe(false);
    expect(mg.mean(x, []).dtype).toBe('float32');
    expectClose(mg.logsumexp(mg.tensor([-Infinity, 0, 5]), []), [-Infinity, 0, 5]);
  });

  it('size-0 axes: sum 0, mean NaN, logsumexp -inf; max/min/argmax throw', () => {
    const z = mg.zeros([2, 0]);
    expectClose(mg.sum(z, 1), [0, 0]);
    expectClose(mg.mean(z, 1), [NaN, NaN]);
    expectClose(mg.logsumexp(z, 1), [-Infinity, -Infinity]);
    expectClose(mg.sum(z), [0]);
    expect(mg.sum(z, 0).shape).toEqual([0]);
    expect(mg.max(z, 0).shape).toEqual([0]);
    expect(() => mg.max(z, 1)).toThrow('max: cannot reduce over axis 1 of size 0 (shape [2,0])');
    expect(() => mg.min(z)).toThrow(/min: cannot reduce over axis 1 of size 0/);
    expect(() => mg.argmax(z, 1)).toThrow(/argmax.*size 0/);
    expectClose(mg.sum(mg.zeros([0], { dtype: 'int32' })), [0]);
  });

  it('NaN and infinities', () => {
    for (const dt of ['float32', 'float64'] as DT[]) {
      const v = [1, NaN, 3, -Infinity, -Infinity, -Infinity, Infinity, 2, Infinity, 5, NaN, -Infinity];
      const x = mg.tensor(dt === 'float32' ? Float32Array.from(v) : Float64Array.from(v), { shape: [4, 3] });
      expectClose(mg.max(x, 1), [NaN, -Infinity, Infinity, NaN]);
      expectClose(mg.min(x, 1), [NaN, -Infinity, 2, NaN]);
      expectClose(mg.logsumexp(x, 1), [NaN, -Infinity, Infinity, NaN]);
      expectClose(mg.sum(x, 1), [NaN, -Infinity, Infinity, NaN]);
      expectClose(mg.max(x, 0), [Infinity, NaN, Infinity]);
      expectClose(mg.argmax(x, 0), [2, 0, 2]);
      const big = mg.tensor([1000, 1000, -1000], { dtype: dt });
      expectClose(mg.logsumexp(big), [1000 + Math.log(2)], { rtol: 1e-7 });
      expectClose(mg.logsumexp(mg.tensor([-1000, -1000], { dtype: dt })), [-1000 + Math.log(2)], { rtol: 1e-7 });
    }
  });

  it('int32 sums stay int32 and mean of int32 is float32', () => {
    const x = mg.tensor([[2147483647, 1], [5, 6]], { dtype: 'int32' });
    const s = mg.sum(x, 1);
    expect(s.dtype).toBe('int32');
    expectClose(s, [-2147483648, 11]);
    const m = mg.mean(mg.tensor([1, 2], { dtype: 'int32' }));
    expect(m.dtype).toBe('float32');
    expect(m.item()).toBe(1.5);
  });
});

describe('argmax', () => {
  it('along each axis and flattened, with keepdim, first occurrence', () => {
    for (const dt of ALL) {
      const shape = [3, 4, 5];
      const x = randomTensor(shape, dt, 4, -2, 2); // int32 values in -2..2: many ties
      for (let ax = 0; ax < 3; ax++) {
        const y = mg.argmax(x.t, ax);
        expect(y.dtype).toBe('int32');
        expect(y.shape).toEqual(outShape(shape, [ax], false));
        expectClose(y, groups(x.v, shape, [ax]).map(refArgmax));
        expect(mg.argmax(x.t, ax, true).shape).toEqual(outShape(shape, [ax], true));
      }
      expectClose(mg.argmax(x.t), [refArgmax(x.v)]);
      expect(mg.argmax(x.t, undefined, true).shape).toEqual([1, 1, 1]);
      expectClose(mg.argmax(x.t, -1), groups(x.v, shape, [2]).map(refArgmax));
    }
    expect(mg.argmax(mg.tensor([1, NaN, 3, NaN])).item()).toBe(1);
    expect(mg.argmax(mg.tensor([-Infinity, -Infinity])).item()).toBe(0);
    expect(mg.argmax(mg.tensor([[1, 7], [7, 2]]), 0).toArray()).toEqual([1, 0]);
  });
});

describe('errors', () => {
  it('bad axes, bad arguments and disposed inputs', () => {
    const x = mg.zeros([2, 3]);
    expect(() => mg.sum(x, 2)).toThrow(/sum: axis 2 is out of range/);
    expect(() => mg.mean(x, [0, -2])).toThrow(/mean: axis 0 is repeated/);
    expect(() => mg.max(x, 1.5)).toThrow(/max: axis 1.5/);
    expect(() => mg.argmax(x, [0] as unknown as number)).toThrow(/argmax: axis must be a number/);
    expect(() => mg.sum(x, '0' as unknown as number)).toThrow(/sum: axis must be/);
    const d = mg.ones([3]);
    d.dispose();
    expect(() => mg.sum(d)).toThrow(/sum.*disposed/);
    expect(() => mg.logsumexp(d, 0)).toThrow(/logsumexp.*disposed/);
  });

  it('the native kernel checks the axis list and output size itself', () => {
    const x = mg.zeros([2, 3]);
    let at = header('float32', 'cpu', [2]);
    A[at] = 1;
    A[at + 1] = 1; // keeps dim 0 (2 elements): fine
    const h = exec(Op.SUM, x.handle('t'));
    expect(h).toBeTruthy();
    addon.dispose(h);
    at = header('float32', 'cpu', [3]);
    A[at] = 1;
    A[at + 1] = 1; // output too small for the kept dims
    expect(() => exec(Op.SUM, x.handle('t'))).toThrow(/SUM.*output shape \[3\]/);
    at = header('float32', 'cpu', []);
    A[at] = 2;
    A[at + 1] = 1;
    A[at + 2] = 0; // not sorted
    expect(() => exec(Op.MAX, x.handle('t'))).toThrow(/MAX: bad axis list/);
    at = header('float32', 'cpu', [2]);
    A[at] = 1;
    A[at + 1] = 1;
    expect(() => exec(Op.ARGMAX, x.handle('t'))).toThrow(/ARGMAX.*output dtype/);
  });
});

describe('large inputs (threads, split reductions, accuracy)', () => {
  it('full and partial reductions cross the grain', () => {
    for (const dt of ['float32', 'float64'] as DT[]) {
      const shape = [300, 401];
      const x = randomTensor(shape, dt, 31);
      for (const axes of [[0], [1], [0, 1]]) {
        const gs = groups(x.v, shape, axes);
        const o = { rtol: dt === 'float32' ? 1e-6 : 1e-12, atol: 1e-9 };
        expectClose(mg.sum(x.t, axes), gs.map(refSum), o);
        expectClose(mg.mean(x.t, axes), gs.map((g) => refSum(g) / g.length), o);
        expectClose(mg.max(x.t, axes), gs.map(refMax), o);
        expectClose(mg.min(x.t, axes), gs.map(refMin), o);
        expectClose(mg.logsumexp(x.t, axes), gs.map(refLse), o);
        if (axes.length === 1) expectClose(mg.argmax(x.t, axes[0]), gs.map(refArgmax));
      }
      expectClose(mg.argmax(x.t), [refArgmax(x.v)]);
    }
  });

  it('non-adjacent axes on large inputs (split across threads)', () => {
    const shape = [120, 3, 600];
    const x = randomTensor(shape, 'float64', 41);
    const gs = groups(x.v, shape, [0, 2]);
    expectClose(mg.sum(x.t, [0, 2]), gs.map(refSum), { rtol: 1e-12, atol: 1e-9 });
    expectClose(mg.max(x.t, [0, 2], true), gs.map(refMax));
    expectClose(mg.logsumexp(x.t, [0, 2]), gs.map(refLse));
    const y = randomTensor([60, 50, 2, 30], 'float32', 42);
    const gy = groups(y.v, [60, 50, 2, 30], [1, 3]);
    expectClose(mg.mean(y.t, [1, 3]), gy.map((g) => refSum(g) / g.length), { rtol: 1e-6, atol: 1e-7 });
    expectClose(mg.min(y.t, [1, 3]), gy.map(refMin));
  });

  it('split reductions keep the first maximum and NaN', () => {
    const n = 200_000;
    const v = new Float32Array(n).fill(1);
    v[150_000] = 5;
    v[190_000] = 5;
    expect(mg.argmax(mg.tensor(v, { shape: [n] })).item()).toBe(150_000);
    expect(mg.argmax(mg.ones([n])).item()).toBe(0);
    v[160_000] = NaN;
    v[120_000] = NaN;
    const t = mg.tensor(v, { shape: [n] });
    expect(mg.argmax(t).item()).toBe(120_000);
    expect(mg.max(t).item()).toBeNaN();
    const w = new Float64Array(n).fill(-Infinity);
    expect(mg.logsumexp(mg.tensor(w, { shape: [n] })).item()).toBe(-Infinity);
    w[123_456] = 0;
    expect(mg.logsumexp(mg.tensor(w, { shape: [n] })).item()).toBe(0);
  });

  it('float64 sums are pairwise/blocked, float32 sums accumulate in double', () => {
    // Naive left-to-right summation of 0.1 drifts by ~1e-6 over 1e6 terms.
    const s = mg.sum(mg.full([1_000_000], 0.1, { dtype: 'float64' })).item();
    expect(Math.abs(s - 100_000)).toBeLessThan(1e-8);
    const c = mg.sum(mg.full([200_000, 2], 0.1, { dtype: 'float64' }), 0).data();
    for (const e of c) expect(Math.abs(e - 20_000)).toBeLessThan(1e-9);
    const f = mg.sum(mg.full([1_000_000], 0.1, { dtype: 'float32' })).item();
    expect(f).toBe(Math.fround(1_000_000 * Math.fround(0.1)));
    const i = mg.sum(mg.full([300, 300], 3, { dtype: 'int32' }), 1).data();
    expect(Array.from(i)).toEqual(new Array(300).fill(900));
  });
});
