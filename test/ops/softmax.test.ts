import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { logSoftmax, softmax } from '../../src/ops/softmax.js';
import { expectClose, numel, randomTensor, strides } from '../helpers.js';

/** Softmax along `axis` by its definition, in float64, with the maximum subtracted. */
function refSoftmax(x: number[], shape: number[], axis: number, log: boolean): number[] {
  const st = strides(shape);
  const R = shape[axis];
  const y = new Array<number>(x.length).fill(0);
  for (let base = 0; base < x.length; base++) {
    if (Math.floor(base / st[axis]) % R !== 0) continue; // one visit per slice, from its first element
    let m = -Infinity;
    for (let r = 0; r < R; r++) m = Math.max(m, x[base + r * st[axis]]);
    let s = 0;
    for (let r = 0; r < R; r++) s += Math.exp(x[base + r * st[axis]] - m);
    for (let r = 0; r < R; r++) {
      const v = x[base + r * st[axis]];
      y[base + r * st[axis]] = log ? v - m - Math.log(s) : Math.exp(v - m) / s;
    }
  }
  return y;
}

const cases: { shape: number[]; axis: number }[] = [
  { shape: [4, 7], axis: -1 },
  { shape: [4, 7], axis: 0 },
  { shape: [13], axis: 0 },
  { shape: [2, 5, 3], axis: 1 },
  { shape: [3, 5, 70], axis: 1 }, // inner > one column block
  { shape: [3, 4, 2, 5], axis: -3 },
  { shape: [2, 3, 4], axis: 2 },
];

describe('softmax / logSoftmax', () => {
  for (const c of cases) {
    for (const dtype of ['float32', 'float64'] as const) {
      test(`${JSON.stringify(c.shape)} axis ${c.axis} (${dtype})`, () => {
        const x = randomTensor(c.shape, dtype, 1, -5, 5);
        const ax = c.axis < 0 ? c.axis + c.shape.length : c.axis;
        const t = dtype === 'float32' ? { rtol: 1e-5, atol: 1e-6 } : { rtol: 1e-13, atol: 1e-15 };
        const y = softmax(x.t, c.axis);
        expect(y.shape).toEqual(c.shape);
        expect(y.dtype).toBe(dtype);
        expectClose(y, refSoftmax(x.v, c.shape, ax, false), t);
        const ly = logSoftmax(x.t, c.axis);
        expectClose(ly, refSoftmax(x.v, c.shape, ax, true), t);
        // logSoftmax = log(softmax), and each slice sums to 1
        const yv = y.data();
        expectClose(ly, Array.from(yv, Math.log), dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : { rtol: 1e-12, atol: 1e-13 });
        const st = strides(c.shape);
        for (let base = 0; base < yv.length; base++) {
          if (Math.floor(base / st[ax]) % c.shape[ax] !== 0) continue;
          let s = 0;
          for (let r = 0; r < c.shape[ax]; r++) s += yv[base + r * st[ax]];
          expect(Math.abs(s - 1)).toBeLessThan(dtype === 'float32' ? 1e-5 : 1e-14);
        }
      });
    }
  }

  test('default axis is the last', () => {
    const x = randomTensor([3, 4], 'float64', 2);
    expect(Array.from(softmax(x.t).data())).toEqual(Array.from(softmax(x.t, 1).data()));
    expect(Array.from(logSoftmax(x.t).data())).toEqual(Array.from(logSoftmax(x.t, -1).data()));
  });

  test('hand-computed values', () => {
    const y = softmax(mg.tensor(Float64Array.from([0, Math.log(3)]), { shape: [2], dtype: 'float64' }));
    expectClose(y, [0.25, 0.75]);
    expectClose(logSoftmax(mg.tensor(Float64Array.from([1, 1, 1, 1]), { shape: [4], dtype: 'float64' })), [-Math.log(4), -Math.log(4), -Math.log(4), -Math.log(4)]);
  });

  test('large offsets stay finite and shift-invariant', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const x = randomTensor([3, 6], dtype, 3, -3, 3);
      const arr = (vals: number[]) => (dtype === 'float32' ? Float32Array.from(vals) : Float64Array.from(vals));
      const big = mg.tensor(arr(x.v.map((v) => v + 1000)), { shape: [3, 6], dtype });
      const neg = mg.tensor(arr(x.v.map((v) => v - 1000)), { shape: [3, 6], dtype });
      for (const t of [big, neg]) {
        const s = softmax(t).data();
        const l = logSoftmax(t).data();
        for (let i = 0; i < s.length; i++) expect(Number.isFinite(s[i]) && Number.isFinite(l[i])).toBe(true);
        expectClose(s, refSoftmax(x.v, [3, 6], 1, false), { rtol: 2e-3, atol: 1e-4 }); // float32 loses digits to the offset
      }
      expectClose(softmax(big, 0), refSoftmax(x.v, [3, 6], 0, false), { rtol: 2e-3, atol: 1e-4 });
    }
  });

  test('-inf entries give 0 (log: -inf); an all -inf slice gives NaN', () => {
    const I = -Infinity;
    const x = mg.tensor(Float64Array.from([0, I, 0, I, I, I]), { shape: [2, 3], dtype: 'float64' });
    const s = Array.from(softmax(x).data());
    expect(s.slice(0, 3)).toEqual([0.5, 0, 0.5]);
    expect(s.slice(3).every(Number.isNaN)).toBe(true);
    const l = Array.from(logSoftmax(x).data());
    expect(l[1]).toBe(-Infinity);
    expect(l[0]).toBeCloseTo(-Math.log(2), 14);
    expect(l.slice(3).every(Number.isNaN)).toBe(true);
    // the same along a strided axis
    const xt = mg.tensor(Float32Array.from([0, I, I, I, 0, I]), { shape: [3, 2] });
    const st = Array.from(softmax(xt, 0).data());
    expect([st[0], st[2], st[4]]).toEqual([0.5, 0, 0.5]);
    expect([st[1], st[3], st[5]].every(Number.isNaN)).toBe(true);
    expect(Array.from(logSoftmax(xt, 0).data())[2]).toBe(-Infinity);
  });

  test('NaN propagates to its slice', () => {
    const x = mg.tensor(Float64Array.from([NaN, 1, 2, 3]), { shape: [2, 2], dtype: 'float64' });
    const s = Array.from(softmax(x).data());
    expect(Number.isNaN(s[0]) && Number.isNaN(s[1])).toBe(true);
    expectClose(s.slice(2), refSoftmax([2, 3], [2], 0, false));
  });

  test('large input (parallel rows and columns), float32', () => {
    for (const [shape, axis] of [[[400, 300], 1], [[300, 400], 0]] as const) {
      const x = randomTensor(shape as unknown as number[], 'float32', 4, -8, 8);
      expectClose(softmax(x.t, axis), refSoftmax(x.v, shape as unknown as number[], axis, false), { rtol: 1e-5, atol: 1e-7 });
      expectClose(logSoftmax(x.t, axis), refSoftmax(x.v, shape as unknown as number[], axis, true), { rtol: 1e-5, atol: 1e-5 });
      expect(numel(shape as unknown as number[])).toBe(120000);
    }
  });

  test('errors', () => {
    expect(() => softmax(mg.zeros([2, 3], { dtype: 'int32' }))).toThrow('softmax: input [2,3] must be float32 or float64, got int32');
    expect(() => logSoftmax(mg.zeros([2, 3]), 2)).toThrow(/logSoftmax: axis 2 is out of range for a tensor of rank 2/);
    expect(() => softmax(mg.zeros([2, 3]), -3)).toThrow(/softmax: axis -3/);
    expect(() => softmax(mg.zeros([2, 3]), 0.5)).toThrow(/softmax: axis 0.5/);
  });
});
