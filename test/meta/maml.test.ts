import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose, prng } from '../helpers.js';

const nn = mg.nn;
const F = mg.nn.functional;
type Tensor = mg.Tensor;
const f64 = { dtype: 'float64' as const };

/** A 2-layer tanh network: its support loss has a nonzero Hessian. */
function net(): mg.nn.Sequential {
  return new nn.Sequential(new nn.Linear(2, 3, f64), new nn.Tanh(), new nn.Linear(3, 1, f64));
}

function fixedTask(seed: number): mg.data.Task {
  mg.manualSeed(seed);
  return {
    support: { x: mg.randn([5, 2], f64), y: mg.randn([5, 1], f64) },
    query: { x: mg.randn([4, 2], f64), y: mg.randn([4, 1], f64) },
  };
}

const flat = (ts: readonly Tensor[]): number[] => ts.flatMap((t) => Array.from(t.data() as Float64Array));
const leaves = (vals: number[], like: readonly Tensor[]): Tensor[] => {
  let o = 0;
  return like.map((t) => {
    const v = vals.slice(o, o + t.size);
    o += t.size;
    return mg.tensor(Float64Array.from(v), { shape: t.shape, dtype: 'float64' }).requiresGrad_();
  });
};

/** Plain-autograd pieces at explicit parameter values (independent of mg.meta). */
function lossAt(m: mg.nn.Sequential, vals: number[], b: mg.data.Batch): { g: number[]; H: number[][] } {
  const ps = leaves(vals, m.parameters());
  const loss = (...p: Tensor[]) => F.mseLoss(nn.functionalCall(m, p, b.x), b.y);
  const g = flat(mg.grad(loss(...ps), ps) as Tensor[]);
  const blocks = mg.hessian(loss, ps) as Tensor[][];
  const n = vals.length;
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
  return { g, H };
}

const matvec = (H: number[][], v: number[]) => H.map((row) => row.reduce((s, h, j) => s + h * v[j], 0));
const axpy = (a: number, x: number[], y: number[]) => y.map((yi, i) => yi + a * x[i]);
const vec = (v: number[]) => mg.tensor(Float64Array.from(v), { shape: [v.length], dtype: 'float64' });
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** Reference meta-gradient for `steps` inner steps: prod_k (I - a H_s(phi_k)) grad_q(phi_K), written out. */
function referenceMetaGrad(m: mg.nn.Sequential, task: mg.data.Task, alpha: number, steps: number, secondOrder: boolean): { meta: number[]; gq: number[] } {
  let phi = flat(m.parameters());
  const hs: number[][][] = [];
  for (let k = 0; k < steps; k++) {
    const { g, H } = lossAt(m, phi, task.support);
    hs.push(H);
    phi = axpy(-alpha, g, phi);
  }
  const qp = leaves(phi, m.parameters());
  const gQuery = flat(mg.grad(F.mseLoss(nn.functionalCall(m, qp, task.query.x), task.query.y), qp) as Tensor[]);
  let v = gQuery;
  if (secondOrder) for (let k = steps - 1; k >= 0; k--) v = axpy(-alpha, matvec(hs[k], v), v); // H symmetric
  return { meta: v, gq: gQuery };
}

function metaGrad(learner: mg.meta.MAML, tasks: mg.data.Task[]): number[] {
  return mg.tidy(() => flat(mg.grad(learner.metaLoss(tasks), learner.metaParameters()) as Tensor[]));
}

describe('MAML', () => {
  const alpha = 0.5;

  test('second-order meta-gradient (1 inner step) equals (I - alpha H_support(theta)) grad_query(phi)', () => {
    const task = fixedTask(1);
    mg.manualSeed(10);
    const m = net();
    const got = metaGrad(new mg.meta.MAML(m, { innerSteps: 1, innerLr: alpha }), [task]);
    const { meta } = referenceMetaGrad(m, task, alpha, 1, true);
    expectClose(vec(got), Float64Array.from(meta), { rtol: 1e-9, atol: 1e-12 });
  });

  test('second-order meta-gradient through 2 inner steps equals (I - aH(phi1))(I - aH(theta)) grad_query(phi2)', () => {
    const task = fixedTask(2);
    mg.manualSeed(11);
    const m = net();
    const got = metaGrad(new mg.meta.MAML(m, { innerSteps: 2, innerLr: alpha }), [task]);
    const { meta } = referenceMetaGrad(m, task, alpha, 2, true);
    expectClose(vec(got), Float64Array.from(meta), { rtol: 1e-9, atol: 1e-12 });
  });

  test('first-order meta-gradient equals grad_query(phi) exactly; it differs from second order by alpha H grad_query(phi)', () => {
    const task = fixedTask(3);
    mg.manualSeed(12);
    const m = net();
    const fo = metaGrad(new mg.meta.MAML(m, { innerSteps: 1, innerLr: alpha, firstOrder: true }), [task]);
    const so = metaGrad(new mg.meta.MAML(m, { innerSteps: 1, innerLr: alpha }), [task]);
    const { gq } = referenceMetaGrad(m, task, alpha, 1, false);
    expectClose(vec(fo), Float64Array.from(gq), { rtol: 1e-12, atol: 1e-14 });
    const { H } = lossAt(m, flat(m.parameters()), task.support);
    const hterm = matvec(H, gq).map((x) => alpha * x);
    const diff = fo.map((x, i) => x - so[i]);
    expectClose(vec(diff), Float64Array.from(hterm), { rtol: 1e-8, atol: 1e-12 });
    // guard: the Hessian term is substantial here, so a silent switch to first order fails this
    expect(norm(diff)).toBeGreaterThan(0.05 * norm(so));
    expect(norm(diff)).toBeGreaterThan(1e-3);
  });

  test('first-order through 2 inner steps keeps the identity path: meta-gradient = grad_query(phi2)', () => {
    const task = fixedTask(4);
    mg.manualSeed(13);
    const m = net();
    const fo = metaGrad(new mg.meta.MAML(m, { innerSteps: 2, innerLr: alpha, firstOrder: true }), [task]);
    const { gq } = referenceMetaGrad(m, task, alpha, 2, false);
    expectClose(vec(fo), Float64Array.from(gq), { rtol: 1e-12, atol: 1e-14 });
  });

  test('metaLoss is the mean of the per-task query losses; adapt with more steps and eval mode', () => {
    const tasks = [fixedTask(5), fixedTask(6)];
    mg.manualSeed(14);
    const m = net();
    const maml = new mg.meta.MAML(m, { innerSteps: 1, innerLr: 0.1 });
    const one = tasks.map((t) => mg.tidy(() => maml.metaLoss([t]).item()));
    const both = mg.tidy(() => maml.metaLoss(tasks).item());
    expect(both).toBeCloseTo((one[0] + one[1]) / 2, 12);
    // eval mode: same values as training mode, detached, with any number of steps
    const task = tasks[0];
    const train = maml.adapt(task.support, undefined, 3);
    const ev = maml.adapt(task.support, undefined, 3, { mode: 'eval' });
    expect(train[0].requiresGrad).toBe(true);
    for (const p of ev) expect(p.requiresGrad).toBe(false);
    ev.forEach((p, i) => expectClose(p, train[i].data() as Float64Array, { rtol: 1e-12, atol: 1e-14 }));
    // 0 steps: the initial parameters
    expect(maml.adapt(task.support, undefined, 0)).toEqual(m.parameters());
    const e3 = maml.evaluate([task], { steps: 3 });
    expect(e3).toBeCloseTo(F.mseLoss(nn.functionalCall(m, ev, task.query.x), task.query.y).item(), 12);
    // the inner loop descends the support loss
    const sl = (ps: Tensor[]) => F.mseLoss(nn.functionalCall(m, ps, task.support.x), task.support.y).item();
    expect(sl(ev)).toBeLessThan(sl(m.parameters()));
  });

  test('short meta-training on linear-regression tasks lowers the adapted query loss; memory returns to baseline', () => {
    const r = prng(7);
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
    mg.manualSeed(15);
    const m = new nn.Sequential(new nn.Linear(1, 16, f64), new nn.Tanh(), new nn.Linear(16, 1, f64));
    const maml = new mg.meta.MAML(m, { innerSteps: 1, innerLr: 0.3 });
    const opt = new mg.optim.Adam(maml.metaParameters(), { lr: 0.01 });
    const testTasks = sampler.sample(20);
    const before = maml.evaluate(testTasks, { steps: 1 });
    maml.step(sampler.sample(4), opt); // Adam's state and the .grads exist from here on
    const base = mg.memory().cpu;
    for (let it = 0; it < 150; it++) {
      const tasks = sampler.sample(4);
      const l = maml.step(tasks, opt);
      expect(Number.isFinite(l)).toBe(true);
      for (const t of tasks) for (const b of [t.support, t.query]) (b.x.dispose(), b.y.dispose());
    }
    const after = mg.memory().cpu;
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes).toBe(base.bytes);
    const trained = maml.evaluate(testTasks, { steps: 1 });
    expect(trained).toBeLessThan(0.5 * before);
    // more inner steps at evaluation help further; evaluation leaves nothing behind
    const m0 = mg.memory().cpu;
    expect(maml.evaluate(testTasks, { steps: 5 })).toBeLessThan(trained);
    expect(mg.memory().cpu.tensors).toBe(m0.tensors);
    expect(mg.memory().cpu.bytes).toBe(m0.bytes);
  });
});
