import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { batchedAdapt, batchedMamlMetaLoss, mlpForward, stackTasks } from '../../src/meta/batched.js';

const F = mg.nn.functional;
type Tensor = mg.Tensor;
const f64 = { dtype: 'float64' as const };

const flat = (ts: readonly (Tensor | null)[]): number[] => ts.flatMap((t) => Array.from(t!.data() as Float64Array));

function maxRelDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...b.map(Math.abs));
  return Math.max(...a.map((v, i) => Math.abs(v - b[i]))) / scale;
}

/** Shared MLP parameters [W1, b1, ...] (leaves requiring grad), nonzero biases. */
function makeParams(layers: number[], seed: number): Tensor[] {
  mg.manualSeed(seed);
  const ps: Tensor[] = [];
  for (let i = 0; i < layers.length - 1; i++) {
    ps.push(mg.keep(mg.randn([layers[i + 1], layers[i]], f64).mul(1 / Math.sqrt(layers[i])).requiresGrad_()));
    ps.push(mg.keep(mg.randn([layers[i + 1]], f64).mul(0.3).requiresGrad_()));
  }
  return ps;
}

/** Per-task MLP with plain mg ops (F.linear), independent of the batched code. */
function mlpTask(ps: readonly Tensor[], x: Tensor, act: (h: Tensor) => Tensor): Tensor {
  let h = x;
  const L = ps.length / 2;
  for (let i = 0; i < L; i++) {
    h = F.linear(h, ps[2 * i], ps[2 * i + 1]);
    if (i < L - 1) h = act(h);
  }
  return h;
}

/** The per-task loop reference: mean over tasks of the query loss after `steps` inner SGD steps. */
function loopMetaLoss(ps: readonly Tensor[], tasks: mg.data.Task[], steps: number, lr: number, firstOrder: boolean, act: (h: Tensor) => Tensor): Tensor {
  let total: Tensor | null = null;
  for (const t of tasks) {
    let cur = [...ps];
    for (let s = 0; s < steps; s++) {
      const l = F.mseLoss(mlpTask(cur, t.support.x, act), t.support.y);
      const gs = mg.grad(l, cur, { createGraph: !firstOrder, retainGraph: true }) as Tensor[];
      cur = cur.map((p, i) => p.sub((firstOrder ? gs[i].detach() : gs[i]).mul(lr)));
    }
    const q = F.mseLoss(mlpTask(cur, t.query.x, act), t.query.y);
    total = total === null ? q : total.add(q);
  }
  return total!.div(tasks.length);
}

function sinusoidTasks(n: number, seed: number): mg.data.Task[] {
  mg.manualSeed(seed);
  return new mg.data.MamlSinusoid({ shots: 5, query: 7, dtype: 'float64' }).sample(n);
}

const acts = {
  relu: (h: Tensor) => h.relu(),
  tanh: (h: Tensor) => h.tanh(),
} as const;

describe('task-batched MAML', () => {
  test('mlpForward with shared and per-task parameters equals the per-task F.linear MLP', () => {
    mg.tidy(() => {
      const ps = makeParams([2, 6, 3], 1);
      const T = 4;
      const x = mg.randn([T, 5, 2], f64);
      const shared = mlpForward(ps, x, { activation: 'tanh' });
      expect(shared.shape).toEqual([T, 5, 3]);
      // per-task parameters: distinct per task (perturbed), W [T,out,in], b [T,out]
      const per = ps.map((p, i) => mg.randn([T, ...p.shape], f64).mul(0.1).add(p));
      const perOut = mlpForward(per, x, { activation: 'tanh' });
      for (let t = 0; t < T; t++) {
        const xt = x.slice(0, t, t + 1).reshape([5, 2]);
        const ref = flat([mlpTask(ps, xt, acts.tanh)]);
        expect(maxRelDiff(flat([shared.slice(0, t, t + 1)]), ref)).toBeLessThan(1e-14);
        const pt = per.map((p) => p.slice(0, t, t + 1).reshape(p.shape.slice(1)));
        const refPer = flat([mlpTask(pt, xt, acts.tanh)]);
        expect(maxRelDiff(flat([perOut.slice(0, t, t + 1)]), refPer)).toBeLessThan(1e-14);
        // the perturbation matters (guards against per-task parameters being ignored)
        expect(maxRelDiff(refPer, ref)).toBeGreaterThan(1e-4);
      }
      expect(() => mlpForward(ps, x.reshape([T * 5, 2]))).toThrow(/\[T, n, in\]/);
      expect(() => mlpForward(ps.slice(0, 3), x)).toThrow();
    });
  });

  test('stackTasks stacks the splits along a leading task dim', () => {
    const tasks = sinusoidTasks(3, 2);
    const b = stackTasks(tasks);
    expect(b.support.x.shape).toEqual([3, 5, 1]);
    expect(b.query.y.shape).toEqual([3, 7, 1]);
    expect(flat([b.query.y.slice(0, 2, 3)])).toEqual(flat([tasks[2].query.y]));
    expect(flat([b.support.x.slice(0, 1, 2)])).toEqual(flat([tasks[1].support.x]));
  });

  for (const [actName, act] of Object.entries(acts)) {
    for (const steps of [1, 2]) {
      test(`${actName}, ${steps} inner step(s): batched meta-loss and meta-gradients (second and first order) equal the per-task loop`, () => {
        const layers = [1, 8, 8, 1];
        const ps = makeParams(layers, 10 + steps);
        const tasks = sinusoidTasks(5, 20 + steps);
        const b = stackTasks(tasks);
        const lr = 0.05;
        const results: Record<string, number[]> = {};
        for (const firstOrder of [false, true]) {
          mg.tidy(() => {
            const lb = batchedMamlMetaLoss(ps, b.support, b.query, { innerSteps: steps, innerLr: lr, firstOrder, activation: actName as 'relu' | 'tanh' });
            const ll = loopMetaLoss(ps, tasks, steps, lr, firstOrder, act);
            expect(lb.shape).toEqual([]);
            expect(Math.abs(lb.item() - ll.item()) / Math.abs(ll.item())).toBeLessThan(1e-12);
            const gb = flat(mg.grad(lb, ps) as Tensor[]);
            const gl = flat(mg.grad(ll, ps) as Tensor[]);
            expect(maxRelDiff(gb, gl)).toBeLessThan(1e-12);
            results[firstOrder ? 'fo' : 'so'] = gb;
          });
        }
        // the second-order terms are not negligible here, so the comparison above tells them apart
        expect(maxRelDiff(results.so, results.fo)).toBeGreaterThan(1e-4);
        // and adaptation changes the loss (the inner step is not a no-op)
        mg.tidy(() => {
          const l0 = batchedMamlMetaLoss(ps, b.support, b.query, { innerSteps: 0 }).item();
          const l1 = batchedMamlMetaLoss(ps, b.support, b.query, { innerSteps: steps, innerLr: lr }).item();
          expect(Math.abs(l1 - l0)).toBeGreaterThan(1e-6);
        });
      });
    }
  }

  test('second-order meta-gradient matches finite differences of the batched meta-loss', () => {
    const ps = makeParams([1, 5, 1], 3);
    const tasks = sinusoidTasks(3, 4);
    const b = stackTasks(tasks);
    const opts = { innerSteps: 2, innerLr: 0.05, activation: 'tanh' as const };
    const g = mg.tidy(() => flat(mg.grad(batchedMamlMetaLoss(ps, b.support, b.query, opts), ps) as Tensor[]));
    // perturb one entry of W1 and of b2
    const eps = 1e-6;
    for (const [pi, k] of [[0, 2], [3, 0]] as const) {
      const vals = [-1, 1].map((sgn) =>
        mg.tidy(() => {
          const pv = ps.map((p, i) => {
            if (i !== pi) return p;
            const d = Float64Array.from(p.data() as Float64Array);
            d[k] += sgn * eps;
            return mg.tensor(d, { shape: p.shape, dtype: 'float64' }).requiresGrad_();
          });
          return batchedMamlMetaLoss(pv, b.support, b.query, opts).item();
        }),
      );
      const fd = (vals[1] - vals[0]) / (2 * eps);
      let off = 0;
      for (let i = 0; i < pi; i++) off += ps[i].size;
      expect(Math.abs(g[off + k] - fd)).toBeLessThan(1e-6 * Math.max(1, Math.abs(fd)));
    }
  });

  test('per-task adapted parameters: slice t is task t adapted alone', () => {
    const ps = makeParams([1, 6, 1], 7);
    const tasks = sinusoidTasks(3, 8);
    const b = stackTasks(tasks);
    mg.tidy(() => {
      const ad = batchedAdapt(ps, b.support, { innerSteps: 2, innerLr: 0.1, activation: 'tanh' });
      expect(ad[0].shape).toEqual([3, 6, 1]);
      expect(ad[1].shape).toEqual([3, 1, 6]);
      const one = stackTasks([tasks[1]]);
      const ad1 = batchedAdapt(ps, one.support, { innerSteps: 2, innerLr: 0.1, activation: 'tanh' });
      for (let i = 0; i < ps.length; i++) expect(maxRelDiff(flat([ad[i].slice(0, 1, 2)]), flat([ad1[i]]))).toBeLessThan(1e-14);
      // different tasks adapt differently
      expect(maxRelDiff(flat([ad[0].slice(0, 0, 1)]), flat([ad[0].slice(0, 1, 2)]))).toBeGreaterThan(1e-6);
    });
  });

  test('meta-training steps with Adam free everything (memory returns to baseline) and lower the loss', () => {
    const model = new mg.nn.Sequential(new mg.nn.Linear(1, 16, f64), new mg.nn.Tanh(), new mg.nn.Linear(16, 1, f64));
    const params = model.parameters();
    const opt = new mg.optim.Adam(params, { lr: 0.01 });
    mg.manualSeed(5);
    const sampler = new mg.data.MamlSinusoid({ shots: 10, dtype: 'float64' });
    const evalB = stackTasks(sampler.sample(20));
    const opts = { innerSteps: 1, innerLr: 0.3, activation: 'tanh' as const };
    const evalLoss = () => mg.tidy(() => batchedMamlMetaLoss(params, evalB.support, evalB.query, opts).item());
    const before = evalLoss();
    const stepOnce = (): number => {
      const tasks = sampler.sample(4);
      const b = stackTasks(tasks);
      opt.zeroGrad();
      const v = mg.tidy(() => {
        const l = batchedMamlMetaLoss(params, b.support, b.query, opts);
        l.backward();
        return l.item();
      });
      opt.step();
      for (const t of tasks) for (const s of [t.support, t.query]) (s.x.dispose(), s.y.dispose());
      for (const s of [b.support, b.query]) (s.x.dispose(), s.y.dispose());
      return v;
    };
    stepOnce(); // Adam's state and the .grads exist from here on
    const base = mg.memory().cpu;
    for (let it = 0; it < 100; it++) expect(Number.isFinite(stepOnce())).toBe(true);
    const after = mg.memory().cpu;
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes).toBe(base.bytes);
    expect(evalLoss()).toBeLessThan(0.7 * before);
  });

  for (const firstOrder of [false, true]) {
    test(`Meta-SGD rates (innerLrs), ${firstOrder ? 'first' : 'second'} order: batched meta-loss and gradients equal mg.meta.MetaSGD's per-task loop`, () => {
      mg.tidy(() => {
        mg.manualSeed(11);
        const model = new mg.nn.Sequential(new mg.nn.Linear(1, 6, f64), new mg.nn.ReLU(), new mg.nn.Linear(6, 5, f64), new mg.nn.ReLU(), new mg.nn.Linear(5, 1, f64));
        const learner = new mg.meta.MetaSGD(model, { innerSteps: 2, innerLr: 0.05, firstOrder });
        // Distinct rates per element, so a mix-up of rates and parameters would show.
        mg.noGrad(() => learner.lrs.forEach((r) => mg.copy_(r, mg.rand(r.shape, f64).mul(0.1))));
        const tasks = sinusoidTasks(3, 12);
        const meta = learner.metaParameters();
        const ref = learner.metaLoss(tasks);
        const gRef = mg.grad(ref, meta);
        const b = stackTasks(tasks);
        const params = model.parameters();
        const l = batchedMamlMetaLoss(params, b.support, b.query, { innerSteps: 2, innerLrs: learner.lrs, firstOrder });
        const g = mg.grad(l, meta);
        expect(Math.abs(l.item() - ref.item())).toBeLessThan(1e-12 * Math.max(1, ref.item()));
        expect(maxRelDiff(flat(g), flat(gRef))).toBeLessThan(1e-10);
        // The rates get a nonzero meta-gradient.
        expect(flat(g.slice(params.length)).some((v) => v !== 0)).toBe(true);
      });
    });
  }

  test('ANIL (adapted = head only): batched meta-loss and gradients equal mg.meta.ANIL, the body stays shared', () => {
    mg.tidy(() => {
      mg.manualSeed(13);
      const model = new mg.nn.Sequential(new mg.nn.Linear(1, 6, f64), new mg.nn.Tanh(), new mg.nn.Linear(6, 5, f64), new mg.nn.Tanh(), new mg.nn.Linear(5, 1, f64));
      const anil = new mg.meta.ANIL(model, { innerSteps: 3, innerLr: 0.1 });
      const tasks = sinusoidTasks(4, 14);
      const params = model.parameters();
      const ref = anil.metaLoss(tasks);
      const gRef = mg.grad(ref, params);
      const b = stackTasks(tasks);
      const adapted = params.map((_, i) => i >= 4);
      const opts = { innerSteps: 3, innerLr: 0.1, activation: 'tanh' as const, adapted };
      const l = batchedMamlMetaLoss(params, b.support, b.query, opts);
      const g = mg.grad(l, params);
      expect(Math.abs(l.item() - ref.item())).toBeLessThan(1e-12 * Math.max(1, ref.item()));
      expect(maxRelDiff(flat(g), flat(gRef))).toBeLessThan(1e-10);
      const ad = batchedAdapt(params, b.support, opts);
      expect(ad[0]).toBe(params[0]); // body: the shared tensor itself
      expect(ad[4].shape).toEqual([4, 1, 5]);
      expect(() => batchedAdapt(params, b.support, { adapted: [true] })).toThrow(/adapted has 1 flags for 6 parameters/);
      expect(() => batchedAdapt(params, b.support, { innerLrs: params.map((p) => p.reshape([-1])) })).toThrow(/innerLrs\[0\] \[6\] must have the shape of parameter 0 \[6, 1\]/);
    });
  });
});
