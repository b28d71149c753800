// The fused batch-norm primitives (src/ops/batchnorm.ts, native/cpu/batchnorm.cc) against plain
// TypeScript references written from the definitions; their derivative rules are checked in the
// op table (test/autograd/cases/nn.ts).
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, randomTensor } from '../helpers.js';

interface Ref { y: number[]; back: number[]; wgrad: number[] }

/** xhat, y = xhat * w + b, w * r * P u and sum(dy * xhat) per channel, in float64 from the values. */
function reference(x: number[], shape: number[], u: number[], w: number[] | null, b: number[] | null, eps: number): Ref {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((a, d) => a * d, 1);
  const m = N * S;
  const idx = (n: number, c: number, k: number) => (n * C + c) * S + k;
  const y = new Array<number>(x.length), back = new Array<number>(x.length), wgrad = new Array<number>(C);
  for (let c = 0; c < C; c++) {
    let mean = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) mean += x[idx(n, c, k)];
    mean /= m;
    let v = 0;
    for (let n = 0; n < N; n++) for (let k = 0; k < S; k++) v += (x[idx(n, c, k)] - mean) ** 2;
    const r = 1 / Math.sqrt(v / m + eps);
    let mu = 0, mux = 0;
    for (let n = 0; n < N; n++)
      for (let k = 0; k < S; k++) {
        const i = idx(n, c, k);
        mu += u[i];
        mux += u[i] * (x[i] - mean) * r;
      }
    mu /= m;
    mux /= m;
    const g = w ? w[c] : 1;
    wgrad[c] = mux * m;
    for (let n = 0; n < N; n++)
      for (let k = 0; k < S; k++) {
        const i = idx(n, c, k);
        const xh = (x[i] - mean) * r;
        y[i] = xh * g + (b ? b[c] : 0);
        back[i] = g * r * (u[i] - mu - xh * mux);
      }
  }
  return { y, back, wgrad };
}

const shapes: [string, number[]][] = [
  ['[N, C] (no spatial dims)', [7, 3]],
  ['[5, 4, 2, 2] (tiny maps)', [5, 4, 2, 2]],
  ['[3, 2, 9, 7] (maps longer than a vector)', [3, 2, 9, 7]],
  ['[2, 300, 3] (many channels: several chunks)', [2, 300, 3]],
];

describe('fused batch norm', () => {
  for (const dtype of ['float64', 'float32'] as const) {
    for (const [name, shape] of shapes) {
      test(`${dtype} ${name}: forward, backward and weight gradient match the definitions`, () => {
        // float32 inputs far from zero (mean ~ 500, spread ~ 2): the one-pass shifted statistics must hold up.
        const x = randomTensor(shape, dtype, 11, dtype === 'float32' ? 498 : -2, dtype === 'float32' ? 502 : 2);
        const u = randomTensor(shape, dtype, 12);
        const w = randomTensor([shape[1]], dtype, 13, 0.5, 1.5);
        const b = randomTensor([shape[1]], dtype, 14);
        const ref = reference(x.v, shape, u.v, w.v, b.v, 1e-3);
        const tol = dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 2e-4, atol: 2e-4 };
        expectClose(mg.batchNormTrain(x.t, w.t, b.t, 1e-3), ref.y, tol);
        expectClose(mg.batchNormBackward(u.t, x.t, w.t, 1e-3), ref.back, tol);
        expectClose(mg.batchNormWeightGrad(u.t, x.t, 1e-3), ref.wgrad, dtype === 'float64' ? tol : { rtol: 1e-3, atol: 1e-3 });
        // F.batchNorm in training mode is the same computation.
        expectClose(mg.nn.functional.batchNorm(x.t, null, null, { training: true, weight: w.t, bias: b.t, eps: 1e-3 }), ref.y, tol);
      });
    }
  }

  test('results do not depend on the thread count (bit for bit)', () => {
    const x = randomTensor([4, 700, 5], 'float32', 21).t;
    const u = randomTensor([4, 700, 5], 'float32', 22).t;
    const before = mg.backend.cpuInfo().threads;
    const runs: number[][][] = [];
    try {
      for (const t of [1, 3]) {
        mg.backend.setNumThreads(t);
        runs.push([mg.batchNormTrain(x), mg.batchNormBackward(u, x), mg.batchNormWeightGrad(u, x)].map((r) => Array.from(r.data())));
      }
    } finally {
      mg.backend.setNumThreads(before);
    }
    expect(runs[1]).toEqual(runs[0]);
  });

  test('running statistics are still updated by F.batchNorm (unbiased variance), outside the graph', () => {
    const x = randomTensor([4, 2, 3], 'float64', 31).t.requiresGrad_();
    const rm = mg.zeros([2], { dtype: 'float64' });
    const rv = mg.ones([2], { dtype: 'float64' });
    const y = mg.nn.functional.batchNorm(x, rm, rv, { training: true, momentum: 0.5 });
    const v = x.detach();
    const mean = v.mean([0, 2]);
    const varU = v.sub(v.mean([0, 2], true)).square().sum([0, 2]).div(11);
    expectClose(rm, Array.from(mean.mul(0.5).data()));
    expectClose(rv, Array.from(varU.mul(0.5).add(0.5).data()));
    expect(y.requiresGrad).toBe(true);
  });

  test('bad input: errors name the op and the shapes', () => {
    const x = mg.zeros([2, 3, 4]);
    expect(() => mg.batchNormTrain(mg.zeros([3]))).toThrow(/batchNorm.*\[N, C, \.\.\.\]/);
    expect(() => mg.batchNormTrain(mg.zeros([1, 3]))).toThrow(/batchNorm.*more than one value per channel/);
    expect(() => mg.batchNormTrain(x, mg.ones([2]))).toThrow(/batchNorm.*weight.*\[2\].*\[3\]/);
    expect(() => mg.batchNormTrain(x, null, null, -1)).toThrow(/batchNorm.*eps/);
    expect(() => mg.batchNormBackward(mg.zeros([2, 3, 5]), x)).toThrow(/batchNormBackward.*gradOut.*\[2, ?3, ?5\].*\[2, ?3, ?4\]/);
    expect(() => mg.batchNormWeightGrad(mg.zeros([2, 3, 4], { dtype: 'float64' }), x)).toThrow(/batchNormWeightGrad.*float64/);
    expect(() => mg.batchNormTrain(mg.zeros([2, 3], { dtype: 'int32' }))).toThrow(/batchNorm.*int32/);
  });
});
