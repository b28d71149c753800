/** Gradient clipping vs a plain-TypeScript reference of torch.nn.utils.clip_grad_norm_ / clip_grad_value_. */
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, randomValues } from '../helpers.js';

/** The total p-norm of all gradient elements, and the clip coefficient min(1, maxNorm/(norm+1e-6)). */
function refClip(grads: number[][], maxNorm: number, p: number): { norm: number; coef: number } {
  const all = grads.flat().map(Math.abs);
  const norm = p === Infinity ? Math.max(...all) : all.reduce((s, x) => s + x ** p, 0) ** (1 / p);
  return { norm, coef: Math.min(1, maxNorm / (norm + 1e-6)) };
}

describe('clipGradNorm', () => {
  const shapes = [[3, 4], [7], [2, 2, 2]];
  const make = (dtype: mg.DType, scale: number) => {
    const vals = shapes.map((s, i) => randomValues(s.reduce((a, b) => a * b, 1), 60 + i, -scale, scale));
    const r = (v: number[]) => (dtype === 'float32' ? Array.from(Float32Array.from(v)) : v);
    const ps = shapes.map((s, i) => {
      const p = mg.zeros(s, { dtype }).requiresGrad_();
      p.grad = mg.tensor(vals[i], { shape: s, dtype });
      return p;
    });
    return { ps, vals: vals.map(r) };
  };
  test.each([
    [2, 'float64'], [1, 'float64'], [Infinity, 'float64'], [3, 'float64'], [2, 'float32'], [Infinity, 'float32'],
  ] as const)('norm type %s (%s): returns the total norm and scales the gradients', (p, dtype) => {
    const { ps, vals } = make(dtype, 2);
    const maxNorm = 0.5;
    const { norm, coef } = refClip(vals, maxNorm, p);
    expect(coef).toBeLessThan(0.5); // the test really clips
    const got = mg.optim.clipGradNorm(ps, maxNorm, { normType: p });
    const t = dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-6, atol: 1e-7 };
    expect(Math.abs(got - norm)).toBeLessThanOrEqual(t.rtol * norm);
    ps.forEach((q, i) => expectClose(q.grad!, vals[i].map((x) => x * coef), t));
    // The clipped gradients have the requested norm.
    expect(refClip(ps.map((q) => Array.from(q.grad!.data())), maxNorm, p).norm).toBeCloseTo(maxNorm, 5);
    ps.forEach((q) => q.grad!.dispose());
  });

  test('gradients under the limit are left unchanged; parameters without gradients are ignored', () => {
    const { ps, vals } = make('float64', 0.01);
    const extra = mg.zeros([3], { dtype: 'float64' });
    const { norm } = refClip(vals, 10, 2);
    const g0 = ps[0].grad;
    expect(mg.optim.clipGradNorm([...ps, extra], 10)).toBeCloseTo(norm, 14);
    expect(ps[0].grad).toBe(g0);
    ps.forEach((q, i) => expectClose(q.grad!, vals[i], { rtol: 0, atol: 0 }));
    expect(extra.grad).toBeNull();
    expect(mg.optim.clipGradNorm([extra], 1)).toBe(0);
  });

  test('a gradient shared by two parameters is scaled once, its norm counted for each, and memory is freed', () => {
    const before = mg.memory().tensors;
    const a = mg.zeros([2], { dtype: 'float64' }).requiresGrad_();
    const b = mg.zeros([2], { dtype: 'float64' }).requiresGrad_();
    const g = mg.tensor([3, 4], { dtype: 'float64' });
    a.grad = g;
    b.grad = g;
    const n = mg.optim.clipGradNorm([a, b], 1);
    expect(n).toBeCloseTo(Math.sqrt(50), 14);
    const c = 1 / (Math.sqrt(50) + 1e-6);
    expectClose(a.grad!, [3 * c, 4 * c], { rtol: 1e-14, atol: 0 });
    expect(b.grad).toBe(a.grad);
    expect(g.isDisposed).toBe(true);
    a.grad!.dispose();
    a.dispose();
    b.dispose();
    expect(mg.memory().tensors).toBe(before);
  });

  test('errors', () => {
    const p = mg.zeros([2]).requiresGrad_();
    p.grad = mg.tensor([Infinity, 1]);
    expect(() => mg.optim.clipGradNorm([p], 1, { errorIfNonfinite: true })).toThrow(/total norm of order 2 .* Infinity/);
    expect(() => mg.optim.clipGradNorm([p], -1)).toThrow(/maxNorm must be/);
    expect(() => mg.optim.clipGradNorm([p], 1, { normType: 0 })).toThrow(/normType must be/);
  });
});

describe('clipGradValue', () => {
  test('clamps every element to [-v, v]', () => {
    const vals = randomValues(10, 3, -2, 2);
    const p = mg.zeros([2, 5], { dtype: 'float64' }).requiresGrad_();
    p.grad = mg.tensor(vals, { shape: [2, 5], dtype: 'float64' });
    mg.optim.clipGradValue(p, 0.7);
    expectClose(p.grad, vals.map((x) => Math.max(-0.7, Math.min(0.7, x))), { rtol: 0, atol: 0 });
    expect(vals.some((x) => Math.abs(x) > 0.7)).toBe(true);
  });
});
