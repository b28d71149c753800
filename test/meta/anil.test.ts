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
    support: { x: mg.randn([6, 2], f64), y: mg.randn([6, 1], f64) },
    query: { x: mg.randn([4, 2], f64), y: mg.randn([4, 1], f64) },
  };
}
const net = () => new nn.Sequential(new nn.Linear(2, 4, f64), new nn.Tanh(), new nn.Linear(4, 4, f64), new nn.Tanh(), new nn.Linear(4, 1, f64));
const arr = (t: Tensor) => Array.from(t.data() as Float64Array);

/** Reference ANIL meta-loss with plain autograd: the head (named) gets `steps` second-order inner steps. */
function refMetaLoss(m: mg.nn.Sequential, headNames: string[], task: mg.data.Task, alpha: number, steps: number, firstOrder: boolean): Tensor {
  const own = new Map(m.namedParameters());
  let head = headNames.map((n) => own.get(n)!);
  const run = (h: Tensor[], x: Tensor) => nn.functionalCall(m, Object.fromEntries(headNames.map((n, i) => [n, h[i]])), x);
  for (let s = 0; s < steps; s++) {
    const g = mg.grad(F.mseLoss(run(head, task.support.x), task.support.y), head, { createGraph: !firstOrder, retainGraph: true }) as Tensor[];
    head = head.map((p, i) => p.sub((firstOrder ? g[i].detach() : g[i]).mul(alpha)));
  }
  return F.mseLoss(run(head, task.query.x), task.query.y);
}

describe('ANIL', () => {
  test('default head is the last Linear of a Sequential; only it adapts, the body stays, predictions use the original body', () => {
    const task = fixedTask(1);
    mg.manualSeed(2);
    const m = net();
    const anil = new mg.meta.ANIL(m, { innerSteps: 2, innerLr: 0.3 });
    expect(anil.headNames).toEqual(['4.weight', '4.bias']);
    expect(anil.headStart).toBe(4);
    const bodyBefore = anil.bodyParameters().map(arr);
    const headBefore = anil.initialParameters().map(arr);
    const adapted = anil.adapt(task.support);
    expect(adapted.length).toBe(2);
    adapted.forEach((a, i) => expect(arr(a)).not.toEqual(headBefore[i]));
    anil.bodyParameters().forEach((b, i) => expect(arr(b)).toEqual(bodyBefore[i]));
    const full = nn.functionalCall(m, { '4.weight': adapted[0], '4.bias': adapted[1] }, task.query.x);
    expectClose(anil.predict(adapted, task.query.x), full.data() as Float64Array, { rtol: 1e-12, atol: 1e-14 });
  });

  for (const firstOrder of [false, true]) {
    test(`meta-gradient (${firstOrder ? 'first' : 'second'} order) matches a plain-autograd reference; the body gets a nonzero meta-gradient`, () => {
      const task = fixedTask(3);
      mg.manualSeed(4);
      const m = net();
      const anil = new mg.meta.ANIL(m, { innerSteps: 2, innerLr: 0.3, firstOrder });
      const g = mg.tidy(() => mg.grad(anil.metaLoss([task]), m.parameters()) as Tensor[]);
      const gRef = mg.tidy(() => mg.grad(refMetaLoss(m, anil.headNames, task, 0.3, 2, firstOrder), m.parameters()) as Tensor[]);
      g.forEach((gi, i) => expectClose(gi, gRef[i].data() as Float64Array, { rtol: 1e-10, atol: 1e-13 }));
      const bodyGrad = g.slice(0, 4).reduce((s, t) => s + t.abs().sum().item(), 0);
      expect(bodyGrad).toBeGreaterThan(1e-4);
    });
  }

  test('a head given by prefix on a non-Sequential module (no feature caching) gives the same meta-gradient', () => {
    const task = fixedTask(5);
    mg.manualSeed(6);
    const m = net();
    class Wrap extends nn.Module<[Tensor]> {
      readonly seq = this.registerModule('seq', m);
      override forward(x: Tensor): Tensor {
        return this.seq.call(x);
      }
    }
    const w = new Wrap();
    const a1 = new mg.meta.ANIL(m, { innerSteps: 1, innerLr: 0.2 });
    const a2 = new mg.meta.ANIL(w, { innerSteps: 1, innerLr: 0.2, head: 'seq.4' });
    expect(a2.headStart).toBeNull();
    expect(a2.headNames).toEqual(['seq.4.weight', 'seq.4.bias']);
    const g1 = mg.tidy(() => mg.grad(a1.metaLoss([task]), m.parameters()) as Tensor[]);
    const g2 = mg.tidy(() => mg.grad(a2.metaLoss([task]), m.parameters()) as Tensor[]);
    g1.forEach((gi, i) => expectClose(g2[i], gi.data() as Float64Array, { rtol: 1e-12, atol: 1e-14 }));
  });

  test('step trains body and head; memory returns to baseline', () => {
    const task = fixedTask(7);
    mg.manualSeed(8);
    const m = net();
    const anil = new mg.meta.ANIL(m, { innerSteps: 1, innerLr: 0.3 });
    const opt = new mg.optim.Adam(anil.metaParameters(), { lr: 0.01 });
    const before = m.parameters().map(arr);
    const l0 = anil.step([task], opt);
    const base = mg.memory().cpu;
    let l = l0;
    for (let i = 0; i < 30; i++) l = anil.step([task], opt);
    expect(mg.memory().cpu.tensors).toBe(base.tensors);
    expect(mg.memory().cpu.bytes).toBe(base.bytes);
    m.parameters().forEach((p, i) => expect(arr(p)).not.toEqual(before[i]));
    expect(l).toBeLessThan(l0);
    const e = anil.evaluate([task], { steps: 3 });
    expect(Number.isFinite(e)).toBe(true);
    expect(mg.memory().cpu.tensors).toBe(base.tensors);
  });
});
