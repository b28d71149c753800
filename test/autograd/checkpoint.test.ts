// mg.checkpoint: same values and derivatives (first and second order, reverse and forward mode) as
// the plain computation, with fewer tensors held between the forward and the backward pass.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { randomTensor } from '../helpers.js';

const f64 = (vals: number[], shape = [vals.length]) => mg.tensor(Float64Array.from(vals), { shape, dtype: 'float64' });

/** 20-step unrolled tanh recurrence h <- tanh(h * w + x). */
function recurrence(x: mg.Tensor, w: mg.Tensor, steps = 20): mg.Tensor {
  let h = x;
  for (let i = 0; i < steps; i++) h = h.mul(w).add(x).tanh();
  return h;
}
const loss = (h: mg.Tensor) => h.square().sum();
const rec = (x: mg.Tensor, w: mg.Tensor) => recurrence(x, w);

function inputs() {
  const x = randomTensor([6], 'float64', 3, -1, 1).t.requiresGrad_();
  const w = randomTensor([6], 'float64', 4, 0.2, 1.2).t.requiresGrad_();
  return { x, w };
}

function expectClose(a: mg.Tensor | null, b: mg.Tensor | null, tol = 1e-10) {
  expect(a).not.toBeNull();
  expect(b).not.toBeNull();
  const da = a!.data();
  const db = b!.data();
  expect(da.length).toBe(db.length);
  for (let i = 0; i < da.length; i++) expect(Math.abs(da[i] - db[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(db[i])));
}

describe('checkpoint', () => {
  test('same value and first-order gradients as the plain computation', () => {
    const { x, w } = inputs();
    const plain = loss(recurrence(x, w));
    const ck = loss(mg.checkpoint(rec, x, w));
    expect(ck.requiresGrad).toBe(true);
    expect(ck.item()).toBe(plain.item());
    const [gx0, gw0] = mg.grad(plain, [x, w]);
    const [gx1, gw1] = mg.grad(ck, [x, w]);
    expectClose(gx1, gx0);
    expectClose(gw1, gw0);
    // the gradient is not the trivial one
    expect(Math.abs(gx0!.sum().item())).toBeGreaterThan(1e-3);
  });

  test('segments: checkpointing every 5 steps gives the same gradients (backward accumulates into .grad)', () => {
    const { x, w } = inputs();
    const plain = loss(recurrence(x, w));
    const [gx0, gw0] = mg.grad(plain, [x, w]);
    // h_{k+1} = tanh(h_k w + x) in 4 checkpointed segments of 5 steps
    const seg = (h: mg.Tensor, w_: mg.Tensor, x_: mg.Tensor) => {
      for (let i = 0; i < 5; i++) h = h.mul(w_).add(x_).tanh();
      return h;
    };
    let h = x;
    for (let s = 0; s < 4; s++) h = mg.checkpoint(seg, h, w, x);
    loss(h).backward();
    expectClose(x.grad, gx0);
    expectClose(w.grad, gw0);
  });

  test('second-order gradients (grad of grad with createGraph) equal the plain ones', () => {
    const { x, w } = inputs();
    const second = (useCk: boolean) => {
      const h = useCk ? mg.checkpoint(rec, x, w) : recurrence(x, w);
      const [gx, gw] = mg.grad(loss(h), [x, w], { createGraph: true });
      expect(gx!.requiresGrad).toBe(true);
      const s = gx!.square().sum().add(gw!.mul(x).sum());
      return mg.grad(s, [x, w]);
    };
    const [a0, b0] = second(false);
    const [a1, b1] = second(true);
    expectClose(a1, a0, 1e-9);
    expectClose(b1, b0, 1e-9);
  });

  test('third order through a checkpoint', () => {
    // d^3/dx^3 sum(tanh(x)) = -2 sech^2 (1 - 3 tanh^2) ... compared with the plain computation
    const x = f64([0.3, -0.7, 1.1]).requiresGrad_();
    const run = (useCk: boolean) => {
      const fn = (a: mg.Tensor) => a.tanh().mul(a).sum();
      let y = useCk ? mg.checkpoint(fn, x) : fn(x);
      for (let k = 0; k < 2; k++) y = mg.grad(y, x, { createGraph: true })[0]!.sum();
      return mg.grad(y, x)[0];
    };
    expectClose(run(true), run(false), 1e-9);
  });

  test('hvp through a checkpoint, both modes, equals the plain hvp', () => {
    const { x, w } = inputs();
    const v = [randomTensor([6], 'float64', 7).t, randomTensor([6], 'float64', 8).t];
    const fPlain = (a: mg.Tensor, b: mg.Tensor) => loss(recurrence(a, b, 8));
    const fCk = (a: mg.Tensor, b: mg.Tensor) => loss(mg.checkpoint((p, q) => recurrence(p, q, 8), a, b));
    const [, ref] = mg.hvp(fPlain, [x, w], v, { mode: 'rev-rev' });
    for (const mode of ['fwd-rev', 'rev-rev'] as const) {
      const [val, hv] = mg.hvp(fCk, [x, w], v, { mode });
      expect(val.item()).toBeCloseTo(fPlain(x, w).item(), 12);
      expectClose(hv[0], ref[0], 1e-9);
      expectClose(hv[1], ref[1], 1e-9);
    }
  });

  test('nested in a MAML-style inner step under createGraph', () => {
    const { x, w } = inputs();
    const target = randomTensor([6], 'float64', 9).t;
    const meta = (useCk: boolean) => {
      const inner = (w_: mg.Tensor) => (useCk ? mg.checkpoint((a, b) => recurrence(a, b, 6), x, w_) : recurrence(x, w_, 6)).sub(target).square().sum();
      const [g] = mg.grad(inner(w), w, { createGraph: true });
      const w1 = w.sub(g!.mul(0.1));
      const [g1] = mg.grad(inner(w1), w1, { createGraph: true });
      const w2 = w1.sub(g1!.mul(0.1));
      return mg.grad(inner(w2), w)[0];
    };
    expectClose(meta(true), meta(false), 1e-9);
  });

  test('forward mode: jvp and nested jvp through a checkpoint', () => {
    const { x, w } = inputs();
    const tx = randomTensor([6], 'float64', 11).t;
    const tw = randomTensor([6], 'float64', 12).t;
    const fPlain = (a: mg.Tensor, b: mg.Tensor) => recurrence(a, b, 8);
    const fCk = (a: mg.Tensor, b: mg.Tensor) => mg.checkpoint(fPlain, a, b);
    const [y0, t0] = mg.jvp(fPlain, [x, w], [tx, tw]);
    const [y1, t1] = mg.jvp(fCk, [x, w], [tx, tw]);
    expectClose(y1, y0, 0);
    expectClose(t1, t0, 1e-10);
    // second directional derivative: jvp of jvp
    const second = (f: typeof fPlain) => mg.jvp((a: mg.Tensor) => mg.jvp((b: mg.Tensor) => f(b, w), [a], [tx])[1], [x], [tx])[1];
    expectClose(second(fCk), second(fPlain), 1e-9);
    // grad of jvp
    const gj = (f: typeof fPlain) => mg.grad(mg.jvp((b: mg.Tensor) => f(x, b), [w], [tw])[1].sum(), x)[0];
    expectClose(gj(fCk), gj(fPlain), 1e-9);
  });

  test('several outputs', () => {
    const { x, w } = inputs();
    const fn = (a: mg.Tensor, b: mg.Tensor) => [a.mul(b).sin(), a.add(b).exp()];
    const [p, q] = mg.checkpoint(fn, x, w);
    const [p0, q0] = fn(x, w);
    const [gx, gw] = mg.grad(p.sum().add(q.mul(2).sum()), [x, w], { retainGraph: true });
    const [gx0, gw0] = mg.grad(p0.sum().add(q0.mul(2).sum()), [x, w]);
    expectClose(gx, gx0);
    expectClose(gw, gw0);
    // only one output used: the other input's gradient still correct
    const [hx] = mg.grad(q.sum(), [x]);
    expectClose(hx, q0.detach());
  });

  test('holds fewer live tensors between the forward and the backward pass', () => {
    const { x, w } = inputs();
    const live = (useCk: boolean) => {
      const before = mg.memory().cpu.tensors;
      const l = mg.tidy(() => loss(useCk ? mg.checkpoint(rec, x, w) : recurrence(x, w)));
      const held = mg.memory().cpu.tensors - before;
      const [gx] = mg.grad(l, [x]);
      expect(Number.isFinite(gx!.sum().item())).toBe(true);
      return held;
    };
    const plain = live(false);
    const ck = live(true);
    expect(plain).toBeGreaterThanOrEqual(40); // 20 steps keep at least two tensors each
    expect(ck).toBeLessThanOrEqual(4);
  });

  test('under noGrad it records nothing; closed-over tensors get no gradient', () => {
    const { x, w } = inputs();
    const y = mg.noGrad(() => mg.checkpoint(rec, x, w));
    expect(y.requiresGrad).toBe(false);
    const c = mg.checkpoint((a) => a.mul(w), x); // w is a constant of fn
    expect(mg.grad(c.sum(), x)[0]!.toArray()).toEqual(w.toArray());
    expect(() => mg.checkpoint((a) => a.mul(w), x) && mg.grad(mg.checkpoint((a) => a.mul(w), x).sum(), w)).toThrow(/was not used/);
  });
});
