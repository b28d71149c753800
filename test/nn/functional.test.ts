import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, randomTensor } from '../helpers.js';

const F = mg.nn.functional;

describe('nn.functional composites (values against plain TypeScript references)', () => {
  test('linear = x @ W^T + b, with leading dims', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const { t: x, v: xv } = randomTensor([2, 3, 4], dtype, 1);
      const { t: w, v: wv } = randomTensor([5, 4], dtype, 2);
      const { t: b, v: bv } = randomTensor([5], dtype, 3);
      const ref: number[] = [];
      for (let r = 0; r < 6; r++)
        for (let o = 0; o < 5; o++) {
          let acc = bv[o];
          for (let i = 0; i < 4; i++) acc += xv[r * 4 + i] * wv[o * 4 + i];
          ref.push(acc);
        }
      const y = F.linear(x, w, b);
      expect(y.shape).toEqual([2, 3, 5]);
      expectClose(y, ref, dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : {});
      const y0 = F.linear(x, w);
      expectClose(y0, ref.map((v, i) => v - bv[i % 5]), dtype === 'float32' ? { rtol: 1e-5, atol: 1e-5 } : {});
    }
    expect(() => F.linear(mg.zeros([2, 3]), mg.zeros([5, 4]))).toThrow(/linear: input \[2,3\] has 3 features but weight \[5,4\] expects 4/);
    expect(() => F.linear(mg.zeros([2, 4]), mg.zeros([5, 4]), mg.zeros([4]))).toThrow(/linear: bias \[4\] must be \[5\]/);
  });

  test('mseLoss reductions', () => {
    const a = mg.tensor([1, 2, 3], { dtype: 'float64' });
    const b = mg.tensor([1.5, 0, 3], { dtype: 'float64' });
    expectClose(F.mseLoss(a, b), [(0.25 + 4) / 3]);
    expectClose(F.mseLoss(a, b, { reduction: 'sum' }), [4.25]);
    expectClose(F.mseLoss(a, b, { reduction: 'none' }), [0.25, 4, 0]);
    expect(() => F.mseLoss(a, b, { reduction: 'avg' as never })).toThrow(/mseLoss: reduction/);
  });

  test('crossEntropy: class indices, probabilities, label smoothing, spatial dims', () => {
    const logits = [[2, 1, 0.1], [0.5, 2.5, -1]];
    const target = [0, 1];
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const nll = logits.map((r, i) => lse(r) - r[target[i]]);
    const x = mg.tensor(logits, { dtype: 'float64' });
    const t = mg.tensor(target, { dtype: 'int32' });
    expectClose(F.crossEntropy(x, t), [(nll[0] + nll[1]) / 2]);
    expectClose(F.crossEntropy(x, t, { reduction: 'none' }), nll);
    expectClose(F.crossEntropy(x, t, { reduction: 'sum' }), [nll[0] + nll[1]]);
    // label smoothing s: (1 - s) * nll + s * mean_c(-log p_c)
    const s = 0.1;
    const smooth = logits.map((r, i) => (1 - s) * nll[i] + (s * r.reduce((acc, v) => acc + (lse(r) - v), 0)) / 3);
    expectClose(F.crossEntropy(x, t, { reduction: 'none', labelSmoothing: s }), smooth, { rtol: 1e-12 });
    // probability targets equal to one-hot give the same loss as indices
    const p = mg.tensor([[1, 0, 0], [0, 1, 0]], { dtype: 'float64' });
    expectClose(F.crossEntropy(x, p, { reduction: 'none' }), nll);
    // [N, C, d] logits with [N, d] targets: the class axis is 1
    const x3 = mg.tensor([[[2, 0.5], [1, 2.5], [0.1, -1]]], { dtype: 'float64' }); // [1, 3, 2] = logits^T
    const t3 = mg.tensor([[0, 1]], { dtype: 'int32' });
    expectClose(F.crossEntropy(x3, t3, { reduction: 'none' }), nll);
    expect(() => F.crossEntropy(x, mg.tensor([0, 3], { dtype: 'int32' }))).toThrow(/crossEntropy: target holds a class outside \[0, 3\)/);
    expect(() => F.crossEntropy(x, mg.tensor([0], { dtype: 'int32' }))).toThrow(/crossEntropy: target \[1\] must be \[2\]/);
  });

  test('batchNorm: training statistics, running-stat update, eval mode', () => {
    const N = 4, C = 3, H = 2, W = 2;
    const { t: x, v: xv } = randomTensor([N, C, H, W], 'float64', 7);
    const { t: g, v: gv } = randomTensor([C], 'float64', 8);
    const { t: b, v: bv } = randomTensor([C], 'float64', 9);
    const rm = mg.zeros([C], { dtype: 'float64' });
    const rv = mg.ones([C], { dtype: 'float64' });
    const y = F.batchNorm(x, rm, rv, { weight: g, bias: b, training: true, momentum: 0.1, eps: 1e-5 });
    const m = H * W * N;
    const ref = new Array(xv.length);
    const at = (n: number, c: number, k: number) => ((n * C + c) * H * W) + k;
    const rmRef: number[] = [];
    const rvRef: number[] = [];
    for (let c = 0; c < C; c++) {
      let mean = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < H * W; k++) mean += xv[at(n, c, k)];
      mean /= m;
      let v = 0;
      for (let n = 0; n < N; n++) for (let k = 0; k < H * W; k++) v += (xv[at(n, c, k)] - mean) ** 2;
      const biased = v / m;
      for (let n = 0; n < N; n++) for (let k = 0; k < H * W; k++) ref[at(n, c, k)] = ((xv[at(n, c, k)] - mean) / Math.sqrt(biased + 1e-5)) * gv[c] + bv[c];
      rmRef.push(0.1 * mean);
      rvRef.push(0.9 + 0.1 * (v / (m - 1))); // unbiased in the running estimate, as PyTorch
    }
    expectClose(y, ref, { rtol: 1e-10, atol: 1e-12 });
    expectClose(rm, rmRef, { rtol: 1e-12, atol: 1e-15 });
    expectClose(rv, rvRef, { rtol: 1e-12 });
    const e = F.batchNorm(x, rm, rv, { weight: g, bias: b });
    const eref = xv.map((val, i) => {
      const c = Math.floor(i / (H * W)) % C;
      return ((val - rmRef[c]) / Math.sqrt(rvRef[c] + 1e-5)) * gv[c] + bv[c];
    });
    expectClose(e, eref, { rtol: 1e-10, atol: 1e-12 });
    expect(() => F.batchNorm(x, null, null)).toThrow(/batchNorm: eval mode needs/);
    expect(() => F.batchNorm(x, mg.zeros([2], { dtype: 'float64' }), rv, { training: true })).toThrow(/batchNorm: runningMean \[2\] must be \[3\]/);
    expect(() => F.batchNorm(mg.zeros([1, 3]), null, null, { training: true })).toThrow(/more than one value per channel/);
  });
});
