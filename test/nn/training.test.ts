/**
 * Training behaviour: small models learn small problems with a plain SGD loop written here (grad()
 * then copy_ under noGrad), one tidy scope per iteration, and memory back to its baseline after.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { prng } from '../helpers.js';

const nn = mg.nn;
const F = mg.nn.functional;
type Tensor = mg.Tensor;

/** SGD with momentum on `params`, state kept outside tidy (keep). Returns the step function. */
function sgd(params: readonly Tensor[], lr: number, momentum = 0): (loss: Tensor) => void {
  const velocity = params.map((p) => mg.keep(mg.zerosLike(p)));
  return (loss) => {
    const grads = mg.grad(loss, [...params]);
    mg.noGrad(() => {
      params.forEach((p, i) => {
        const v = velocity[i];
        v.copy_(v.mul(momentum).add(grads[i]!));
        p.copy_(p.sub(v.mul(lr)));
      });
    });
  };
}

function disposeAll(ts: readonly Tensor[]): void {
  for (const t of ts) t.dispose();
}

describe('training', () => {
  test('an MLP (Tanh) learns XOR to 100% accuracy', () => {
    mg.manualSeed(0);
    const x = mg.tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = mg.tensor([0, 1, 1, 0], { dtype: 'int32' });
    const model = new nn.Sequential(new nn.Linear(2, 8), new nn.Tanh(), new nn.Linear(8, 2));
    const step = sgd(model.parameters(), 0.5, 0.9);
    const baseline = mg.memory();
    const t0 = performance.now();
    let loss = Infinity;
    let iters = 0;
    for (; iters < 500 && loss > 0.01; iters++) {
      loss = mg.tidy(() => {
        const l = F.crossEntropy(model.call(x), y);
        step(l);
        return l.item();
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(mg.memory().tensors).toBe(baseline.tensors);
    expect(mg.memory().bytes).toBe(baseline.bytes);
    const acc = mg.tidy(() => F.accuracy(model.call(x), y));
    console.log(`XOR: loss ${loss.toFixed(4)}, accuracy ${acc} after ${iters} iterations, ${seconds.toFixed(2)} s`);
    expect(acc).toBe(1);
    expect(loss).toBeLessThan(0.05);
  });

  test('an MLP fits y = sin(x) on [-3, 3] to low MSE', () => {
    mg.manualSeed(1);
    const x = mg.linspace(-3, 3, 64).reshape([64, 1]);
    const y = x.sin();
    const model = new nn.Sequential(new nn.Linear(1, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 1));
    const step = sgd(model.parameters(), 0.05, 0.9);
    const initial = mg.tidy(() => F.mseLoss(model.call(x), y).item());
    const baseline = mg.memory();
    const t0 = performance.now();
    let mse = Infinity;
    let iters = 0;
    for (; iters < 3000 && mse > 1e-3; iters++) {
      mse = mg.tidy(() => {
        const l = F.mseLoss(model.call(x), y);
        step(l);
        return l.item();
      });
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(mg.memory().tensors).toBe(baseline.tensors);
    // held-out points between the training grid
    const xt = mg.linspace(-2.95, 2.95, 50).reshape([50, 1]);
    const testMse = mg.tidy(() => F.mseLoss(model.call(xt), xt.sin()).item());
    console.log(`sin: train MSE ${initial.toFixed(3)} -> ${mse.toExponential(2)}, test MSE ${testMse.toExponential(2)} after ${iters} iterations, ${seconds.toFixed(2)} s`);
    expect(mse).toBeLessThan(5e-3);
    expect(testMse).toBeLessThan(1e-2);
  });

  test('a small conv net (Conv2d, BatchNorm2d, ReLU, MaxPool2d, Flatten, Linear) tells horizontal from vertical bars', () => {
    // 8x8 images: one full-length bar (a random row or column) of intensity 1 plus N(0, 0.35^2) noise.
    const rnd = prng(7);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    const make = (n: number): [Tensor, Tensor] => {
      const img = new Float32Array(n * 64);
      const lab = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const vertical = rnd() < 0.5 ? 1 : 0;
        const k = Math.floor(rnd() * 8);
        lab[i] = vertical;
        for (let r = 0; r < 8; r++)
          for (let c = 0; c < 8; c++) img[i * 64 + r * 8 + c] = ((vertical ? c : r) === k ? 1 : 0) + 0.35 * gauss();
      }
      return [mg.tensor(img, { shape: [n, 1, 8, 8] }), mg.tensor(lab, { shape: [n] })];
    };
    const [xTrain, yTrain] = make(512);
    const [xTest, yTest] = make(200);
    mg.manualSeed(2);
    const model = new nn.Sequential(
      new nn.Conv2d(1, 8, 3, { padding: 1 }),
      new nn.BatchNorm2d(8),
      new nn.ReLU(),
      new nn.MaxPool2d(2),
      new nn.Flatten(),
      new nn.Linear(8 * 4 * 4, 2),
    );
    const step = sgd(model.parameters(), 0.05, 0.9);
    const chance = mg.tidy(() => F.accuracy(model.eval().call(xTest), yTest));
    model.train();
    const baseline = mg.memory();
    const t0 = performance.now();
    const batch = 32;
    let iters = 0;
    let loss = 0;
    for (let epoch = 0; epoch < 10; epoch++) {
      for (let s = 0; s + batch <= 512; s += batch, iters++) {
        loss = mg.tidy(() => {
          const l = F.crossEntropy(model.call(xTrain.slice(0, s, s + batch)), yTrain.slice(0, s, s + batch));
          step(l);
          return l.item();
        });
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    expect(mg.memory().tensors).toBe(baseline.tensors);
    expect(mg.memory().bytes).toBe(baseline.bytes);
    model.eval(); // a plain classifier: running statistics are right here (unlike meta-learning)
    const acc = mg.tidy(() => F.accuracy(model.call(xTest), yTest));
    const trainAcc = mg.tidy(() => F.accuracy(model.call(xTrain), yTrain));
    console.log(`bars: test accuracy ${chance} -> ${acc} (train ${trainAcc}, last batch loss ${loss.toFixed(3)}) after ${iters} iterations, ${seconds.toFixed(2)} s`);
    expect(acc).toBeGreaterThan(0.95);
    disposeAll([xTrain, yTrain, xTest, yTest]);
    model.dispose();
  });

  test('second-order MAML through functionalCall (sinusoid tasks): the adapted loss drops, memory returns to baseline', () => {
    mg.manualSeed(3);
    const rnd = prng(11);
    const model = new nn.Sequential(new nn.Linear(1, 32), new nn.Tanh(), new nn.Linear(32, 32), new nn.Tanh(), new nn.Linear(32, 1));
    const theta = model.parameters();
    const metaStep = sgd(theta, 0.01, 0.9);
    const innerLr = 0.05;
    const task = (): [Tensor, Tensor, Tensor, Tensor] => {
      const amp = 0.5 + 1.5 * rnd();
      const phase = Math.PI * rnd();
      const xs = mg.rand([10, 1]).mul(10).sub(5);
      const xq = mg.rand([10, 1]).mul(10).sub(5);
      return [xs, xs.add(phase).sin().mul(amp), xq, xq.add(phase).sin().mul(amp)];
    };
    // query loss after one inner step, averaged over a meta-batch (createGraph: second order)
    const adaptedLoss = (tasks: [Tensor, Tensor, Tensor, Tensor][], createGraph: boolean) => {
      let total: Tensor | null = null;
      for (const [xs, ys, xq, yq] of tasks) {
        const inner = F.mseLoss(nn.functionalCall(model, theta, xs), ys);
        const grads = mg.grad(inner, theta, { createGraph });
        const adapted = theta.map((p, i) => p.sub(grads[i]!.mul(innerLr)));
        const q = F.mseLoss(nn.functionalCall(model, adapted, xq), yq);
        total = total ? total.add(q) : q;
      }
      return total!.div(tasks.length);
    };
    const evalTasks = Array.from({ length: 20 }, task).map((t) => t.map(mg.keep) as typeof t);
    const evaluate = () => mg.tidy(() => adaptedLoss(evalTasks, false).item());
    const before = evaluate();
    const baseline = mg.memory();
    const t0 = performance.now();
    const iters = 300;
    for (let it = 0; it < iters; it++) mg.tidy(() => metaStep(adaptedLoss(Array.from({ length: 4 }, task), true)));
    const seconds = (performance.now() - t0) / 1000;
    expect(mg.memory().tensors).toBe(baseline.tensors);
    expect(mg.memory().bytes).toBe(baseline.bytes);
    const after = evaluate();
    console.log(`MAML sinusoid: adapted query MSE ${before.toFixed(3)} -> ${after.toFixed(3)} after ${iters} meta-iterations, ${seconds.toFixed(2)} s`);
    expect(after).toBeLessThan(0.7 * before);
    disposeAll(evalTasks.flat());
  });
});
