// Reverse-mode engine semantics: grad/backward results against hand-derived values, accumulation,
// allowUnused, retainGraph, createGraph, grad-mode scopes, detach, gradOutputs and the errors.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const f64 = (vals: number[], shape = [vals.length]) => mg.tensor(Float64Array.from(vals), { shape, dtype: 'float64' });
const arr = (t: mg.Tensor | null) => Array.from(t!.data());
function close(a: number[], b: number[], tol = 1e-12) {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(b[i]))));
}
const X = [0.5, -1.25, 2];

describe('grad and backward', () => {
  test('grad matches hand-derived values: d/dx sum(3x^2 + sin(x) * x) = 6x + cos(x) x + sin(x)', () => {
    const x = f64(X).requiresGrad_();
    const y = x.square().mul(3).add(x.sin().mul(x)).sum();
    const [g] = mg.grad(y, x);
    close(arr(g), X.map((v) => 6 * v + Math.cos(v) * v + Math.sin(v)));
    expect(g!.requiresGrad).toBe(false);
  });

  test('two inputs, broadcasting: d/da, d/db of sum(a * b + exp(b)) with a [2,3], b [3]', () => {
    const A = [1, 2, 3, 4, 5, 6];
    const B = [0.1, -0.2, 0.3];
    const a = f64(A, [2, 3]).requiresGrad_();
    const b = f64(B).requiresGrad_();
    const [ga, gb] = mg.grad(a.mul(b).add(b.exp()).sum(), [a, b]);
    expect(ga!.shape).toEqual([2, 3]);
    close(arr(ga), [...B, ...B]);
    close(arr(gb), B.map((v, j) => A[j] + A[3 + j] + 2 * Math.exp(v)));
  });

  test('backward accumulates into .grad of leaves over two calls; grad() does not touch .grad', () => {
    const x = f64(X).requiresGrad_();
    const w = f64([2, 3, 4]).requiresGrad_();
    const f = () => x.mul(w).sum().add(x.square().sum());
    f().backward();
    close(arr(x.grad), X.map((v, i) => [2, 3, 4][i] + 2 * v));
    close(arr(w.grad), X);
    f().backward();
    close(arr(x.grad), X.map((v, i) => 2 * ([2, 3, 4][i] + 2 * v)));
    close(arr(w.grad), X.map((v) => 2 * v));
    const z = f64([1, 1, 1]).requiresGrad_();
    mg.grad(z.mul(x).sum(), [z, x]);
    expect(z.grad).toBeNull();
    close(arr(x.grad), X.map((v, i) => 2 * ([2, 3, 4][i] + 2 * v))); // unchanged
  });

  test('backward with a gradOutput for a non-scalar output; intermediate tensors get no .grad', () => {
    const x = f64(X).requiresGrad_();
    const h = x.mul(2);
    h.exp().backward(f64([1, 2, 3]));
    close(arr(x.grad), X.map((v, i) => 2 * Math.exp(2 * v) * (i + 1)));
    expect(h.grad).toBeNull();
  });

  test('allowUnused gives null; without it the error names the input', () => {
    const x = f64(X).requiresGrad_();
    const z = f64([1, 2]).requiresGrad_();
    const y = x.sum();
    expect(() => mg.grad(y, [x, z], { retainGraph: true })).toThrow(/input 1 \(shape \[2\]\) was not used/);
    const [gx, gz] = mg.grad(y, [x, z], { allowUnused: true });
    close(arr(gx), [1, 1, 1]);
    expect(gz).toBeNull();
  });

  test('retainGraph false frees the graph: a second pass throws the clear error; retainGraph true allows it', () => {
    const x = f64(X).requiresGrad_();
    const y = x.tanh().sum();
    mg.grad(y, x);
    expect(() => mg.grad(y, x)).toThrow(/backward through the graph a second time.*'(tanh|sum)'.*retainGraph/);
    const y2 = x.tanh().sum();
    y2.backward(undefined, { retainGraph: true });
    y2.backward();
    close(arr(x.grad), X.map((v) => 2 * (1 - Math.tanh(v) ** 2)));
    expect(() => y2.backward()).toThrow(/second time/);
  });

  test('createGraph results are differentiable (second derivative of x^3 sin x)', () => {
    const x = f64(X).requiresGrad_();
    const y = x.pow(3).mul(x.sin()).sum();
    const [g] = mg.grad(y, x, { createGraph: true });
    expect(g!.requiresGrad).toBe(true);
    close(arr(g), X.map((v) => 3 * v * v * Math.sin(v) + v ** 3 * Math.cos(v)));
    const [h] = mg.grad(g!.sum(), x);
    close(arr(h), X.map((v) => 6 * v * Math.sin(v) + 6 * v * v * Math.cos(v) - v ** 3 * Math.sin(v)), 1e-11);
  });

  test('noGrad / enableGrad nest, and isGradEnabled follows them (restored after a throw)', () => {
    const x = f64(X).requiresGrad_();
    expect(mg.isGradEnabled()).toBe(true);
    mg.noGrad(() => {
      expect(mg.isGradEnabled()).toBe(false);
      expect(x.mul(2).requiresGrad).toBe(false);
      mg.enableGrad(() => {
        expect(mg.isGradEnabled()).toBe(true);
        expect(x.mul(2).requiresGrad).toBe(true);
        mg.noGrad(() => expect(mg.isGradEnabled()).toBe(false));
        expect(mg.isGradEnabled()).toBe(true);
      });
      expect(mg.isGradEnabled()).toBe(false);
    });
    expect(() => mg.noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(mg.isGradEnabled()).toBe(true);
    expect(mg.noGrad(() => 42)).toBe(42);
  });

  test('detach cuts the graph', () => {
    const x = f64(X).requiresGrad_();
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.isLeaf).toBe(true);
    const [g] = mg.grad(x.mul(x.detach()).sum(), x); // d/dx (x * c) = c
    close(arr(g), X);
  });

  test('gradOutputs weight non-scalar outputs; the error without them; shape errors', () => {
    const x = f64(X).requiresGrad_();
    const y = x.square();
    const v = f64([1, -2, 0.5]);
    const [g] = mg.grad(y, x, { gradOutputs: v, retainGraph: true });
    close(arr(g), X.map((u, i) => 2 * u * [1, -2, 0.5][i]));
    expect(() => mg.grad(y, x, { retainGraph: true })).toThrow(/shape \[3\]; gradOutputs must be given for non-scalar outputs/);
    expect(() => mg.grad(y, x, { gradOutputs: f64([1, 2]), retainGraph: true })).toThrow(/gradOutputs\[0\] has shape \[2\] but output 0 has shape \[3\]/);
    // two outputs, list of gradOutputs
    const [g2] = mg.grad([y, x.sum()], x, { gradOutputs: [v, null] });
    close(arr(g2), X.map((u, i) => 2 * u * [1, -2, 0.5][i] + 1));
  });

  test('errors for inputs / outputs that do not require grad', () => {
    const x = f64(X).requiresGrad_();
    const c = f64(X);
    expect(() => mg.grad(x.mul(c).sum(), [x, c])).toThrow(/grad: input 1 \(shape \[3\]\) does not require grad/);
    expect(() => mg.grad(c.sum(), c)).toThrow(/does not require grad/);
    expect(() => mg.grad(mg.noGrad(() => x.sum()), x)).toThrow(/output 0 does not require grad/);
    expect(() => c.sum().backward()).toThrow(/backward: output 0 does not require grad/);
  });
});

describe('deep graphs', () => {
  test('10,000-step unrolled recurrence backpropagates without stack overflow', () => {
    // h <- 0.9 tanh(h) + w, 20,000 nodes; reference adjoints in plain TS
    const N = 10000;
    const x = f64([0.7]).requiresGrad_();
    const w = f64([0.3]).requiresGrad_();
    let h = x;
    for (let i = 0; i < N; i++) h = h.tanh().mul(0.9).add(w);
    const [gx, gw] = mg.grad(h.sum(), [x, w]);
    const hs: number[] = [0.7];
    for (let i = 0; i < N; i++) hs.push(0.9 * Math.tanh(hs[i]) + 0.3);
    let a = 1;
    let aw = 0;
    for (let i = N - 1; i >= 0; i--) {
      aw += a;
      a *= 0.9 * (1 - Math.tanh(hs[i]) ** 2);
    }
    expect(h.item()).toBeCloseTo(hs[N], 12);
    close(arr(gw), [aw], 1e-9);
    close(arr(gx), [a], 1e-9);
    expect(aw).toBeGreaterThan(1);
  });

  test('2,000-step recurrence with createGraph gives the second derivative', () => {
    const N = 2000;
    const w = f64([0.3]).requiresGrad_();
    let h = f64([0.7]);
    for (let i = 0; i < N; i++) h = h.tanh().mul(0.9).add(w);
    const [g] = mg.grad(h.sum(), w, { createGraph: true });
    const [g2] = mg.grad(g!.sum(), w);
    // forward-mode reference: h, h' = dh/dw, h'' = d2h/dw2
    let v = 0.7, d = 0, dd = 0;
    for (let i = 0; i < N; i++) {
      const t = Math.tanh(v);
      const s = 1 - t * t;
      const ds = -2 * t * s;
      dd = 0.9 * (s * dd + ds * d * d);
      d = 0.9 * s * d + 1;
      v = 0.9 * t + 0.3;
    }
    close(arr(g), [d], 1e-9);
    close(arr(g2), [dd], 1e-8);
    expect(Math.abs(dd)).toBeGreaterThan(1e-3);
  });
});

describe('detectAnomaly', () => {
  test('names the op whose backward produced a non-finite value, and is off outside its scope', () => {
    const x = f64([0, 1, 4]).requiresGrad_();
    expect(() => mg.detectAnomaly(() => mg.grad(x.sqrt().mul(2).sum(), x))).toThrow(/detectAnomaly: the backward of 'sqrt' returned Infinity/);
    const [g] = mg.grad(x.sqrt().mul(2).sum(), x); // off again: no throw, inf in the result
    expect(arr(g)).toEqual([Infinity, 1, 0.5]);
    expect(() => mg.detectAnomaly(() => mg.grad(x.log().sum(), x))).toThrow(/'log'/);
    // finite backward passes are untouched
    const [g2] = mg.detectAnomaly(() => mg.grad(x.add(1).log().sum(), x));
    close(arr(g2), [1, 0.5, 0.2]);
  });
});

describe('backward gives every leaf its own gradient buffer', () => {
  test('pass-through rules do not make leaves share .grad (and a second backward accumulates)', () => {
    const a = mg.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
    const b = mg.tensor([3, 4], { dtype: 'float64' }).requiresGrad_();
    a.add(b).sum().backward();
    expect(a.grad).not.toBe(b.grad);
    expect(mg.backend.sharesStorage(a.grad!, b.grad!)).toBe(false);
    a.add(b).sum().backward();
    expect(a.grad!.toArray()).toEqual([2, 2]);
    expect(b.grad!.toArray()).toEqual([2, 2]);
    const c = mg.tensor([[1, 2], [3, 4]], { dtype: 'float64' }).requiresGrad_();
    const d = mg.tensor([1, 1, 1, 1], { dtype: 'float64' }).requiresGrad_();
    c.reshape([4]).add(d).sum().backward();
    mg.noGrad(() => c.grad!.copy_(mg.zeros([2, 2], { dtype: 'float64' })));
    expect(d.grad!.toArray()).toEqual([1, 1, 1, 1]);
  });
});

describe('grad with respect to an intermediate tensor', () => {
  test("does not run or free the intermediate's own producer (as PyTorch)", () => {
    const x = mg.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
    const y = x.mul(x);
    const [gy] = mg.grad(y.mul(3).sum(), [y]);
    expect(gy!.toArray()).toEqual([3, 3]);
    const [gx] = mg.grad(y.sum(), [x]); // y's producer (mul) must still hold its saved tensors
    expect(gx!.toArray()).toEqual([2, 4]);
  });
});
