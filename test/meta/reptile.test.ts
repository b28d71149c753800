/**
 * Reptile: the update checked against an inner loop written here (plain SGD with mg.grad on a
 * hand-written forward pass, not functionalCall), the batched update against per-task updates,
 * the k = 1 identity with the support-loss gradient, the annealed outer step size, a short
 * training run on sinusoids, and memory back to its baseline.
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { Reptile } from '../../src/meta/reptile.js';

type Tensor = mg.Tensor;
const nn = mg.nn;

/** 2-3-1 tanh MLP in float64; parameters [w1 [3,2], b1 [3], w2 [1,3], b2 [1]]. */
function tinyModel(): mg.nn.Sequential {
  return new nn.Sequential(new nn.Linear(2, 3, { dtype: 'float64' }), new nn.Tanh(), new nn.Linear(3, 1, { dtype: 'float64' }));
}

/** The same network written with raw ops (independent of functionalCall and the modules). */
function forward([w1, b1, w2, b2]: readonly Tensor[], x: Tensor): Tensor {
  return x.matmul(w1.transpose()).add(b1).tanh().matmul(w2.transpose()).add(b2);
}

function mse(p: Tensor, y: Tensor): Tensor {
  return p.sub(y).square().mean();
}

function tinyTask(seed: number): mg.data.Task {
  mg.manualSeed(seed);
  const x = mg.randn([6, 2], { dtype: 'float64' });
  const y = mg.randn([6, 1], { dtype: 'float64' });
  return { support: { x, y }, query: { x, y } };
}

/** k plain SGD steps from `theta` on (x, y), written here. Returns phi as plain arrays. */
function sgdByHand(theta: readonly Tensor[], x: Tensor, y: Tensor, k: number, lr: number): number[][] {
  return mg.tidy(() => {
    let p = theta.map((t) => mg.tensor(t.data(), { shape: t.shape, dtype: 'float64', requiresGrad: true }));
    for (let s = 0; s < k; s++) {
      const g = mg.grad(mse(forward(p, x), y), p);
      p = mg.noGrad(() => p.map((pi, i) => pi.sub(g[i]!.mul(lr)))).map((t) => t.requiresGrad_());
    }
    return p.map((t) => Array.from(t.data()));
  });
}

function values(ts: readonly Tensor[]): number[][] {
  return ts.map((t) => Array.from(t.data()));
}

function expectClose(a: number[][], b: number[][], digits = 10): void {
  expect(a.length).toBe(b.length);
  a.forEach((row, i) => {
    expect(row.length).toBe(b[i].length);
    row.forEach((v, j) => expect(v).toBeCloseTo(b[i][j], digits));
  });
}

describe('Reptile', () => {
  test('direction equals (theta - phi_k) / alpha with phi_k from k SGD steps written here', () => {
    mg.manualSeed(0);
    const model = tinyModel();
    const task = tinyTask(1);
    const k = 4;
    const alpha = 0.1;
    const reptile = new Reptile(model, { innerSteps: k, innerLr: alpha });
    const theta = values(model.parameters());
    const phi = sgdByHand(model.parameters(), task.support.x, task.support.y, k, alpha);
    const expected = theta.map((row, i) => row.map((v, j) => (v - phi[i][j]) / alpha));
    const d = reptile.direction(task);
    expect(d.map((t) => t.shape)).toEqual(model.parameters().map((t) => t.shape));
    expectClose(values(d), expected);
    // Not trivially zero, and the model is left unchanged.
    expect(Math.max(...expected.flat().map(Math.abs))).toBeGreaterThan(1e-3);
    expect(values(model.parameters())).toEqual(theta);
    // adapt() returns phi itself.
    expectClose(values(reptile.adapt(task)), phi);
  });

  test('with k = 1 the direction is the gradient of the support loss', () => {
    mg.manualSeed(3);
    const model = tinyModel();
    const task = tinyTask(4);
    const reptile = new Reptile(model, { innerSteps: 1, innerLr: 0.37 });
    const p = model.parameters().map((t) => mg.tensor(t.data(), { shape: t.shape, dtype: 'float64', requiresGrad: true }));
    const g = mg.grad(mse(forward(p, task.support.x), task.support.y), p).map((t) => t!);
    expectClose(values(reptile.direction(task)), values(g), 10);
  });

  test('a list of batches gives one inner step per batch, in order', () => {
    mg.manualSeed(5);
    const model = tinyModel();
    const a = tinyTask(6).support;
    const b = tinyTask(7).support;
    const reptile = new Reptile(model, { innerSteps: 10, innerLr: 0.2 });
    const theta = model.parameters();
    const afterA = sgdByHand(theta, a.x, a.y, 1, 0.2);
    const pa = afterA.map((v, i) => mg.tensor(Float64Array.from(v), { shape: theta[i].shape }));
    const expected = sgdByHand(pa, b.x, b.y, 1, 0.2);
    expectClose(values(reptile.adapt([a, b])), expected);
  });

  test('serial step: theta <- theta + eps (phi - theta), in place', () => {
    mg.manualSeed(8);
    const model = tinyModel();
    const task = tinyTask(9);
    const eps = 0.3;
    const reptile = new Reptile(model, { innerSteps: 3, innerLr: 0.05, outerLr: eps });
    const own = model.parameters();
    const theta = values(own);
    const phi = sgdByHand(own, task.support.x, task.support.y, 3, 0.05);
    const r = reptile.step(task);
    expect(r.stepSize).toBe(eps);
    expect(reptile.iteration).toBe(1);
    const expected = theta.map((row, i) => row.map((v, j) => v + eps * (phi[i][j] - v)));
    expect(model.parameters()).toEqual(own); // the same tensors, updated in place
    expectClose(values(model.parameters()), expected);
    // The reported loss is the pre-adaptation support loss.
    const p0 = theta.map((v, i) => mg.tensor(Float64Array.from(v), { shape: own[i].shape }));
    expect(r.loss).toBeCloseTo(mse(forward(p0, task.support.x), task.support.y).item(), 10);
  });

  test('batched update equals the average of the per-task updates', () => {
    mg.manualSeed(10);
    const model = tinyModel();
    const tasks = [tinyTask(11), tinyTask(12), tinyTask(13)];
    const eps = 0.5;
    const theta0 = values(model.parameters());
    const restore = () => mg.noGrad(() => model.parameters().forEach((t, i) => t.copy_(mg.tensor(Float64Array.from(theta0[i]), { shape: t.shape }))));

    // Per-task serial updates from the same theta0.
    const perTask = tasks.map((t) => {
      restore();
      new Reptile(model, { innerSteps: 2, innerLr: 0.1, outerLr: eps }).step(t);
      return values(model.parameters());
    });
    restore();
    new Reptile(model, { innerSteps: 2, innerLr: 0.1, outerLr: eps }).stepBatch(tasks);
    const batched = values(model.parameters());
    const mean = perTask[0].map((row, i) => row.map((_, j) => perTask.reduce((s, p) => s + p[i][j], 0) / tasks.length));
    expectClose(batched, mean);

    // And against the formula with phi_k from the hand-written inner loop.
    restore();
    const own = model.parameters();
    const phis = tasks.map((t) => sgdByHand(own, t.support.x, t.support.y, 2, 0.1));
    const expected = theta0.map((row, i) => row.map((v, j) => v + eps * (phis.reduce((s, p) => s + p[i][j], 0) / tasks.length - v)));
    expectClose(batched, expected);
    // The tasks disagree, so averaging is not a no-op.
    expect(Math.abs(perTask[0][0][0] - perTask[1][0][0])).toBeGreaterThan(1e-6);
  });

  test('the outer step size is annealed linearly: eps_i = eps0 (1 - i / iterations)', () => {
    mg.manualSeed(14);
    const model = tinyModel();
    const task = tinyTask(15);
    const reptile = new Reptile(model, { innerSteps: 1, innerLr: 0.1, outerLr: 0.8, iterations: 4 });
    expect([0, 1, 2, 3, 4, 5].map((i) => reptile.stepSize(i))).toEqual([0.8, 0.6, 0.4, 0.2, 0, 0].map((v) => expect.closeTo(v, 15)));
    const used: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = values(model.parameters());
      const d = values(reptile.direction(task)); // (theta - phi) / alpha
      const r = reptile.step(task);
      used.push(r.stepSize);
      // theta + eps (phi - theta) = theta - eps alpha d
      const expected = before.map((row, a) => row.map((v, b) => v - r.stepSize * 0.1 * d[a][b]));
      expectClose(values(model.parameters()), expected);
    }
    [0.8, 0.6, 0.4, 0.2, 0].forEach((v, i) => expect(used[i]).toBeCloseTo(v, 12));
    // Without iterations the step size is constant.
    expect(new Reptile(model, { outerLr: 0.3 }).stepSize(1000)).toBe(0.3);
  });

  test('memory returns to baseline after adapt, direction, step and stepBatch', () => {
    mg.manualSeed(16);
    const model = tinyModel();
    const tasks = [tinyTask(17), tinyTask(18)];
    const reptile = new Reptile(model, { innerSteps: 3, innerLr: 0.1, innerOptimizer: 'adam' });
    const sgd = new Reptile(model, { innerSteps: 3, innerLr: 0.1 });
    const before = mg.memory().tensors;
    for (let i = 0; i < 3; i++) {
      reptile.step(tasks[0]);
      sgd.step(tasks[1]);
      reptile.stepBatch(tasks);
      sgd.stepBatch(tasks);
    }
    expect(mg.memory().tensors).toBe(before);
    const d = sgd.direction(tasks[0]);
    const phi = reptile.adapt(tasks[1]);
    expect(mg.memory().tensors).toBe(before + d.length + phi.length);
    [...d, ...phi].forEach((t) => t.dispose());
    expect(mg.memory().tensors).toBe(before);
  });

  test('rejects bad options', () => {
    const model = tinyModel();
    expect(() => new Reptile(model, { innerLr: 0 })).toThrow(/innerLr/);
    expect(() => new Reptile(model, { iterations: 0 })).toThrow(/iterations/);
    expect(() => new Reptile(model).stepBatch([])).toThrow(/no tasks/);
  });

  test('a short Reptile training on sinusoids lowers the post-adaptation MSE on held-out tasks', () => {
    mg.manualSeed(42);
    const model = new nn.Sequential(new nn.Linear(1, 40), new nn.ReLU(), new nn.Linear(40, 40), new nn.ReLU(), new nn.Linear(40, 1));
    const sampler = new mg.data.ReptileSinusoid();
    // Held-out tasks: adapt (32 SGD steps) on 10 of the 50 points, evaluate on all 50 (the OpenAI example's evaluation).
    const evalTasks = sampler.sample(50);
    const evalSupport = evalTasks.map((t) => t.minibatches(10)[0]);
    const mseOn = (params: readonly Tensor[] | null, t: mg.data.ReptileSinusoidTask): number =>
      mg.nn.functional.mseLoss(params ? mg.nn.functionalCall(model, params, t.all.x) : model.call(t.all.x), t.all.y).item();
    const postAdaptMse = (): number => mg.tidy(() => {
      const evaluator = new Reptile(model, { innerLr: 0.02 });
      const phis = evalTasks.map((_, k) => evaluator.adapt(Array.from({ length: 32 }, () => evalSupport[k])));
      return evalTasks.reduce((s, t, k) => s + mseOn(phis[k], t), 0) / evalTasks.length;
    });
    const unadapted = mg.tidy(() => evalTasks.reduce((s, t) => s + mseOn(null, t), 0) / evalTasks.length);
    const initial = postAdaptMse();

    // Batched Reptile: 5 tasks per outer step, 5 inner minibatches of 10 per task, eps annealed from 1.
    const iterations = 500;
    const reptile = new Reptile(model, { innerLr: 0.02, outerLr: 1, iterations });
    const before = mg.memory().tensors;
    for (let i = 0; i < iterations; i++) {
      mg.tidy(() => reptile.stepBatch(sampler.sample(5).map((t) => t.minibatches(10))));
    }
    expect(mg.memory().tensors).toBe(before);
    const trained = postAdaptMse();
    console.log(`reptile sinusoid: unadapted ${unadapted.toFixed(3)}, post-adaptation MSE ${initial.toFixed(3)} (initial model) -> ${trained.toFixed(3)} (after Reptile)`);
    expect(trained).toBeLessThan(0.6 * unadapted);
    expect(trained).toBeLessThan(0.6 * initial);
  });
});
