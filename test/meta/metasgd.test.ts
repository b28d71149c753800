import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose } from '../helpers.js';

const nn = mg.nn;
const F = mg.nn.functional;
type Tensor = mg.Tensor;
const f64 = { dtype: 'float64' as const };

function fixedTask(seed: number): mg.data.Task {
  mg.manualSeed(seed);
  return {
    support: { x: mg.randn([5, 2], f64), y: mg.randn([5, 1], f64) },
    query: { x: mg.randn([4, 2], f64), y: mg.randn([4, 1], f64) },
  };
}
const net = () => new nn.Sequential(new nn.Linear(2, 3, f64), new nn.Tanh(), new nn.Linear(3, 1, f64));
const arr = (t: Tensor) => Array.from(t.data() as Float64Array);

describe('MetaSGD', () => {
  test('rates start at innerLr; with them the parameters get MAML’s meta-gradient, and the rates get -g_support ⊙ grad_query(phi)', () => {
    const task = fixedTask(1);
    mg.manualSeed(2);
    const m = net();
    const alpha = 0.4;
    const msgd = new mg.meta.MetaSGD(m, { innerSteps: 1, innerLr: alpha });
    expect(msgd.metaParameters().length).toBe(2 * m.parameters().length);
    for (const [i, lr] of msgd.lrs.entries()) {
      expect(lr.shape).toEqual(m.parameters()[i].shape);
      expect(lr.requiresGrad).toBe(true);
      for (const v of arr(lr)) expect(v).toBe(alpha);
    }
    const g = mg.tidy(() => mg.grad(msgd.metaLoss([task]), msgd.metaParameters()) as Tensor[]);
    const gMaml = mg.tidy(() => mg.grad(new mg.meta.MAML(m, { innerSteps: 1, innerLr: alpha }).metaLoss([task]), m.parameters()) as Tensor[]);
    const n = m.parameters().length;
    gMaml.forEach((gm, i) => expectClose(g[i], gm.data() as Float64Array, { rtol: 1e-10, atol: 1e-13 }));
    // independent: phi = theta - alpha ⊙ g_s, so dL_q/dalpha = -g_s ⊙ grad_query(phi)
    const theta = m.parameters();
    const gs = mg.grad(F.mseLoss(m.call(task.support.x), task.support.y), theta) as Tensor[];
    const phi = theta.map((p, i) => mg.noGrad(() => p.sub(gs[i].mul(alpha))).requiresGrad_());
    const gq = mg.grad(F.mseLoss(nn.functionalCall(m, phi, task.query.x), task.query.y), phi) as Tensor[];
    for (let i = 0; i < n; i++) {
      const expected = arr(gs[i]).map((v, k) => -v * arr(gq[i])[k]);
      expectClose(g[n + i], Float64Array.from(expected), { rtol: 1e-10, atol: 1e-13 });
    }
    expect(g.slice(n).reduce((s, t) => s + t.abs().sum().item(), 0)).toBeGreaterThan(1e-3);
  });

  test('a step changes the learning rates (and the inner update uses them elementwise)', () => {
    const task = fixedTask(3);
    mg.manualSeed(4);
    const m = net();
    const msgd = new mg.meta.MetaSGD(m, { innerSteps: 1, innerLr: 0.1 });
    const before = msgd.lrs.map(arr);
    const opt = new mg.optim.Adam(msgd.metaParameters(), { lr: 0.01 });
    msgd.step([task], opt);
    for (const lr of msgd.lrs) expect(lr.grad).not.toBeNull();
    msgd.lrs.forEach((lr, i) => expect(arr(lr)).not.toEqual(before[i]));
    // the inner update is p - lr ⊙ g with the current (now non-uniform) rates
    const adapted = msgd.adapt(task.support, undefined, 1, { mode: 'eval' });
    const theta = m.parameters();
    const gs = mg.grad(F.mseLoss(m.call(task.support.x), task.support.y), theta) as Tensor[];
    adapted.forEach((a, i) => {
      const lr = arr(msgd.lrs[i]);
      expectClose(a, Float64Array.from(arr(theta[i]).map((p, k) => p - lr[k] * arr(gs[i])[k])), { rtol: 1e-12, atol: 1e-14 });
    });
  });
});
