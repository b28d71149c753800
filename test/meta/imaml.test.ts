import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, prng } from '../helpers.js';
import { disposeTasks, imageTaskSampler } from './image_tasks.js';

const nn = mg.nn;
const F = mg.nn.functional;
type Tensor = mg.Tensor;
const f64 = { dtype: 'float64' as const };

const flat = (ts: readonly Tensor[]): number[] => ts.flatMap((t) => Array.from(t.data() as Float64Array));
const vec = (v: number[]) => mg.tensor(Float64Array.from(v), { shape: [v.length], dtype: 'float64' });

/** Solves A x = b by Gaussian elimination with partial pivoting (plain numbers). */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[piv][c])) piv = r;
    [M[c], M[piv]] = [M[piv], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/** Whether a symmetric matrix is positive definite (Cholesky succeeds). */
function positiveDefinite(A: number[][]): boolean {
  const n = A.length;
  const L = A.map(() => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i][j];
      for (let k = 0; k < j; k++) s -= L[i][k] * L[j][k];
      if (i === j) {
        if (!(s > 0)) return false;
        L[i][i] = Math.sqrt(s);
      } else L[i][j] = s / L[j][j];
    }
  }
  return true;
}

const matvec = (A: number[][], v: number[]) => A.map((row) => row.reduce((s, a, j) => s + a * v[j], 0));

/** The full Hessian of `loss` at `ps` as a plain matrix (mg.hessian blocks assembled). */
function hessianMatrix(loss: (...p: Tensor[]) => Tensor, ps: Tensor[]): number[][] {
  const blocks = mg.hessian(loss, ps) as Tensor[][];
  const n = ps.reduce((s, p) => s + p.size, 0);
  const H = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  let ro = 0;
  ps.forEach((pi, i) => {
    let co = 0;
    ps.forEach((pj, j) => {
      const d = blocks[i][j].data() as Float64Array;
      for (let a = 0; a < pi.size; a++) for (let c = 0; c < pj.size; c++) H[ro + a][co + c] = d[a * pj.size + c];
      co += pj.size;
    });
    ro += pi.size;
  });
  return H;
}

describe('conjugateGradient', () => {
  test('solves a symmetric positive-definite system split over tensors (n iterations), and flags an indefinite one', () => {
    const r = prng(3);
    const n = 6;
    const Mx = Array.from({ length: n }, () => Array.from({ length: n }, () => r() * 2 - 1));
    const A = Mx.map((_, i) => Mx.map((__, j) => Mx.reduce((s, row) => s + row[i] * row[j], 0) + (i === j ? 0.5 : 0)));
    const b = Array.from({ length: n }, () => r() * 2 - 1);
    const At = mg.tensor(A, f64);
    // x is split as a [2, 2] tensor and a [2] tensor
    const split = (v: Tensor): Tensor[] => [v.slice(0, 0, 4).reshape([2, 2]), v.slice(0, 4, 6)];
    const join = (ts: readonly Tensor[]): Tensor => mg.cat([ts[0].reshape([4]), ts[1]]);
    const rhs = split(vec(b));
    const base = mg.memory().cpu.tensors;
    const res = mg.meta.conjugateGradient((v) => split(At.matmul(join(v))), rhs, { maxIter: n, tol: 1e-14 });
    expect(mg.memory().cpu.tensors).toBe(base + 2); // x only
    expectClose(join(res.x), solve(A, b), { rtol: 1e-8, atol: 1e-10 });
    expect(res.iterations).toBeLessThanOrEqual(n);
    expect(res.indefinite).toBe(false);
    expect(res.residualNorm).toBeLessThan(1e-10);
    for (const t of res.x) t.dispose();
    // an indefinite operator: p^T A p = 0 on the first direction
    const D = mg.tensor([1, -1], f64);
    const ind = mg.meta.conjugateGradient(([v]) => [v.mul(D)], [mg.tensor([1, 1], f64)], { maxIter: 5 });
    expect(ind.indefinite).toBe(true);
    expect(ind.converged).toBe(false);
    expect(() => mg.meta.conjugateGradient((v) => v, [])).toThrow(/conjugateGradient: b must be a non-empty array of tensors/);
    expect(() => mg.meta.conjugateGradient(() => [mg.zeros([3])], [mg.ones([2])])).toThrow(/conjugateGradient: matvec must return 1 tensors shaped like b \(\[2\]\)/);
  });
});

describe('iMAML', () => {
  test('the implicit solve matches (I(1+delta) + H/lambda)^-1 v from the exact Hessian (mg.hessian, Gaussian elimination), both HVP modes', () => {
    mg.manualSeed(1);
    const m = new nn.Sequential(new nn.Linear(2, 3, f64), new nn.Tanh(), new nn.Linear(3, 1, f64));
    const x = mg.randn([6, 2], f64);
    const y = mg.randn([6, 1], f64);
    const phi = m.parameters().map((p) => p.detach().add(mg.randn(p.shape, f64).mul(0.5)));
    const trainLoss = (ps: Tensor[]) => F.mseLoss(nn.functionalCall(m, ps, x), y);
    const H = hessianMatrix((...ps) => trainLoss(ps), phi);
    const n = H.length;
    const v = phi.map((p) => mg.randn(p.shape, f64));
    for (const [lambda, damping] of [[2, 0], [1.5, 0.5]]) {
      const A = H.map((row, i) => row.map((h, j) => h / lambda + (i === j ? 1 + damping : 0)));
      expect(positiveDefinite(A)).toBe(true);
      const want = solve(A, flat(v));
      for (const hvpMode of ['rev-rev', 'fwd-rev'] as const) {
        const res = mg.meta.implicitMetaGradient(trainLoss, phi, v, { lambda, cgDamping: damping, cgSteps: 3 * n, cgTol: 1e-10, hvpMode });
        expectClose(vec(flat(res.x)), want, { rtol: 1e-7, atol: 1e-10 });
        expect(res.converged).toBe(true);
      }
    }
    // here H has an eigenvalue below -1: with lambda 0.7 and damping 0.5 the system is indefinite, and CG says so
    const Abad = H.map((row, i) => row.map((h, j) => h / 0.7 + (i === j ? 1.5 : 0)));
    expect(positiveDefinite(Abad)).toBe(false);
    expect(mg.meta.implicitMetaGradient(trainLoss, phi, v, { lambda: 0.7, cgDamping: 0.5, cgSteps: 3 * n }).indefinite).toBe(true);
    // a few CG steps only: an approximation whose residual shrinks with the steps
    const r2 = mg.meta.implicitMetaGradient(trainLoss, phi, v, { lambda: 2, cgSteps: 2 });
    const r6 = mg.meta.implicitMetaGradient(trainLoss, phi, v, { lambda: 2, cgSteps: 6 });
    expect(r2.iterations).toBe(2);
    expect(r6.residualNorm).toBeLessThan(r2.residualNorm);
    expect(() => mg.meta.implicitMetaGradient(trainLoss, phi, v.slice(1), { lambda: 1 })).toThrow(/implicitMetaGradient: got 3 tensors in v for 4 in phi/);
    expect(() => mg.meta.implicitMetaGradient(trainLoss, phi, v, { lambda: 0 })).toThrow(/implicitMetaGradient: lambda must be a positive number/);
  });

  test('on a quadratic inner problem the meta-gradient equals the exact implicit gradient of L_test(phi*(theta)) (closed form)', () => {
    mg.manualSeed(2);
    const d = 3;
    const model = new nn.Linear(d, 1, f64);
    const mk = (k: number) => ({ x: mg.randn([k, d], f64), y: mg.randn([k, 1], f64) });
    const task = { support: mk(8), query: mk(5) };
    const lambda = 0.5;
    // L(z) = mean((Xa z - y)^2) with Xa = [X, 1], z = [w; b]: H = 2/n Xa^T Xa, grad = H z - 2/n Xa^T y
    const quad = (b: mg.data.Batch) => {
      const X = b.x.toArray() as number[][];
      const yv = (b.y.toArray() as number[][]).map((r) => r[0]);
      const Xa = X.map((row) => [...row, 1]);
      const n = Xa.length;
      const Hm = Xa[0].map((_, i) => Xa[0].map((__, j) => (2 / n) * Xa.reduce((s, row) => s + row[i] * row[j], 0)));
      const c = Xa[0].map((_, i) => (2 / n) * Xa.reduce((s, row, k) => s + row[i] * yv[k], 0));
      return { H: Hm, c, loss: (z: number[]) => Xa.reduce((s, row, k) => s + (row.reduce((a, xv, j) => a + xv * z[j], 0) - yv[k]) ** 2, 0) / n };
    };
    const tr = quad(task.support);
    const te = quad(task.query);
    const theta = flat(model.parameters());
    const zStar = (th: number[]) => solve(tr.H.map((row, i) => row.map((h, j) => h + (i === j ? lambda : 0))), tr.c.map((ci, i) => ci + lambda * th[i]));
    const z = zStar(theta);
    const gTest = matvec(te.H, z).map((hv, i) => hv - te.c[i]);
    const exact = solve(tr.H.map((row, i) => row.map((h, j) => h / lambda + (i === j ? 1 : 0))), gTest);
    // the closed form is the derivative of L_test(z*(theta)): central differences
    exact.forEach((g, i) => {
      const e = (s: number) => te.loss(zStar(theta.map((t, j) => (j === i ? t + s : t))));
      expect(g).toBeCloseTo((e(1e-6) - e(-1e-6)) / 2e-6, 7);
    });
    // gradient descent on the proximal objective converges for lr < 2 / (L + lambda)
    const Lmax = tr.H.reduce((s, row, i) => s + row[i], 0);
    const learner = new mg.meta.IMAML(model, { lambda, innerSteps: 600, innerLr: 1 / (Lmax + lambda), cgSteps: 4, cgTol: 0 });
    const phi = learner.adapt(task.support);
    expectClose(vec(flat(phi)), z, { rtol: 1e-9, atol: 1e-11 });
    const { grads, queryLoss, solve: info } = learner.taskMetaGradient(task);
    expectClose(vec(flat(grads)), exact, { rtol: 1e-8, atol: 1e-10 });
    expect(queryLoss).toBeCloseTo(te.loss(z), 10);
    expect(info.iterations).toBe(4);
  });

  test('the inner loop with Nesterov momentum follows PyTorch SGD(nesterov) on the proximal objective', () => {
    mg.manualSeed(3);
    const model = new nn.Linear(2, 1, f64);
    const b = { x: mg.randn([5, 2], f64), y: mg.randn([5, 1], f64) };
    const [lambda, lr, mu, steps] = [0.8, 0.1, 0.9, 6];
    const got = mg.meta.proximalAdapt((ps) => F.mseLoss(nn.functionalCall(model, ps, b.x), b.y), model.parameters(), { lambda, lr, momentum: mu, nesterov: true, steps });
    // reference: plain numbers
    const X = (b.x.toArray() as number[][]).map((r) => [...r, 1]);
    const yv = (b.y.toArray() as number[][]).map((r) => r[0]);
    const theta = flat(model.parameters());
    let z = theta.slice();
    let buf: number[] | null = null;
    for (let s = 0; s < steps; s++) {
      const res = X.map((row, k) => row.reduce((a, xv, j) => a + xv * z[j], 0) - yv[k]);
      const g = z.map((zi, j) => (2 / X.length) * X.reduce((a, row, k) => a + row[j] * res[k], 0) + lambda * (zi - theta[j]));
      buf = buf === null ? g.slice() : buf.map((bv, j) => mu * bv + g[j]);
      z = z.map((zi, j) => zi - lr * (g[j] + mu * buf![j]));
    }
    expectClose(vec(flat(got)), z, { rtol: 1e-12, atol: 1e-14 });
  });

  test('with Conv4 (batch norm in training mode) both HVP modes give the same meta-gradient', () => {
    const sampler = imageTaskSampler({ ways: 2, shots: 2, query: 2, size: 6, dtype: 'float64', seed: 4 });
    const [task] = sampler.sample(1);
    mg.manualSeed(5);
    const net = new mg.nn.Conv4({ ways: 2, filters: 3, blocks: 2, imageSize: 6, dtype: 'float64' });
    const stats = flat(net.buffers());
    const res = (['rev-rev', 'fwd-rev'] as const).map((hvpMode) => {
      const l = new mg.meta.IMAML(net, { lambda: 1, innerSteps: 3, innerLr: 0.1, cgSteps: 4, hvpMode });
      return flat(l.taskMetaGradient(task).grads);
    });
    expectClose(vec(res[1]), res[0], { rtol: 1e-9, atol: 1e-12 });
    expect(Math.max(...res[0].map(Math.abs))).toBeGreaterThan(1e-4);
    expect(flat(net.buffers())).toEqual(stats); // running statistics untouched (updateStats: false)
  });

  test('peak memory of a meta-gradient does not grow with the inner steps (second-order MAML\'s does)', () => {
    const sampler = imageTaskSampler({ ways: 5, shots: 1, query: 2, size: 12, seed: 6 });
    const tasks = sampler.sample(1);
    mg.manualSeed(7);
    const net = new mg.nn.Conv4({ ways: 5, filters: 8, blocks: 3, imageSize: 12 });
    const peak = (fn: () => void): number => {
      const before = mg.memory().cpu.bytes;
      mg.resetPeakMemory();
      fn();
      expect(mg.memory().cpu.bytes).toBe(before);
      return mg.memory().cpu.peakBytes - before;
    };
    const imaml = (steps: number) =>
      peak(() => {
        const r = new mg.meta.IMAML(net, { innerSteps: steps, cgSteps: 3 }).taskMetaGradient(tasks[0]);
        for (const g of r.grads) g.dispose();
      });
    const maml = (steps: number) =>
      peak(() => mg.tidy(() => void mg.grad(new mg.meta.MAML(net, { innerSteps: steps, innerLr: 0.1, lossFn: (p, y) => F.crossEntropy(p, y) }).metaLoss(tasks), net.parameters())));
    imaml(1); // warm-up
    const [i2, i16] = [imaml(2), imaml(16)];
    const [m1, m4] = [maml(1), maml(4)];
    expect(i16).toBeLessThanOrEqual(i2 * 1.05);
    // MAML keeps every step's graph: 4 steps hold clearly more than 1 (1.9x with the fused batch norm,
    // whose saved tensors per step are fewer than the composite form's).
    expect(m4).toBeGreaterThan(1.5 * m1);
    expect(i2).toBeLessThan(m1);
    disposeTasks(tasks);
  });

  test('short meta-training on linear-regression tasks lowers the adapted query loss; memory returns to baseline', () => {
    const r = prng(8);
    const sampler: mg.data.TaskSampler = {
      sample(n) {
        return Array.from({ length: n }, () => {
          const a = -2 + 4 * r();
          const mk = (k: number) => {
            const xs = Array.from({ length: k }, () => -1 + 2 * r());
            return { x: mg.tensor(Float64Array.from(xs), { shape: [k, 1], dtype: 'float64' }), y: mg.tensor(Float64Array.from(xs.map((x) => a * x + 1)), { shape: [k, 1], dtype: 'float64' }) };
          };
          return { support: mk(5), query: mk(5) };
        });
      },
    };
    mg.manualSeed(9);
    const m = new nn.Sequential(new nn.Linear(1, 16, f64), new nn.Tanh(), new nn.Linear(16, 1, f64));
    const learner = new mg.meta.IMAML(m, { lambda: 1, innerSteps: 5, innerLr: 0.1, cgSteps: 3 });
    const opt = new mg.optim.Adam(learner.metaParameters(), { lr: 0.01 });
    const testTasks = sampler.sample(20);
    const before = learner.evaluate(testTasks);
    expect(learner.evaluateMetrics(testTasks).accuracy).toBeNull();
    learner.step(sampler.sample(4), opt);
    const base = mg.memory().cpu;
    for (let it = 0; it < 80; it++) {
      const tasks = sampler.sample(4);
      expect(Number.isFinite(learner.step(tasks, opt))).toBe(true);
      expect(learner.lastSolves.length).toBe(4);
      disposeTasks(tasks);
    }
    expect(mg.memory().cpu.tensors).toBe(base.tensors);
    expect(mg.memory().cpu.bytes).toBe(base.bytes);
    expect(learner.evaluate(testTasks)).toBeLessThan(0.5 * before);
    expect(() => new mg.meta.IMAML(m, { lambda: -1 })).toThrow(/IMAML: lambda must be a positive number/);
    expect(() => new mg.meta.IMAML(m, { nesterov: true })).toThrow(/IMAML: nesterov needs a positive innerMomentum/);
    expect(() => learner.step([], opt)).toThrow(/IMAML.step: expected at least one task/);
  });
});
