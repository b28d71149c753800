import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose } from '../helpers.js';
import { disposeTasks, imageTaskSampler } from './image_tasks.js';

const F = mg.nn.functional;
type Tensor = mg.Tensor;
const f64 = { dtype: 'float64' as const };
const ce = (p: Tensor, y: Tensor) => F.crossEntropy(p, y);

const flat = (ts: readonly (Tensor | null)[]): number[] => ts.flatMap((t) => (t === null ? [] : Array.from(t.data() as Float64Array)));
const vec = (v: number[]) => mg.tensor(Float64Array.from(v), { shape: [v.length], dtype: 'float64' });
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

/** A tiny float64 conv4 (2 blocks, 6x6 images, 3 filters, 2 ways) and tasks for it. */
function tiny(opts: Partial<mg.nn.Conv4Options> = {}, seed = 1): { net: mg.nn.Conv4; tasks: mg.data.Task[] } {
  const sampler = imageTaskSampler({ ways: 2, shots: 2, query: 2, size: 6, dtype: 'float64', seed });
  const tasks = sampler.sample(2);
  mg.manualSeed(seed + 100);
  const net = new mg.nn.Conv4({ ways: 2, filters: 3, blocks: 2, imageSize: 6, dtype: 'float64', ...opts });
  return { net, tasks };
}

/**
 * An independent MAML(++) meta-loss written out: inner SGD on the support loss at step index s
 * (BN parameters fixed unless adaptBn), query loss after update s at step index s, weighted by
 * `weights` (null: only the last step), mean over tasks.
 */
function referenceMetaLoss(net: mg.nn.Conv4, tasks: mg.data.Task[], o: { steps: number; lr: number; weights: number[] | null; second: boolean; adaptBn: boolean }): Tensor {
  const named = net.namedParameters();
  const inner = named.flatMap(([n], i) => (o.adaptBn || !n.startsWith('bn') ? [i] : []));
  let total: Tensor | null = null;
  for (const task of tasks) {
    let cur = named.map(([, p]) => p);
    for (let s = 0; s < o.steps; s++) {
      const l = ce(net.functional(cur, task.support.x, { step: s }), task.support.y);
      const gs = mg.grad(l, inner.map((i) => cur[i]), { createGraph: o.second, retainGraph: true });
      cur = cur.slice();
      inner.forEach((i, k) => (cur[i] = cur[i].sub(gs[k]!.mul(o.lr))));
      if (o.weights !== null || s === o.steps - 1) {
        const q = ce(net.functional(cur, task.query.x, { step: s }), task.query.y);
        const term = o.weights === null ? q : q.mul(o.weights[s]);
        total = total === null ? term : total.add(term);
      }
    }
  }
  return total!.div(tasks.length);
}

const gradsOf = (loss: () => Tensor, wrt: Tensor[]): number[] => mg.tidy(() => flat(mg.grad(loss(), wrt, { allowUnused: true })));

describe('perStepLossWeights (MSL)', () => {
  test('matches the authors\' formula: uniform at epoch 0, linear decay of the non-final weights to 0.03/K, sum 1', () => {
    // K = 5, 10 annealing epochs: decay 1/5/10 = 0.02 per epoch for each non-final weight.
    expectClose(mg.meta.perStepLossWeights(5, 0, 10), [0.2, 0.2, 0.2, 0.2, 0.2], { rtol: 1e-12, atol: 1e-15 });
    expectClose(mg.meta.perStepLossWeights(5, 3, 10), [0.14, 0.14, 0.14, 0.14, 0.44], { rtol: 1e-12, atol: 1e-15 });
    expectClose(mg.meta.perStepLossWeights(5, 8, 10), [0.04, 0.04, 0.04, 0.04, 0.84], { rtol: 1e-12, atol: 1e-15 });
    // clamped: 0.03/5 = 0.006 each, final 1 - 4 * 0.006
    expectClose(mg.meta.perStepLossWeights(5, 20, 10), [0.006, 0.006, 0.006, 0.006, 0.976], { rtol: 1e-12, atol: 1e-15 });
    for (const [K, e, E] of [[1, 0, 10], [3, 2.5, 4], [5, 9.7, 10], [7, 100, 15], [4, 0.3, 1]]) {
      const w = mg.meta.perStepLossWeights(K, e, E);
      expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(Math.max(...w)).toBe(w[K - 1]);
    }
    expect(() => mg.meta.perStepLossWeights(0, 0, 10)).toThrow(/perStepLossWeights: steps/);
    expect(() => mg.meta.perStepLossWeights(3, -1, 10)).toThrow(/perStepLossWeights: epoch/);
    expect(() => mg.meta.perStepLossWeights(3, 1, 0)).toThrow(/perStepLossWeights: annealEpochs/);
  });
});

describe('Conv4 and per-step batch norm', () => {
  test('shapes for max-pool and stride-2 variants; parameter order; bad input', () => {
    mg.manualSeed(0);
    const a = new mg.nn.Conv4({ ways: 5, filters: 4 });
    expect(a.featureSize).toEqual([1, 1]);
    expect(a.namedParameters().map(([n]) => n).slice(0, 4)).toEqual(['conv0.weight', 'conv0.bias', 'bn0.weight', 'bn0.bias']);
    expect(a.call(mg.randn([3, 1, 28, 28])).shape).toEqual([3, 5]);
    const b = new mg.nn.Conv4({ ways: 3, filters: 4, downsample: 'stride' });
    expect(b.featureSize).toEqual([2, 2]); // 28 -> 14 -> 7 -> 4 -> 2
    expect(b.head.weight.shape).toEqual([3, 16]);
    expect(b.call(mg.randn([2, 1, 28, 28])).shape).toEqual([2, 3]);
    expect(() => a.call(mg.randn([2, 1, 20, 20]))).toThrow(/Conv4: expected an input \[N, 1, 28, 28\], got \[2,1,20,20\]/);
    expect(() => new mg.nn.Conv4({ ways: 2, imageSize: 8 })).toThrow(/Conv4: a 8x8 image is too small for 4 blocks/);
    expect(() => new mg.nn.Conv4({ ways: 0 })).toThrow(/Conv4: ways must be a positive integer/);
    expect(() => a.call(mg.randn([2, 1, 28, 28]), { step: -1 })).toThrow(/MetaBatchNorm2d: step must be a non-negative integer/);
  });

  test('second derivatives of the functional forward (batch statistics) pass gradgradcheck', () => {
    mg.manualSeed(1);
    const net = new mg.nn.Conv4({ ways: 2, filters: 2, blocks: 2, imageSize: 4, dtype: 'float64', bnSteps: 2, perStepBnWeights: true });
    const x = mg.randn([3, 1, 4, 4], f64);
    const ps = net.parameters();
    const f = (w0: Tensor, g0: Tensor, hw: Tensor) => {
      const sub = ps.slice();
      sub[0] = w0; // conv0.weight
      sub[2] = g0; // bn0.weight [2, C]
      sub[ps.length - 2] = hw; // head.weight
      return net.functional(sub, x, { step: 1, updateStats: false }).tanh();
    };
    const inputs = [ps[0], ps[2], ps[ps.length - 2]].map((p) => p.detach().add(mg.randn(p.shape, f64).mul(0.1)));
    expect(mg.gradcheck(f, inputs)).toBe(true);
    expect(mg.gradgradcheck(f, inputs, { atol: 1e-4 })).toBe(true);
  });

  test('per-step statistics: step s updates row s only (EMA of the batch statistics); eval mode normalises with row s', () => {
    mg.manualSeed(2);
    const C = 3;
    const bn = new mg.nn.MetaBatchNorm2d(C, { steps: 3, perStepStats: true, perStepWeights: true, momentum: 0.25, dtype: 'float64' });
    mg.noGrad(() => {
      bn.runningMean.copy_(mg.randn([3, C], f64));
      bn.runningVar.copy_(mg.rand([3, C], f64).add(0.5));
      bn.weight.copy_(mg.randn([3, C], f64));
      bn.bias.copy_(mg.randn([3, C], f64));
    });
    const rm0 = bn.runningMean.toArray() as number[][];
    const rv0 = bn.runningVar.toArray() as number[][];
    const x = mg.randn([4, C, 2, 3], f64);
    const xs = x.toArray() as number[][][][];
    // training mode: F.batchNorm with row 1's weight and bias
    const want1 = F.batchNorm(x, null, null, { training: true, weight: bn.weight.slice(0, 1, 2).reshape([C]), bias: bn.bias.slice(0, 1, 2).reshape([C]) });
    expectClose(bn.call(x, { step: 1, updateStats: false }), want1.data() as Float64Array, { rtol: 1e-12, atol: 1e-12 });
    bn.call(x, { step: 1 });
    const rm1 = bn.runningMean.toArray() as number[][];
    const rv1 = bn.runningVar.toArray() as number[][];
    for (let c = 0; c < C; c++) {
      const vals = xs.flatMap((n) => n[c].flat());
      const mean = vals.reduce((a, b) => a + b, 0) / vals.length;
      const uvar = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1);
      expect(rm1[1][c]).toBeCloseTo(0.75 * rm0[1][c] + 0.25 * mean, 12);
      expect(rv1[1][c]).toBeCloseTo(0.75 * rv0[1][c] + 0.25 * uvar, 12);
      for (const r of [0, 2]) {
        expect(rm1[r][c]).toBe(rm0[r][c]);
        expect(rv1[r][c]).toBe(rv0[r][c]);
      }
    }
    // eval mode at step 2: (x - rm[2]) / sqrt(rv[2] + eps) * w[2] + b[2], computed here by hand
    const w = bn.weight.toArray() as number[][];
    const b = bn.bias.toArray() as number[][];
    const y = bn.call(x, { step: 2, training: false }).toArray() as number[][][][];
    const y0 = bn.call(x, { step: 0, training: false }).toArray() as number[][][][];
    let differs = 0;
    xs.forEach((xn, n) => xn.forEach((xc, c) => xc.forEach((row, i) => row.forEach((v, j) => {
      const want = ((v - rm1[2][c]) / Math.sqrt(rv1[2][c] + 1e-5)) * w[2][c] + b[2][c];
      expect(y[n][c][i][j]).toBeCloseTo(want, 12);
      differs = Math.max(differs, Math.abs(y0[n][c][i][j] - want));
    }))));
    expect(differs).toBeGreaterThan(1e-2);
    // the per-step weight gets a gradient in its own row only; a step past the last uses the last row
    const [gw] = mg.grad(bn.call(x, { step: 1, updateStats: false }).square().sum(), [bn.weight]);
    const g = gw!.toArray() as number[][];
    expect(norm(g[0]) + norm(g[2])).toBe(0);
    expect(norm(g[1])).toBeGreaterThan(0);
    expectClose(bn.call(x, { step: 7, training: false }), bn.call(x, { step: 2, training: false }).data() as Float64Array, { rtol: 0, atol: 0 });
  });

  test('Conv4 in eval mode at step s depends on step s\'s statistics only', () => {
    mg.manualSeed(3);
    const mk = () => new mg.nn.Conv4({ ways: 2, filters: 3, blocks: 2, imageSize: 6, dtype: 'float64', bnSteps: 3, perStepBnStats: true });
    const net = mk();
    const x = mg.randn([4, 1, 6, 6], f64);
    for (let s = 0; s < 3; s++) net.call(mg.randn([5, 1, 6, 6], f64).mul(s + 1).add(s), { step: s }); // distinct statistics per step
    const out1 = net.call(x, { step: 1, training: false });
    const out0 = net.call(x, { step: 0, training: false });
    expect(norm(flat([out1.sub(out0)]))).toBeGreaterThan(1e-3);
    // a copy whose row 0 holds row 1's statistics gives step 1's output at step 0
    mg.manualSeed(3);
    const twin = mk();
    twin.loadStateDict(net.stateDict());
    mg.noGrad(() => {
      for (const bn of twin.norms) {
        const r1m = bn.runningMean.slice(0, 1, 2);
        const r1v = bn.runningVar.slice(0, 1, 2);
        bn.runningMean.copy_(mg.cat([r1m, r1m.mul(-5), r1m.mul(7)])); // rows 1 and 2 scrambled
        bn.runningVar.copy_(mg.cat([r1v, r1v.mul(3), r1v.add(2)]));
      }
    });
    expectClose(twin.call(x, { step: 0, training: false }), out1.data() as Float64Array, { rtol: 1e-12, atol: 1e-12 });
  });
});

describe('MAMLpp', () => {
  const lr = 0.4;
  const off = { innerLr: lr, multiStepLoss: false, learnInnerLr: false, firstOrderEpochs: 0 } as const;

  test('with every switch off it is plain second-order MAML (mg.meta.MAML, and an independent loop with frozen batch norm)', () => {
    const { net, tasks } = tiny();
    const params = net.parameters();
    const pp = new mg.meta.MAMLpp(net, { ...off, innerSteps: 2, adaptBatchNorm: true });
    const maml = new mg.meta.MAML(net, { innerSteps: 2, innerLr: lr, lossFn: ce });
    const got = gradsOf(() => pp.metaLoss(tasks), params);
    const want = gradsOf(() => maml.metaLoss(tasks), params);
    expectClose(vec(got), want, { rtol: 1e-9, atol: 1e-12 });
    // default: batch-norm weights are meta-learned, not adapted (the authors' code)
    const pp2 = new mg.meta.MAMLpp(net, { ...off, innerSteps: 2 });
    expect(pp2.innerNames.some((n) => n.startsWith('bn'))).toBe(false);
    const got2 = gradsOf(() => pp2.metaLoss(tasks), params);
    const want2 = gradsOf(() => referenceMetaLoss(net, tasks, { steps: 2, lr, weights: null, second: true, adaptBn: false }), params);
    expectClose(vec(got2), want2, { rtol: 1e-9, atol: 1e-12 });
    // guard: the second-order term matters here
    const fo = gradsOf(() => referenceMetaLoss(net, tasks, { steps: 2, lr, weights: null, second: false, adaptBn: false }), params);
    expect(norm(fo.map((v, i) => v - want2[i]))).toBeGreaterThan(0.05 * norm(want2));
  });

  test('derivative-order annealing: first-order meta-gradient for the first E epochs, second order after', () => {
    const { net, tasks } = tiny({}, 4);
    const params = net.parameters();
    const pp = new mg.meta.MAMLpp(net, { ...off, innerSteps: 2, adaptBatchNorm: true, firstOrderEpochs: 2, iterationsPerEpoch: 2 });
    const fo = gradsOf(() => new mg.meta.MAML(net, { innerSteps: 2, innerLr: lr, lossFn: ce, firstOrder: true }).metaLoss(tasks), params);
    const so = gradsOf(() => new mg.meta.MAML(net, { innerSteps: 2, innerLr: lr, lossFn: ce }).metaLoss(tasks), params);
    expect(norm(fo.map((v, i) => v - so[i]))).toBeGreaterThan(0.05 * norm(so));
    const frozen = new mg.optim.SGD(pp.metaParameters(), { lr: 0 }); // steps advance the epoch, change nothing
    for (let it = 0; it < 6; it++) {
      expect(pp.epoch).toBe(Math.floor(it / 2));
      expect(pp.isSecondOrder()).toBe(it >= 4);
      const g = gradsOf(() => pp.metaLoss(tasks), params);
      expectClose(vec(g), it >= 4 ? so : fo, { rtol: 1e-9, atol: 1e-12 });
      pp.step(tasks, frozen);
    }
  });

  test('multi-step loss: the weighted sum of the query losses after every step, only the last one after the annealing epochs', () => {
    const { net, tasks } = tiny({ bnSteps: 3, perStepBnWeights: true }, 5);
    const params = net.parameters();
    const pp = new mg.meta.MAMLpp(net, { ...off, innerSteps: 3, multiStepLoss: true, multiStepLossEpochs: 2, iterationsPerEpoch: 1 });
    mg.noGrad(() => net.norms.forEach((bn) => (bn.weight.copy_(mg.rand(bn.weight.shape, f64).add(0.5)), bn.bias.copy_(mg.randn(bn.bias.shape, f64)))));
    for (const epoch of [0, 1, 2]) {
      const weights = epoch < 2 ? mg.meta.perStepLossWeights(3, epoch, 2) : null;
      expect(pp.lossWeights(epoch)).toEqual(weights);
      const got = mg.tidy(() => pp.metaLoss(tasks, { epoch }).item());
      const want = mg.tidy(() => referenceMetaLoss(net, tasks, { steps: 3, lr, weights, second: true, adaptBn: false }).item());
      expect(got).toBeCloseTo(want, 12);
      const g = gradsOf(() => pp.metaLoss(tasks, { epoch }), params);
      const gw = gradsOf(() => referenceMetaLoss(net, tasks, { steps: 3, lr, weights, second: true, adaptBn: false }), params);
      expectClose(vec(g), gw, { rtol: 1e-9, atol: 1e-12 });
    }
  });

  test('LSLR: per-tensor, per-step rates get the meta-gradient (finite differences agree) and change after a step', () => {
    const { net, tasks } = tiny({}, 6);
    const pp = new mg.meta.MAMLpp(net, { innerLr: lr, innerSteps: 2, multiStepLoss: true, multiStepLossEpochs: 5 });
    expect(pp.innerLrs.length).toBe(pp.innerNames.length);
    for (const r of pp.innerLrs) expect(r.toArray()).toEqual([lr, lr]);
    const grads = mg.tidy(() => mg.grad(pp.metaLoss(tasks), pp.innerLrs).map((g) => g!.toArray() as number[]));
    pp.innerNames.forEach((n, i) => {
      // a conv bias followed by batch norm has no effect, hence no gradient; every other rate has one at both steps
      if (/^conv\d+\.bias$/.test(n)) expect(norm(grads[i])).toBeLessThan(1e-8);
      else for (const v of grads[i]) expect(Math.abs(v)).toBeGreaterThan(1e-8);
    });
    // central differences on the rate of head.weight at step 0 and of conv1.weight at step 1
    for (const [name, s] of [['head.weight', 0], ['conv1.weight', 1]] as const) {
      const i = pp.innerNames.indexOf(name);
      const rate = pp.innerLrs[i];
      const at = (d: number) => {
        mg.noGrad(() => rate.copy_(mg.tensor([lr + (s === 0 ? d : 0), lr + (s === 1 ? d : 0)], f64)));
        return mg.tidy(() => pp.metaLoss(tasks).item());
      };
      const h = 1e-6;
      const fd = (at(h) - at(-h)) / (2 * h);
      at(0);
      expect(grads[i][s]).toBeCloseTo(fd, 6);
    }
    const before = pp.innerLrs.map((r) => r.toArray());
    const opt = new mg.optim.Adam(pp.metaParameters(), { lr: 1e-3 });
    pp.step(tasks, opt);
    pp.innerNames.forEach((n, i) => {
      if (!/^conv\d+\.bias$/.test(n)) expect(pp.innerLrs[i].toArray()).not.toEqual(before[i]);
    });
  });

  test('per-step batch norm through the learner: meta-training updates the statistics of steps 0..K-1 only; evaluation leaves them alone', () => {
    const { net, tasks } = tiny({ bnSteps: 3, perStepBnStats: true, perStepBnWeights: true }, 7);
    const pp = new mg.meta.MAMLpp(net, { innerLr: lr, innerSteps: 2 });
    const snap = () => net.norms.map((bn) => [bn.runningMean.toArray(), bn.runningVar.toArray()] as number[][][]);
    const s0 = snap();
    mg.tidy(() => void pp.metaLoss(tasks));
    const s1 = snap();
    s0.forEach((layer, l) => layer.forEach((stat, k) => {
      expect(s1[l][k][2]).toEqual(stat[2]);
      for (const r of [0, 1]) expect(norm(s1[l][k][r].map((v, c) => v - stat[r][c]))).toBeGreaterThan(1e-6);
    }));
    // continuing an adaptation (per-step weights and rates make the step index matter)
    mg.noGrad(() => pp.innerLrs.forEach((r) => r.copy_(mg.tensor([0.3, 0.1], f64))));
    const one = pp.adapt(tasks[0].support, { steps: 1 });
    const cont = pp.adapt(tasks[0].support, { steps: 2, params: one, startStep: 1 });
    const three = pp.adapt(tasks[0].support, { steps: 3 });
    expectClose(vec(flat(cont)), flat(three), { rtol: 1e-12, atol: 1e-14 });
    const wrong = pp.adapt(tasks[0].support, { steps: 2, params: one });
    expect(norm(flat(wrong).map((v, i) => v - flat(three)[i]))).toBeGreaterThan(1e-6);
    pp.evaluateMetrics(tasks, { steps: 3 });
    pp.evaluateMetrics(tasks, { steps: 2, runningStats: true });
    expect(snap()).toEqual(s1);
    // the learner refuses a model with fewer per-step sets than inner steps
    expect(() => new mg.meta.MAMLpp(net, { innerSteps: 4 })).toThrow(/MAMLpp: batch norm 'bn0' keeps per-step weights\/statistics for 3 steps but innerSteps is 4/);
  });

  test('checkpointed inner steps give the same meta-gradient and the same running statistics', () => {
    const grads: number[][] = [];
    const stats: number[][] = [];
    for (const ckpt of [false, true]) {
      const { net, tasks } = tiny({ bnSteps: 2, perStepBnStats: true, perStepBnWeights: true }, 8);
      const pp = new mg.meta.MAMLpp(net, { innerLr: lr, innerSteps: 2, checkpoint: ckpt, multiStepLossEpochs: 3 });
      grads.push(gradsOf(() => pp.metaLoss(tasks), pp.metaParameters()));
      stats.push(net.norms.flatMap((bn) => [...(bn.runningMean.data() as Float64Array), ...(bn.runningVar.data() as Float64Array)]));
    }
    expectClose(vec(grads[1]), grads[0], { rtol: 1e-9, atol: 1e-12 });
    expectClose(vec(stats[1]), stats[0], { rtol: 1e-12, atol: 1e-14 });
  });

  test('works with a plain module (an MLP, MSE): every switch off equals MAML; state dict round trip; bad input', () => {
    mg.manualSeed(13);
    const mlp = new mg.nn.Sequential(new mg.nn.Linear(2, 5, f64), new mg.nn.Tanh(), new mg.nn.Linear(5, 1, f64));
    const task = { support: { x: mg.randn([6, 2], f64), y: mg.randn([6, 1], f64) }, query: { x: mg.randn([4, 2], f64), y: mg.randn([4, 1], f64) } };
    const mse = (p: Tensor, y: Tensor) => F.mseLoss(p, y);
    const pp = new mg.meta.MAMLpp(mlp, { ...off, innerLr: 0.3, innerSteps: 3, lossFn: mse });
    const maml = new mg.meta.MAML(mlp, { innerSteps: 3, innerLr: 0.3 });
    expectClose(vec(gradsOf(() => pp.metaLoss([task]), mlp.parameters())), gradsOf(() => maml.metaLoss([task]), mlp.parameters()), { rtol: 1e-10, atol: 1e-13 });
    expect(pp.evaluateMetrics([task], { steps: 2 }).accuracy).toBeNull();
    expect(pp.evaluate([task], { steps: 2 })).toBeCloseTo(maml.evaluate([task], { steps: 2 }), 12);
    // the LSLR rates travel with the state dictionary
    const a = new mg.meta.MAMLpp(mlp, { innerSteps: 2, lossFn: mse });
    mg.noGrad(() => a.innerLrs.forEach((r, i) => r.copy_(mg.tensor([0.1 * (i + 1), 0.05], f64))));
    mg.manualSeed(14);
    const other = new mg.nn.Sequential(new mg.nn.Linear(2, 5, f64), new mg.nn.Tanh(), new mg.nn.Linear(5, 1, f64));
    const b = new mg.meta.MAMLpp(other, { innerSteps: 2, lossFn: mse });
    expect(Object.keys(a.stateDict())).toEqual([...Object.keys(mlp.stateDict()), ...a.innerNames.map((n) => `innerLr.${n}`)]);
    b.loadStateDict(a.stateDict());
    expect(mg.tidy(() => b.metaLoss([task]).item())).toBeCloseTo(mg.tidy(() => a.metaLoss([task]).item()), 14);
    expect(() => b.loadStateDict({})).toThrow(/MAMLpp.loadStateDict: missing keys: 0.weight/);
    expect(() => pp.metaLoss([])).toThrow(/MAMLpp.metaLoss: expected at least one task/);
    expect(() => pp.metaLoss([{ support: task.support } as mg.data.Task])).toThrow(/MAMLpp.metaLoss: task 0 must have support and query batches/);
    expect(() => new mg.meta.MAMLpp(mlp, { innerSteps: 0 })).toThrow(/MAMLpp: innerSteps must be an integer >= 1, got 0/);
    expect(() => pp.adapt(task.support, { steps: -1 })).toThrow(/MAMLpp.adapt: steps must be an integer >= 0/);
    expect(() => pp.predict([], task.query.x)).toThrow(/MAMLpp.predict: got 0 tensors for the 4 adapted parameters/);
  });

  test('cosine annealing sets the meta learning rate by epoch', () => {
    const { net, tasks } = tiny({}, 9);
    const pp = new mg.meta.MAMLpp(net, { innerSteps: 1, innerLr: 0.1, iterationsPerEpoch: 2, cosineAnnealing: { epochs: 3, etaMin: 1e-4 } });
    const opt = new mg.optim.SGD(pp.metaParameters(), { lr: 0.01 });
    for (let it = 0; it < 7; it++) {
      pp.step(tasks, opt);
      const e = Math.floor(it / 2);
      expect(opt.paramGroups[0].lr).toBeCloseTo(1e-4 + ((0.01 - 1e-4) * (1 + Math.cos((Math.PI * e) / 3))) / 2, 15);
    }
    expect(() => pp.step(tasks, { zeroGrad() {}, step() {} })).toThrow(/MAMLpp.step: cosine annealing needs an optimizer with paramGroups/);
  });

  test('first-order inner steps free their activations at once: peak memory hardly grows with the number of steps (second order grows)', () => {
    const sampler = imageTaskSampler({ ways: 3, shots: 2, query: 2, size: 16, poolSize: 6, noise: 1, seed: 5 });
    mg.manualSeed(6);
    const net = new mg.nn.Conv4({ ways: 3, filters: 16, blocks: 3, imageSize: 16 });
    const tasks = sampler.sample(2);
    const peak = (make: (K: number) => { metaLoss(t: mg.data.Task[]): mg.Tensor }, K: number) => {
      const learner = make(K);
      mg.resetPeakMemory();
      const before = mg.memory().cpu.bytes;
      mg.tidy(() => learner.metaLoss(tasks).backward());
      net.zeroGrad();
      return mg.memory().cpu.peakBytes - before;
    };
    const pp = (second: boolean) => (K: number) => new mg.meta.MAMLpp(net, { ...off, innerSteps: K, secondOrder: second });
    const maml = (firstOrder: boolean) => (K: number) => new mg.meta.MAML(net, { innerSteps: K, innerLr: lr, lossFn: ce, firstOrder });
    const growth = (make: (K: number) => { metaLoss(t: mg.data.Task[]): mg.Tensor }) => peak(make, 8) - peak(make, 1);
    const so = growth(pp(true));
    const oneStep = peak(pp(true), 1);
    expect(so).toBeGreaterThan(2 * oneStep); // second order keeps every step
    // First order: each step's forward is freed before the next; only the adapted parameters
    // (a few kB per step here) accumulate.
    expect(growth(pp(false))).toBeLessThan(0.1 * so);
    expect(growth(maml(true))).toBeLessThan(0.1 * so);
    expect(growth(maml(false))).toBeGreaterThan(0.5 * so);
    disposeTasks(tasks);
  });

  test('short meta-training with every switch on improves adapted query accuracy; memory returns to baseline', () => {
    const sampler = imageTaskSampler({ ways: 3, shots: 1, query: 4, size: 12, poolSize: 6, noise: 1, seed: 11 });
    mg.manualSeed(12);
    const net = new mg.nn.Conv4({ ways: 3, filters: 8, blocks: 3, imageSize: 12, bnSteps: 2, perStepBnStats: true, perStepBnWeights: true });
    const pp = new mg.meta.MAMLpp(net, {
      innerSteps: 2, innerLr: 0.4, iterationsPerEpoch: 5, multiStepLossEpochs: 3, firstOrderEpochs: 1, cosineAnnealing: { epochs: 8, etaMin: 1e-4 },
    });
    const opt = new mg.optim.Adam(pp.metaParameters(), { lr: 5e-3 });
    const test = sampler.sample(30);
    const before = pp.evaluateMetrics(test);
    expect(before.accuracy).not.toBeNull();
    pp.step(sampler.sample(2), opt);
    const base = mg.memory().cpu;
    for (let it = 0; it < 30; it++) {
      const tasks = sampler.sample(2);
      expect(Number.isFinite(pp.step(tasks, opt))).toBe(true);
      disposeTasks(tasks);
    }
    expect(mg.memory().cpu.tensors).toBe(base.tensors);
    expect(mg.memory().cpu.bytes).toBe(base.bytes);
    const after = pp.evaluateMetrics(test);
    expect(after.accuracy!).toBeGreaterThan(before.accuracy! + 0.1);
    expect(after.loss).toBeLessThan(before.loss);
    expect(mg.memory().cpu.tensors).toBe(base.tensors);
    disposeTasks(test);
  });
});

describe('task-batched meta-training (Conv4.forwardTasks, MAMLpp taskBatched)', () => {
  test('forwardTasks: slice t is the functional forward of task t with its own parameters, both downsamplings, per-step BN weights', () => {
    for (const downsample of ['maxpool', 'stride'] as const) {
      const { net, tasks } = tiny({ downsample, bnSteps: 2, perStepBnWeights: true }, 7);
      const T = 3;
      const perTask = Array.from({ length: T }, () => net.parameters().map((p) => mg.randn(p.shape, f64).mul(0.5).add(p)));
      const xs = [tasks[0].support.x, tasks[1].support.x, tasks[0].query.x];
      const params = perTask[0].map((_, i) => mg.stack(perTask.map((ps) => ps[i])));
      for (const step of [0, 1]) {
        const got = net.forwardTasks(params, mg.stack(xs), { step });
        expect(got.shape).toEqual([T, xs[0].shape[0], 2]);
        for (let t = 0; t < T; t++) {
          const want = net.functional(perTask[t], xs[t], { step, updateStats: false });
          expectClose(got.slice(0, t, t + 1).reshape(want.shape), want.data(), { rtol: 1e-12, atol: 1e-12 });
        }
      }
    }
  });

  test('forwardTasks names the shapes it expects', () => {
    const { net, tasks } = tiny();
    const ps = net.parameters().map((p) => p.unsqueeze(0).expand([2, ...p.shape]));
    expect(() => net.forwardTasks(ps, tasks[0].support.x)).toThrow(/Conv4\.forwardTasks: expected an input \[T, n, 1, 6, 6\]/);
    expect(() => net.forwardTasks(ps.slice(1), mg.stack([tasks[0].support.x, tasks[1].support.x]))).toThrow(/expected 10 parameters/);
    expect(() => net.forwardTasks(ps, mg.stack([tasks[0].support.x, tasks[1].support.x, tasks[1].support.x]))).toThrow(/parameter 0 must be \[3, 3, 1, 3, 3\]/);
  });

  const cases: [string, Partial<mg.nn.Conv4Options>, Partial<mg.meta.MAMLppOptions>][] = [
    ['MAML (every switch off, BN adapted), second order', {}, { multiStepLoss: false, learnInnerLr: false, adaptBatchNorm: true }],
    ['first-order MAML', { downsample: 'stride' }, { multiStepLoss: false, learnInnerLr: false, adaptBatchNorm: true, secondOrder: false }],
    ['MAML++ with MSL, LSLR and per-step BN weights', { bnSteps: 3, perStepBnWeights: true }, { multiStepLoss: true, multiStepLossEpochs: 5, learnInnerLr: true }],
  ];
  test.each(cases)('%s: same meta-loss and meta-gradient as the per-task loop (float64)', (_, netOpts, opts) => {
    const { net, tasks } = tiny(netOpts, 3);
    const more = imageTaskSampler({ ways: 2, shots: 2, query: 2, size: 6, dtype: 'float64', seed: 9 }).sample(1);
    const all = [...tasks, ...more];
    const o = { innerSteps: 3, innerLr: 0.3, ...opts };
    const loop = new mg.meta.MAMLpp(net, o);
    const batched = new mg.meta.MAMLpp(net, { ...o, taskBatched: true });
    const wrt = loop.metaParameters();
    expect(batched.metaParameters().length).toBe(wrt.length);
    // LSLR rates: give both learners the same, distinct per step, so a step mix-up shows.
    mg.noGrad(() => loop.innerLrs.forEach((r, i) => (r.copy_(mg.tensor([0.3, 0.2, 0.1], f64)), batched.innerLrs[i].copy_(mg.tensor([0.3, 0.2, 0.1], f64)))));
    const lv = mg.tidy(() => loop.metaLoss(all).item());
    const bv = mg.tidy(() => batched.metaLoss(all).item());
    expect(bv).toBeCloseTo(lv, 12);
    const gl = gradsOf(() => loop.metaLoss(all), wrt);
    const gb = gradsOf(() => batched.metaLoss(all), [...net.parameters(), ...batched.innerLrs]);
    expectClose(vec(gb), gl, { rtol: 1e-9, atol: 1e-12 });
    expect(norm(gl)).toBeGreaterThan(1e-3);
    disposeTasks(more);
  });

  test('refuses what it cannot batch, naming why', () => {
    const { net, tasks } = tiny({ bnSteps: 2, perStepBnStats: true });
    expect(() => new mg.meta.MAMLpp(net, { innerSteps: 2, taskBatched: true })).toThrow(/taskBatched: per-step running statistics/);
    const plain = tiny().net;
    expect(() => new mg.meta.MAMLpp(plain, { innerSteps: 1, taskBatched: true, checkpoint: true })).toThrow(/taskBatched: checkpointed/);
    expect(() => new mg.meta.MAMLpp(plain, { innerSteps: 1, taskBatched: true, lossFn: ce })).toThrow(/taskBatched: the loss/);
    const mlp = new mg.nn.Sequential(new mg.nn.Linear(2, 2));
    expect(() => new mg.meta.MAMLpp(mlp, { innerSteps: 1, taskBatched: true })).toThrow(/taskBatched: the module must be a Conv4/);
    const pp = new mg.meta.MAMLpp(plain, { innerSteps: 1, taskBatched: true });
    const odd = imageTaskSampler({ ways: 2, shots: 3, query: 2, size: 6, dtype: 'float64', seed: 4 }).sample(1);
    expect(() => mg.tidy(() => pp.metaLoss([tasks[0], odd[0]]))).toThrow(/task 1's support set is x \[6,1,6,6\], y \[6\]; task 0's is x \[4,1,6,6\]/);
    disposeTasks(odd);
  });
});
