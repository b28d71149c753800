import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward, maxPool2dWithIndices, type Pool2dOptions } from '../../src/ops/pool.js';
import { expectClose, numel, randomTensor } from '../helpers.js';

// ---- plain-TypeScript references --------------------------------------------------------------

interface P { kh: number; kw: number; sh: number; sw: number; ph: number; pw: number; dh: number; dw: number; ceil: boolean; cip: boolean }
function params(k: number | [number, number], o: Pool2dOptions): P {
  const p = (v: number | [number, number] | undefined, d: [number, number]): [number, number] => (v === undefined ? d : typeof v === 'number' ? [v, v] : v);
  const [kh, kw] = p(k, [1, 1]);
  const [sh, sw] = p(o.stride, [kh, kw]);
  const [ph, pw] = p(o.padding, [0, 0]);
  const [dh, dw] = p(o.dilation, [1, 1]);
  return { kh, kw, sh, sw, ph, pw, dh, dw, ceil: o.ceilMode ?? false, cip: o.countIncludePad ?? true };
}
// Output size per the PyTorch docs: floor (or ceil) of (in + 2p - d(k-1) - 1)/s + 1, minus one
// if ceil mode would start the last window beyond the input and the left padding.
function outLen(n: number, k: number, s: number, p: number, d: number, ceil: boolean): number {
  const span = (n + 2 * p - d * (k - 1) - 1) / s;
  let o = (ceil ? Math.ceil(span) : Math.floor(span)) + 1;
  if (ceil && (o - 1) * s >= n + p) o--;
  return o;
}
function outShape(xs: number[], q: P): number[] {
  return [xs[0], xs[1], outLen(xs[2], q.kh, q.sh, q.ph, q.dh, q.ceil), outLen(xs[3], q.kw, q.sw, q.pw, q.dw, q.ceil)];
}
/** Max over each window's in-range taps (row-major, strict >: the first maximum wins). */
function refMax(x: number[], xs: number[], q: P): { v: number[]; i: number[] } {
  const [N, C, H, W] = xs;
  const [, , Ho, Wo] = outShape(xs, q);
  const v: number[] = [];
  const ix: number[] = [];
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        let best = -Infinity;
        let bi = -1;
        for (let i = 0; i < q.kh; i++)
          for (let j = 0; j < q.kw; j++) {
            const h = oh * q.sh - q.ph + i * q.dh;
            const w = ow * q.sw - q.pw + j * q.dw;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const val = x[pl * H * W + h * W + w];
            if (bi < 0 || val > best) {
              best = val;
              bi = h * W + w;
            }
          }
        v.push(best);
        ix.push(bi);
      }
  return { v, i: ix };
}
/**
 * Average pooling from PyTorch's documented divisor: with countIncludePad, the window clipped to
 * the padded input [-p, n + p); otherwise the number of input elements in the window.
 */
function avgWindows(xs: number[], q: P, f: (outIdx: number, inIdx: number, div: number) => void): void {
  const [N, C, H, W] = xs;
  const [, , Ho, Wo] = outShape(xs, q);
  for (let pl = 0; pl < N * C; pl++)
    for (let oh = 0; oh < Ho; oh++)
      for (let ow = 0; ow < Wo; ow++) {
        const taps: number[] = [];
        let padded = 0;
        for (let i = 0; i < q.kh; i++)
          for (let j = 0; j < q.kw; j++) {
            const h = oh * q.sh - q.ph + i;
            const w = ow * q.sw - q.pw + j;
            if (h >= H + q.ph || w >= W + q.pw) continue; // beyond the right/bottom padding
            padded++;
            if (h >= 0 && h < H && w >= 0 && w < W) taps.push(pl * H * W + h * W + w);
          }
        const div = q.cip ? padded : taps.length;
        for (const t of taps) f((pl * Ho + oh) * Wo + ow, t, div);
      }
}
function refAvg(x: number[], xs: number[], q: P): number[] {
  const y = new Array<number>(numel(outShape(xs, q))).fill(0);
  avgWindows(xs, q, (o, i, d) => { y[o] += x[i] / d; });
  return y;
}
function refAvgBackward(g: number[], xs: number[], q: P): number[] {
  const dx = new Array<number>(numel(xs)).fill(0);
  avgWindows(xs, q, (o, i, d) => { dx[i] += g[o] / d; });
  return dx;
}
function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

interface Case { name: string; xs: number[]; k: number | [number, number]; opts: Pool2dOptions }
const maxCases: Case[] = [
  { name: 'k2 default stride', xs: [2, 3, 6, 6], k: 2, opts: {} },
  { name: 'k3 s1 overlapping, padding 1', xs: [2, 2, 5, 6], k: 3, opts: { stride: 1, padding: 1 } },
  { name: 'k3 s2 ceil mode', xs: [1, 3, 8, 7], k: 3, opts: { stride: 2, ceilMode: true } },
  { name: 'k2 s2 p1 ceil mode (last window dropped)', xs: [2, 2, 5, 5], k: 2, opts: { padding: 1, ceilMode: true } },
  { name: 'dilation 2 with padding', xs: [2, 2, 9, 8], k: 3, opts: { stride: 2, padding: 1, dilation: 2 } },
  { name: 'non-square kernel and stride', xs: [2, 2, 7, 9], k: [2, 3], opts: { stride: [1, 2], padding: [1, 1], dilation: [1, 2], ceilMode: true } },
];
const avgCases: Case[] = [
  { name: 'k2 default stride', xs: [2, 3, 6, 6], k: 2, opts: {} },
  { name: 'k3 s2 padding 1, countIncludePad', xs: [2, 2, 7, 6], k: 3, opts: { stride: 2, padding: 1 } },
  { name: 'k3 s2 padding 1, no countIncludePad', xs: [2, 2, 7, 6], k: 3, opts: { stride: 2, padding: 1, countIncludePad: false } },
  { name: 'ceil mode clipped windows, countIncludePad', xs: [1, 2, 7, 8], k: 3, opts: { stride: 2, padding: 1, ceilMode: true } },
  { name: 'ceil mode clipped windows, no countIncludePad', xs: [1, 2, 7, 8], k: 3, opts: { stride: 2, padding: 1, ceilMode: true, countIncludePad: false } },
  { name: 'non-square kernel and stride, ceil', xs: [2, 1, 7, 9], k: [2, 3], opts: { stride: [3, 2], padding: [1, 1], ceilMode: true } },
];

describe('maxPool2d', () => {
  for (const c of maxCases) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${c.name} (${dtype})`, () => {
        const x = randomTensor(c.xs, dtype, 1);
        const q = params(c.k, c.opts);
        const ref = refMax(x.v, c.xs, q);
        const [v, i] = maxPool2dWithIndices(x.t, c.k, c.opts);
        expect(v.shape).toEqual(outShape(c.xs, q));
        expect(i.dtype).toBe('int32');
        expect(Array.from(v.data())).toEqual(ref.v); // a max is exact
        expect(Array.from(i.data())).toEqual(ref.i);
        expect(Array.from(maxPool2d(x.t, c.k, c.opts).data())).toEqual(ref.v);
      });
    }
    test(`${c.name}: backward vs scatter reference and adjoint identity`, () => {
      const x = randomTensor(c.xs, 'float64', 2);
      const q = params(c.k, c.opts);
      const [v, i] = maxPool2dWithIndices(x.t, c.k, c.opts);
      const g = randomTensor(v.shape, 'float64', 3);
      const dx = maxPool2dBackward(g.t, i, c.xs);
      expect(dx.shape).toEqual(c.xs);
      const ref = new Array<number>(numel(c.xs)).fill(0);
      const idx = refMax(x.v, c.xs, q).i;
      const plane = c.xs[2] * c.xs[3];
      const oplane = v.shape[2] * v.shape[3];
      idx.forEach((k, o) => { ref[Math.floor(o / oplane) * plane + k] += g.v[o]; });
      expectClose(dx, ref);
      expect(Math.abs(dot(v.data(), g.v) - dot(x.v, dx.data()))).toBeLessThan(1e-10);
    });
  }

  test('known output sizes (PyTorch ceil-mode rule)', () => {
    expect(maxPool2d(mg.zeros([1, 1, 5, 5]), 2, { padding: 1, ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
    expect(maxPool2d(mg.zeros([1, 1, 5, 5]), 2, { ceilMode: true }).shape).toEqual([1, 1, 3, 3]);
    expect(maxPool2d(mg.zeros([1, 1, 5, 5]), 2).shape).toEqual([1, 1, 2, 2]);
    expect(maxPool2d(mg.zeros([1, 1, 6, 6]), 3, { stride: 2, padding: 1, ceilMode: true }).shape).toEqual([1, 1, 4, 4]);
  });

  test('hand-computed values, indices and ties (first index wins)', () => {
    const x = mg.tensor(Float64Array.from([1, 5, 5, 0, 2, 2, 3, 1, 7, 7, 7, 7, 7, 7, 7, 7]), { shape: [1, 1, 4, 4], dtype: 'float64' });
    const [v, i] = maxPool2dWithIndices(x, 2);
    expect(Array.from(v.data())).toEqual([5, 5, 7, 7]);
    expect(Array.from(i.data())).toEqual([1, 2, 8, 10]);
    const [v2, i2] = maxPool2dWithIndices(mg.zeros([1, 1, 3, 3]), 3, { stride: 1, padding: 1 });
    expect(Array.from(v2.data())).toEqual(new Array(9).fill(0));
    expect(Array.from(i2.data())).toEqual([0, 0, 1, 0, 0, 1, 3, 3, 4]);
  });

  test('padding acts as -inf and NaN propagates', () => {
    const x = mg.tensor(Float32Array.from([-5, -6, -7, -8]), { shape: [1, 1, 2, 2] });
    expect(Array.from(maxPool2d(x, 2, { stride: 1, padding: 1 }).data())).toEqual([-5, -5, -6, -5, -5, -6, -7, -7, -8]);
    const [v, i] = maxPool2dWithIndices(mg.tensor(Float32Array.from([1, NaN, 3, 2]), { shape: [1, 1, 2, 2] }), 2);
    expect(Number.isNaN(v.data()[0])).toBe(true);
    expect(Array.from(i.data())).toEqual([1]);
  });

  test('2x2 stride 2 (its own fast kernel) agrees with the general one on ties, NaN and -inf', () => {
    // ceilMode on even sizes adds no window, and takes the general kernel: the same windows.
    const vals = [0, 1, 1, NaN, -Infinity, 2, 2, NaN];
    let s = 7;
    const data = Float32Array.from({ length: 2 * 3 * 6 * 8 }, () => vals[(s = (s * 16807) % 2147483647) % vals.length]);
    for (const dtype of ['float32', 'float64'] as const) {
      const x = mg.tensor(data, { shape: [2, 3, 6, 8], dtype });
      const [vf, i_f] = maxPool2dWithIndices(x, 2);
      const [vg, ig] = maxPool2dWithIndices(x, 2, { ceilMode: true });
      expect(vf.shape).toEqual([2, 3, 3, 4]);
      expect(Array.from(i_f.data())).toEqual(Array.from(ig.data()));
      expect(Array.from(vf.data()).map(String)).toEqual(Array.from(vg.data()).map(String)); // NaN compared as text
      expect(Array.from(vf.data()).some(Number.isNaN)).toBe(true);
    }
    const odd = randomTensor([2, 2, 7, 9], 'float32', 8); // the last row and column fall outside every window
    const [v, i] = maxPool2dWithIndices(odd.t, 2);
    const ref = refMax(odd.v, [2, 2, 7, 9], params(2, {}));
    expect(Array.from(v.data())).toEqual(ref.v);
    expect(Array.from(i.data())).toEqual(ref.i);
  });

  test('a window with no input element (dilation over padding) gives -inf and index -1', () => {
    const x = mg.ones([1, 1, 2, 2]);
    const [v, i] = maxPool2dWithIndices(x, 2, { dilation: 3, padding: 1 });
    expect(v.shape).toEqual([1, 1, 1, 1]);
    expect(Array.from(v.data())).toEqual([-Infinity]);
    expect(Array.from(i.data())).toEqual([-1]);
    expect(Array.from(maxPool2dBackward(mg.ones([1, 1, 1, 1]), i, [1, 1, 2, 2]).data())).toEqual([0, 0, 0, 0]);
  });

  test('unbatched [C,H,W] input and backward', () => {
    const x = randomTensor([2, 4, 4], 'float64', 5);
    const [v, i] = maxPool2dWithIndices(x.t, 2);
    expect(v.shape).toEqual([2, 2, 2]);
    expect(Array.from(v.data())).toEqual(refMax(x.v, [1, 2, 4, 4], params(2, {})).v);
    expect(maxPool2dBackward(v, i, [2, 4, 4]).shape).toEqual([2, 4, 4]);
  });

  test('larger input (parallel over planes)', () => {
    const xs = [8, 16, 20, 20];
    const x = randomTensor(xs, 'float32', 6);
    const q = params(3, { stride: 2, padding: 1 });
    const [v, i] = maxPool2dWithIndices(x.t, 3, { stride: 2, padding: 1 });
    const ref = refMax(x.v, xs, q);
    expect(Array.from(v.data())).toEqual(ref.v);
    expect(Array.from(i.data())).toEqual(ref.i);
  });
});

describe('avgPool2d', () => {
  for (const c of avgCases) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${c.name} (${dtype})`, () => {
        const x = randomTensor(c.xs, dtype, 1);
        const q = params(c.k, c.opts);
        const y = avgPool2d(x.t, c.k, c.opts);
        expect(y.shape).toEqual(outShape(c.xs, q));
        expectClose(y, refAvg(x.v, c.xs, q), dtype === 'float32' ? { rtol: 1e-5, atol: 1e-6 } : {});
      });
    }
    test(`${c.name}: backward vs reference and adjoint identity`, () => {
      const x = randomTensor(c.xs, 'float64', 2);
      const q = params(c.k, c.opts);
      const y = avgPool2d(x.t, c.k, c.opts);
      const g = randomTensor(y.shape, 'float64', 3);
      const dx = avgPool2dBackward(g.t, c.xs, c.k, c.opts);
      expect(dx.shape).toEqual(c.xs);
      expectClose(dx, refAvgBackward(g.v, c.xs, q));
      expect(Math.abs(dot(y.data(), g.v) - dot(x.v, dx.data()))).toBeLessThan(1e-10);
    });
  }

  test('hand-computed divisors', () => {
    const x = mg.tensor(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), { shape: [1, 1, 3, 3], dtype: 'float64' });
    // ceil mode: the clipped windows divide by their in-input size (nothing counts beyond the padding)
    expect(Array.from(avgPool2d(x, 2, { ceilMode: true }).data())).toEqual([3, 4.5, 7.5, 9]);
    expect(Array.from(avgPool2d(x, 3, { stride: 2, padding: 1 }).data())).toEqual([12 / 9, 16 / 9, 24 / 9, 28 / 9]);
    expect(Array.from(avgPool2d(x, 3, { stride: 2, padding: 1, countIncludePad: false }).data())).toEqual([3, 4, 6, 7]);
  });

  test('float32 backward and unbatched input', () => {
    const x = randomTensor([3, 5, 5], 'float32', 9);
    const q = params(2, { padding: 1 });
    const y = avgPool2d(x.t, 2, { padding: 1 });
    expect(y.shape).toEqual([3, 3, 3]);
    expectClose(y, refAvg(x.v, [1, 3, 5, 5], q), { rtol: 1e-5, atol: 1e-6 });
    const g = randomTensor([3, 3, 3], 'float32', 10);
    expectClose(avgPool2dBackward(g.t, [3, 5, 5], 2, { padding: 1 }), refAvgBackward(g.v, [1, 3, 5, 5], q), { rtol: 1e-5, atol: 1e-6 });
  });
});

describe('pooling errors', () => {
  const x = mg.zeros([1, 2, 4, 4]);
  test('padding at most half the kernel', () => {
    expect(() => maxPool2d(x, 2, { padding: 2 })).toThrow('maxPool2d: padding [2,2] must be at most half the kernel size [2,2]');
    expect(() => avgPool2d(x, [3, 2], { padding: [1, 2] })).toThrow(/avgPool2d: padding \[1,2\] must be at most half/);
  });
  test('dtype, rank, parameters', () => {
    expect(() => maxPool2d(mg.zeros([1, 2, 4, 4], { dtype: 'int32' }), 2)).toThrow(/maxPool2d: input \[1,2,4,4\] must be float32 or float64, got int32/);
    expect(() => avgPool2d(mg.zeros([4, 4]), 2)).toThrow(/avgPool2d: input \[4,4\] must be 4-D/);
    expect(() => maxPool2d(x, 2, { stride: 0 })).toThrow(/maxPool2d: stride must hold integers >= 1/);
    expect(() => maxPool2d(x, 0)).toThrow(/kernelSize/);
    expect(() => maxPool2d(x, undefined as unknown as number)).toThrow('maxPool2d: kernelSize is required');
    expect(() => avgPool2d(x, 2, { dilation: 2 })).toThrow(/avgPool2d: dilation is not supported/);
  });
  test('input too small', () => {
    expect(() => maxPool2d(x, 5)).toThrow(/maxPool2d: input \[1,2,4,4\] is too small for kernel \[5,5\]/);
    expect(() => maxPool2d(x, 3, { dilation: 2 })).toThrow(/too small/);
  });
  test('backward shape checks', () => {
    const [v, i] = maxPool2dWithIndices(x, 2);
    expect(() => maxPool2dBackward(v, v, [1, 2, 4, 4])).toThrow(/maxPool2dBackward: indices must be an int32 tensor/);
    expect(() => maxPool2dBackward(v, i, [1, 3, 4, 4])).toThrow(/maxPool2dBackward: gradOut \[1,2,2,2\] does not match input shape \[1,3,4,4\]/);
    expect(() => maxPool2dBackward(mg.zeros([1, 2, 2, 1]), i, [1, 2, 4, 4])).toThrow(/differ/);
    expect(() => avgPool2dBackward(v, [1, 2, 6, 6], 2)).toThrow('avgPool2dBackward: gradOut [1,2,2,2] should be [1,2,3,3] for input [1,2,6,6]');
  });
  test('out-of-range indices are refused by the kernel', () => {
    const bad = mg.tensor(Int32Array.from([0, 1, 2, 99]), { shape: [1, 1, 2, 2], dtype: 'int32' });
    expect(() => maxPool2dBackward(mg.ones([1, 1, 2, 2]), bad, [1, 1, 4, 4])).toThrow(/index 99 is out of range/);
  });
});
