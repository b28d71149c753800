// Memory: a second-order meta-learning loop written with mg.tidy per iteration returns
// mg.memory().cpu to its baseline (tensors and bytes) without relying on garbage collection.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { randomTensor } from '../helpers.js';

describe('memory', () => {
  test('a createGraph gradient dropped without a backward pass frees its graph at the end of the scope (no GC)', () => {
    const w = mg.keep(randomTensor([6, 6], 'float64', 41).t.requiresGrad_());
    const x = mg.keep(randomTensor([5, 6], 'float64', 42).t);
    const v = mg.keep(randomTensor([6, 6], 'float64', 43).t);
    const base = mg.memory().cpu;
    for (let i = 0; i < 20; i++) {
      mg.tidy(() => {
        // The gradient's graph is built inside the backward rules' own scopes; nothing walks it.
        const [g] = mg.grad(x.matmul(w).tanh().square().sum(), [w], { createGraph: true });
        g!.square().sum();
      });
      mg.tidy(() => {
        // An HVP that keeps the gradient graph for later products, then drops it.
        const [g] = mg.grad(x.matmul(w).sigmoid().sum(), [w], { createGraph: true, retainGraph: true });
        mg.grad(g!, [w], { gradOutputs: [v], retainGraph: true });
      });
    }
    const after = mg.memory().cpu;
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes).toBe(base.bytes);
    for (const t of [w, x, v]) t.dispose();
  });

  test('2,000 createGraph iterations of a MAML-style loop return to the baseline', () => {
    const w = randomTensor([4], 'float64', 31, -0.5, 0.5).t.requiresGrad_();
    const b = randomTensor([1], 'float64', 32, -0.5, 0.5).t.requiresGrad_();
    const xs = randomTensor([8, 4], 'float64', 33).t;
    const ys = randomTensor([8], 'float64', 34).t;
    const model = (w_: mg.Tensor, b_: mg.Tensor) => xs.mul(w_).sum(1).add(b_).tanh();
    const lossOf = (w_: mg.Tensor, b_: mg.Tensor) => model(w_, b_).sub(ys).square().mean();
    const step = () =>
      mg.tidy(() => {
        const inner = lossOf(w, b);
        const [gw, gb] = mg.grad(inner, [w, b], { createGraph: true });
        const w1 = w.sub(gw!.mul(0.1));
        const b1 = b.sub(gb!.mul(0.1));
        const outer = lossOf(w1, b1);
        const [mw, mb] = mg.grad(outer, [w, b]);
        mg.noGrad(() => {
          w.copy_(w.sub(mw!.mul(0.05)));
          b.copy_(b.sub(mb!.mul(0.05)));
        });
        return outer.item();
      });
    const first = step();
    const base = mg.memory().cpu;
    let last = first;
    for (let i = 0; i < 2000; i++) last = step();
    const after = mg.memory().cpu;
    expect(last).toBeLessThan(first); // it is learning
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes).toBe(base.bytes);
  });

  test('a graph kept by retainGraph and never freed by a backward pass is freed by its tidy scope', () => {
    const w = randomTensor([4], 'float64', 41).t.requiresGrad_();
    const base = mg.memory().cpu;
    for (let i = 0; i < 200; i++) {
      mg.tidy(() => {
        const y = w.tanh().square().sum();
        const [g] = mg.grad(y, w, { retainGraph: true });
        return g!.sum().item();
      });
    }
    expect(mg.memory().cpu.tensors).toBe(base.tensors);
    expect(mg.memory().cpu.bytes).toBe(base.bytes);
  });

  test('a returned loss keeps its graph alive across the scope; backward after it works', () => {
    const w = randomTensor([3], 'float64', 42).t.requiresGrad_();
    const loss = mg.tidy(() => w.tanh().mul(w).sum());
    const [g] = mg.grad(loss, w);
    const W = Array.from(w.data());
    Array.from(g!.data()).forEach((v, i) => expect(v).toBeCloseTo(Math.tanh(W[i]) + W[i] * (1 - Math.tanh(W[i]) ** 2), 12));
  });
});
