// Functional transforms: hvp (both modes) against hessian(f)·v computed with plain loops, vhp,
// jacobian rev vs fwd vs hand values, valueAndGrad and vjp.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { randomTensor } from '../helpers.js';

const f64 = (vals: number[], shape = [vals.length]) => mg.tensor(Float64Array.from(vals), { shape, dtype: 'float64' });
const arr = (t: mg.Tensor | null) => Array.from(t!.data());
function close(a: number[], b: number[], tol = 1e-10) {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]))));
}

// An MLP-like scalar function of W [2,3] and b [2] from elementwise ops, broadcasting and sums.
const xIn = f64([0.3, -0.8, 1.2], [1, 3]);
const target = f64([0.5, -0.25]);
function mlp(W: mg.Tensor, b: mg.Tensor): mg.Tensor {
  const pre = W.mul(xIn).sum(1).add(b); // [2]
  const h = pre.tanh();
  return h.sub(target).square().sum().add(W.square().mul(b.reshape([2, 1])).sum().mul(0.1)).add(b.exp().sum().mul(0.05));
}

describe('hvp, vhp, hessian', () => {
  const W = randomTensor([2, 3], 'float64', 21, -1, 1).t;
  const b = randomTensor([2], 'float64', 22, -1, 1).t;
  const vW = randomTensor([2, 3], 'float64', 23).t;
  const vb = randomTensor([2], 'float64', 24).t;

  test('fwd-rev and rev-rev agree with each other and with hessian(f) v; vhp equals hvp', () => {
    const H = mg.hessian(mlp, [W, b]) as mg.Tensor[][];
    expect(H[0][0].shape).toEqual([2, 3, 2, 3]);
    expect(H[0][1].shape).toEqual([2, 3, 2]);
    expect(H[1][0].shape).toEqual([2, 2, 3]);
    expect(H[1][1].shape).toEqual([2, 2]);
    // H v by plain loops: (Hv)_i = sum_j H[i][j] (flattened) v_j
    const sizes = [6, 2];
    const vs = [arr(vW), arr(vb)];
    const Hv = sizes.map((ni, i) => {
      const out = new Array<number>(ni).fill(0);
      sizes.forEach((nj, j) => {
        const h = arr(H[i][j]);
        for (let r = 0; r < ni; r++) for (let c = 0; c < nj; c++) out[r] += h[r * nj + c] * vs[j][c];
      });
      return out;
    });
    // symmetry of the Hessian (W-b block against b-W block)
    const hwb = arr(H[0][1]);
    const hbw = arr(H[1][0]);
    for (let r = 0; r < 6; r++) for (let c = 0; c < 2; c++) expect(hwb[r * 2 + c]).toBeCloseTo(hbw[c * 6 + r], 12);
    const [v1, fr] = mg.hvp(mlp, [W, b], [vW, vb], { mode: 'fwd-rev' });
    const [v2, rr] = mg.hvp(mlp, [W, b], [vW, vb], { mode: 'rev-rev' });
    const [v3, vh] = mg.vhp(mlp, [W, b], [vW, vb]);
    const value = mlp(W, b).item();
    for (const v of [v1, v2, v3]) expect(v.item()).toBeCloseTo(value, 14);
    for (const res of [fr, rr, vh]) {
      expect(res[0].shape).toEqual([2, 3]);
      close(arr(res[0]), Hv[0]);
      close(arr(res[1]), Hv[1]);
    }
    expect(Math.max(...Hv[0].map(Math.abs))).toBeGreaterThan(1e-3);
    expect(() => mg.hvp(mlp, [W, b], [vW, vb], { mode: 'bad' as 'fwd-rev' })).toThrow(/mode must be/);
  });

  test('hessian of a one-input function against a closed form: f(x) = sum(x^3) + x0 x1', () => {
    const x = f64([0.5, -2]);
    const H = mg.hessian((a: mg.Tensor) => a.pow(3).sum().add(a.reshape([2, 1]).mul(a).sum().mul(0.5)), x) as mg.Tensor;
    // 0.5 * sum_ij a_i a_j = 0.5 (a0 + a1)^2 -> Hessian ones; plus diag(6 x)
    close(arr(H), [6 * 0.5 + 1, 1, 1, 6 * -2 + 1]);
  });

  test('hvp under grad: differentiating H v again (third order) matches finite differences', () => {
    const x = f64([0.4, -0.3]).requiresGrad_();
    const v = f64([1, 2]);
    const f = (a: mg.Tensor) => a.sin().mul(a.sum()).sum();
    for (const mode of ['fwd-rev', 'rev-rev'] as const) {
      const [, [hv]] = mg.hvp(f, [x], [v], { mode });
      expect(hv.requiresGrad).toBe(true);
      const [g] = mg.grad(hv.sum(), x);
      const num = [0, 1].map((k) => {
        const e = 1e-5;
        const at = (d: number) => {
          const p = f64([0.4 + (k === 0 ? d : 0), -0.3 + (k === 1 ? d : 0)]);
          return mg.hvp(f, [p], [v], { mode: 'rev-rev' })[1][0].sum().item();
        };
        return (at(e) - at(-e)) / (2 * e);
      });
      close(arr(g), num, 1e-6);
    }
  });
});

describe('jacobian, valueAndGrad, vjp', () => {
  // f(a, b) = [a0 * b, sin(a1) + b]  (a [2], b [1] broadcast -> [2])
  const f = (a: mg.Tensor, b: mg.Tensor) => mg.where(f64([1, 0]).gt(0), a.mul(b), a.sin().add(b));
  const A = [0.7, -1.1];
  const B = [2.5];

  test("jacobian 'rev' equals 'fwd' and the hand values", () => {
    const a = f64(A);
    const b = f64(B);
    const Jr = mg.jacobian(f, [a, b], { mode: 'rev' }) as mg.Tensor[];
    const Jf = mg.jacobian(f, [a, b], { mode: 'fwd' }) as mg.Tensor[];
    expect(Jr[0].shape).toEqual([2, 2]);
    expect(Jr[1].shape).toEqual([2, 1]);
    const JA = [B[0], 0, 0, Math.cos(A[1])];
    const JB = [A[0], 1];
    close(arr(Jr[0]), JA, 1e-14);
    close(arr(Jf[0]), JA, 1e-14);
    close(arr(Jr[1]), JB, 1e-14);
    close(arr(Jf[1]), JB, 1e-14);
    const single = mg.jacobian((x: mg.Tensor) => x.exp(), f64(A)) as mg.Tensor;
    close(arr(single), [Math.exp(A[0]), 0, 0, Math.exp(A[1])]);
  });

  test('valueAndGrad: value and gradients, zeros for an unused argument', () => {
    const vg = mg.valueAndGrad((a: mg.Tensor, b: mg.Tensor, c: mg.Tensor) => a.mul(b).sum().add(a.square().sum()));
    const [v, [ga, gb, gc]] = vg(f64(A), f64([3, 4]), f64([9]));
    expect(v.item()).toBeCloseTo(A[0] * 3 + A[1] * 4 + A[0] ** 2 + A[1] ** 2, 14);
    close(arr(ga), [3 + 2 * A[0], 4 + 2 * A[1]]);
    close(arr(gb), A);
    expect(arr(gc)).toEqual([0]);
    expect(() => vg(f64(A), f64([3, 4, 5]), f64([9]))).toThrow();
    expect(() => mg.valueAndGrad((a: mg.Tensor) => a.mul(2))(f64(A))).toThrow(/must return a scalar/);
  });

  test('vjp: value and cotangent products, callable twice', () => {
    const [y, back] = mg.vjp(f, [f64(A), f64(B)]);
    close(arr(y), [A[0] * B[0], Math.sin(A[1]) + B[0]]);
    const [ga, gb] = back(f64([1, -2]));
    close(arr(ga), [B[0], -2 * Math.cos(A[1])]);
    close(arr(gb), [A[0] - 2]);
    const [ga2] = back(f64([0, 1]));
    close(arr(ga2), [0, Math.cos(A[1])]);
  });
});

describe('constantGrad (internal: first-order inner gradients)', () => {
  test('equals the hand gradient, as constants; null outside wrt; nothing of its graph is kept', async () => {
    const { constantGrad } = await import('../../src/autograd/functional.js');
    const x = f64([0.5, -1.2, 2]).requiresGrad_();
    const y = f64([3, -0.7]).requiresGrad_();
    const scale = x.mul(2); // a tensor with history: constantGrad must not differentiate through it
    const f = (xs: mg.Tensor[]) => xs[0].mul(xs[0]).sum().mul(xs[1].sum()).add(xs[0].sin().sum());
    const before = mg.memory().cpu.tensors;
    const [gx, gy] = constantGrad(f, [scale, y]);
    expect(mg.memory().cpu.tensors).toBe(before + 2); // only the two gradients survive
    const s = [1, -2.4, 4];
    const ysum = 3 - 0.7;
    close(arr(gx), s.map((v) => 2 * v * ysum + Math.cos(v)));
    close(arr(gy), [0, 0].map(() => s.reduce((a, v) => a + v * v, 0)));
    expect(gx!.requiresGrad).toBe(false);
    const [hx, hy] = constantGrad(f, [scale, y], { wrt: [1] });
    expect(hx).toBeNull();
    close(arr(hy), arr(gy));
    for (const t of [gx, gy, hy, scale, x, y]) t!.dispose();
  });
});
