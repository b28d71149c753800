/** Learning-rate schedules vs their closed forms (torch.optim.lr_scheduler), written here. */
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const opt = (lrs: number[]) => new mg.optim.SGD(lrs.map((lr) => ({ params: [mg.zeros([1])], lr })), { lr: 1 });
/** The lr of every group after construction and after each of `n` steps. */
function sequence(o: mg.optim.SGD, s: mg.optim.LRScheduler, n: number): number[][] {
  const out = [o.paramGroups.map((g) => g.lr)];
  expect(s.getLastLr()).toEqual(out[0]);
  for (let i = 0; i < n; i++) {
    o.step(); // no gradients: nothing moves, as in a loop that calls optimizer.step() first
    s.step();
    out.push(o.paramGroups.map((g) => g.lr));
    expect(s.getLastLr()).toEqual(out[out.length - 1]);
  }
  return out;
}
const close = (a: number[][], b: number[][]) => {
  expect(a.length).toBe(b.length);
  a.forEach((r, i) => r.forEach((x, j) => expect(Math.abs(x - b[i][j])).toBeLessThanOrEqual(1e-15 * Math.max(1, Math.abs(b[i][j])))));
};
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('schedulers', () => {
  test('StepLR: lr = base * gamma^floor(t / stepSize)', () => {
    const o = opt([0.1, 1]);
    const s = new mg.optim.StepLR(o, { stepSize: 3, gamma: 0.5 });
    close(sequence(o, s, 10), range(11).map((t) => [0.1, 1].map((b) => b * 0.5 ** Math.floor(t / 3))));
    expect(o.paramGroups[0].lr).toBeCloseTo(0.1 * 0.125, 15);
  });

  test('CosineAnnealingLR: lr = etaMin + (base - etaMin)(1 + cos(pi t / tMax)) / 2', () => {
    const o = opt([0.1, 0.3]);
    const s = new mg.optim.CosineAnnealingLR(o, { tMax: 7, etaMin: 0.01 });
    const got = sequence(o, s, 7);
    close(got, range(8).map((t) => [0.1, 0.3].map((b) => 0.01 + ((b - 0.01) * (1 + Math.cos((Math.PI * t) / 7))) / 2)));
    expect(Math.abs(got[7][0] - 0.01)).toBeLessThan(1e-15); // reaches etaMin at tMax
  });

  test('LinearLR: lr = base * (start + (end - start) min(t, T) / T)', () => {
    const o = opt([0.2]);
    const s = new mg.optim.LinearLR(o, { startFactor: 0.25, endFactor: 0.75, totalIters: 4 });
    close(sequence(o, s, 7), range(8).map((t) => [0.2 * (0.25 + (0.5 * Math.min(t, 4)) / 4)]));
  });

  test('SequentialLR and warmupCosine: warm-up then cosine, from the initial lr', () => {
    const o = opt([0.5]);
    const w = new mg.optim.LinearLR(o, { startFactor: 0.1, totalIters: 3 });
    const c = new mg.optim.CosineAnnealingLR(o, { tMax: 5 });
    const s = new mg.optim.SequentialLR(o, { schedulers: [w, c], milestones: [3] });
    const ref = (t: number) => (t < 3 ? 0.5 * (0.1 + (0.9 * t) / 3) : (0.5 * (1 + Math.cos((Math.PI * (t - 3)) / 5))) / 2);
    close(sequence(o, s, 9), range(10).map((t) => [ref(t)]));
    const o2 = opt([0.5]);
    const s2 = mg.optim.warmupCosine(o2, { warmupSteps: 3, totalSteps: 8, startFactor: 0.1 });
    close(sequence(o2, s2, 9), range(10).map((t) => [ref(t)]));
    close([range(10).map((t) => mg.optim.warmupCosineLrAt(t, 0.5, { warmupSteps: 3, totalSteps: 8, startFactor: 0.1 }))], [range(10).map(ref)]);
  });

  test('the pure functions agree with the closed forms', () => {
    for (const t of range(12)) {
      expect(mg.optim.stepLrAt(t, 2, { stepSize: 4 })).toBeCloseTo(2 * 0.1 ** Math.floor(t / 4), 15);
      expect(mg.optim.cosineAnnealingLrAt(t, 1e-3, { tMax: 10 })).toBeCloseTo((1e-3 * (1 + Math.cos((Math.PI * t) / 10))) / 2, 18);
      expect(mg.optim.linearLrAt(t, 1)).toBeCloseTo(1 / 3 + ((2 / 3) * Math.min(t, 5)) / 5, 15);
    }
    expect(() => mg.optim.stepLrAt(-1, 1, { stepSize: 2 })).toThrow(/step must be an integer >= 0/);
    expect(() => mg.optim.cosineAnnealingLrAt(1, 1, { tMax: 0 })).toThrow(/tMax must be a positive number/);
  });

  test('the schedule drives the optimizer: SGD steps use the scheduled lr', () => {
    const p = mg.tensor([1], { dtype: 'float64' });
    const o = new mg.optim.SGD([p], { lr: 1 });
    const s = new mg.optim.StepLR(o, { stepSize: 1, gamma: 0.5 });
    let ref = 1;
    for (let t = 0; t < 4; t++) {
      p.grad = mg.tensor([1], { dtype: 'float64' });
      o.step();
      o.zeroGrad();
      ref -= 0.5 ** t;
      s.step();
    }
    expect(p.item()).toBeCloseTo(ref, 15);
  });

  test('stateDict / loadStateDict resume the schedule; a second scheduler keeps the initial lr as base', () => {
    const o = opt([0.1]);
    const s = new mg.optim.CosineAnnealingLR(o, { tMax: 10 });
    for (let i = 0; i < 4; i++) s.step();
    const sd = s.stateDict();
    expect(sd).toEqual({ lastEpoch: 4, baseLrs: [0.1] });
    const o2 = opt([0.7]);
    const s2 = new mg.optim.CosineAnnealingLR(o2, { tMax: 10 });
    s2.loadStateDict(sd);
    expect(o2.paramGroups[0].lr).toBe(o.paramGroups[0].lr);
    s.step();
    s2.step();
    expect(o2.paramGroups[0].lr).toBe(o.paramGroups[0].lr);
    const again = new mg.optim.StepLR(o, { stepSize: 1 });
    expect(again.baseLrs).toEqual([0.1]);
  });
});
