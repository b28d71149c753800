import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, randomTensor } from '../helpers.js';

const F = mg.nn.functional;

/** The textbook definition, -[p t log s + (1 - t) log(1 - s)] with s = sigmoid(x), in plain doubles (fine for moderate |x|). */
function bceNaive(x: number, t: number, p = 1): number {
  const s = 1 / (1 + Math.exp(-x));
  return -(p * t * Math.log(s) + (1 - t) * Math.log(1 - s));
}

describe('binaryCrossEntropyWithLogits', () => {
  test('values against the textbook definition, reductions, posWeight', () => {
    const xs = [-4, -1.5, -0.2, 0, 0.3, 2, 5];
    const ts = [0, 1, 0.25, 1, 0, 0.5, 1];
    const x = mg.tensor(xs, { dtype: 'float64' });
    const t = mg.tensor(ts, { dtype: 'float64' });
    const ref = xs.map((v, i) => bceNaive(v, ts[i]));
    expectClose(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'none' }), ref, { rtol: 1e-12, atol: 1e-14 });
    expectClose(F.binaryCrossEntropyWithLogits(x, t), [ref.reduce((a, b) => a + b) / ref.length], { rtol: 1e-12 });
    expectClose(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'sum' }), [ref.reduce((a, b) => a + b)], { rtol: 1e-12 });
    // posWeight broadcast over the last axis of [N, C]
    const x2 = mg.tensor([[0.5, -1], [2, 0.1]], { dtype: 'float64' });
    const t2 = mg.tensor([[1, 0.3], [0, 1]], { dtype: 'float64' });
    const pw = [3, 0.5];
    const ref2 = [[0.5, -1], [2, 0.1]].flatMap((r, i) => r.map((v, c) => bceNaive(v, [[1, 0.3], [0, 1]][i][c], pw[c])));
    expectClose(F.binaryCrossEntropyWithLogits(x2, t2, { reduction: 'none', posWeight: mg.tensor(pw, { dtype: 'float64' }) }), ref2, { rtol: 1e-12 });
    // float32 logits with float32 targets work too
    expectClose(F.binaryCrossEntropyWithLogits(x.to('float32'), t.to('float32'), { reduction: 'none' }), ref, { rtol: 1e-5, atol: 1e-6 });
    expect(() => F.binaryCrossEntropyWithLogits(x, mg.zeros([6], { dtype: 'float64' }))).toThrow(/target \[6\] must have the logits' shape \[7\]/);
  });

  test('stable for large |x| (no overflow, no log(0)), in float32 and float64', () => {
    // exact values: x = 100, t = 0 -> 100; x = -1000, t = 0.3 -> 0.7 * -1000 + 1000 = 300;
    // x = 100, t = 1 -> log(1 + e^-100) = e^-100; x = -100, t = 1 -> 100; x = 1e4, t = 0.5 -> 5000
    const xs = [100, -1000, 100, -100, 1e4];
    const ts = [0, 0.3, 1, 1, 0.5];
    const want = [100, 300, Math.exp(-100), 100, 5000];
    for (const dtype of ['float64', 'float32'] as const) {
      const x = mg.tensor(xs, { dtype, requiresGrad: true });
      const l = F.binaryCrossEntropyWithLogits(x, mg.tensor(ts, { dtype }), { reduction: 'none' });
      // Absolute accuracy: without a log1p primitive, log(1 + e^-100) rounds to 0 (PyTorch's log1p
      // would return e^-100); errors stay at rounding level of max(|x|, 1).
      expectClose(l, want, { rtol: dtype === 'float64' ? 1e-12 : 1e-6, atol: dtype === 'float64' ? 1e-15 : 1e-6 });
      for (const v of l.data()) expect(Number.isFinite(v)).toBe(true);
      const [g] = mg.grad(l.sum(), [x]);
      // d/dx = sigmoid(x) - t
      expectClose(g!, [1, -0.3, 0, -1, 0.5], { rtol: 1e-6, atol: 1e-30 });
    }
  });

  test('gradient is sigmoid(x) - t, also at x = 0 (no subgradient kink)', () => {
    const x = mg.tensor([0, 0, 0.7], { dtype: 'float64', requiresGrad: true });
    const t = mg.tensor([0, 1, 0.2], { dtype: 'float64' });
    const [g] = mg.grad(F.binaryCrossEntropyWithLogits(x, t, { reduction: 'sum' }), [x]);
    expectClose(g!, [0.5, -0.5, 1 / (1 + Math.exp(-0.7)) - 0.2], { rtol: 1e-12 });
  });

  test('gradcheck and gradgradcheck in float64 (logits, targets, posWeight)', () => {
    const { t: x } = randomTensor([3, 4], 'float64', 11, -3, 3);
    const { t: tg } = randomTensor([3, 4], 'float64', 12, 0, 1);
    const { t: pw } = randomTensor([4], 'float64', 13, 0.5, 2);
    mg.gradcheck((a, b) => F.binaryCrossEntropyWithLogits(a, b), [x, tg]);
    mg.gradcheck((a, b, c) => F.binaryCrossEntropyWithLogits(a, b, { posWeight: c, reduction: 'none' }), [x, tg, pw]);
    mg.gradgradcheck((a) => F.binaryCrossEntropyWithLogits(a, tg, { reduction: 'sum' }), [x]);
  });
});

describe('accuracy', () => {
  test('argmax over the class axis against int32 labels', () => {
    const logits = mg.tensor([[1, 3, 2], [5, 0, 0], [0, 0.5, 0.4], [2, 1, 9]]);
    expect(F.accuracy(logits, mg.tensor([1, 0, 2, 2], { dtype: 'int32' }))).toBe(0.75);
    expect(F.accuracy(logits, mg.tensor([0, 1, 0, 0], { dtype: 'int32' }))).toBe(0);
    // [N, C, d] logits: classes on axis 1
    const seg = mg.tensor([[[1, 0], [0, 1]]]); // [1, 2, 2]: position 0 -> class 0, position 1 -> class 1
    expect(F.accuracy(seg, mg.tensor([[0, 0]], { dtype: 'int32' }))).toBe(0.5);
    expect(() => F.accuracy(logits, mg.tensor([1, 0, 2], { dtype: 'int32' }))).toThrow(/labels \[3\] must be \[4\]/);
    expect(() => F.accuracy(logits, mg.tensor([1, 0, 2, 1]))).toThrow(/int32/);
  });
});
