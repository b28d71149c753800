/**
 * Sinusoid tasks in both published forms. Conventions (from the papers' code):
 * MAML (cbfinn/maml data_generator.py): y = A sin(x - phase), phase in [0, pi], x ~ U[-5, 5].
 * Reptile (OpenAI sine example): y = A sin(x + phase), phase in [0, 2 pi], x = linspace(-5, 5, 50).
 */
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const { MamlSinusoid, ReptileSinusoid } = mg.data;

function col(t: mg.Tensor): number[] {
  return Array.from(t.data());
}

describe('MamlSinusoid', () => {
  test('shapes, dtype and ranges of amplitude, phase and x', () => {
    mg.manualSeed(1);
    const tasks = new MamlSinusoid({ shots: 5, query: 7 }).sample(200);
    expect(tasks.length).toBe(200);
    const amps = tasks.map((t) => t.amplitude);
    const phases = tasks.map((t) => t.phase);
    for (const t of tasks) {
      expect(t.support.x.shape).toEqual([5, 1]);
      expect(t.support.y.shape).toEqual([5, 1]);
      expect(t.query.x.shape).toEqual([7, 1]);
      expect(t.query.y.shape).toEqual([7, 1]);
      expect(t.support.x.dtype).toBe('float32');
      for (const v of [...col(t.support.x), ...col(t.query.x)]) {
        expect(v).toBeGreaterThanOrEqual(-5);
        expect(v).toBeLessThanOrEqual(5);
      }
    }
    expect(Math.min(...amps)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...amps)).toBeLessThanOrEqual(5);
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThanOrEqual(Math.PI);
    // Spread over the ranges (200 uniform draws): not stuck in a corner.
    expect(Math.min(...amps)).toBeLessThan(0.6);
    expect(Math.max(...amps)).toBeGreaterThan(4.5);
    expect(Math.min(...phases)).toBeLessThan(0.3);
    expect(Math.max(...phases)).toBeGreaterThan(Math.PI - 0.3);
    // Phase in [0, pi], not [0, 2 pi]: none above pi though 200 draws from [0, 2 pi] would give ~100.
    const xs = tasks.flatMap((t) => col(t.support.x));
    expect(Math.min(...xs)).toBeLessThan(-4.8);
    expect(Math.max(...xs)).toBeGreaterThan(4.8);
    for (const t of tasks) for (const u of Object.values(t.support)) u.dispose();
    for (const t of tasks) for (const u of Object.values(t.query)) u.dispose();
  });

  test('y = A sin(x - phase), and f agrees for numbers and tensors', () => {
    mg.manualSeed(2);
    const [t] = new MamlSinusoid({ shots: 10, dtype: 'float64' }).sample(1);
    expect(t.query.x.shape).toEqual([10, 1]); // query defaults to shots
    const x = col(t.support.x);
    const y = col(t.support.y);
    x.forEach((xi, i) => expect(y[i]).toBeCloseTo(t.amplitude * Math.sin(xi - t.phase), 12));
    const xq = col(t.query.x);
    col(t.query.y).forEach((yi, i) => expect(yi).toBeCloseTo(t.amplitude * Math.sin(xq[i] - t.phase), 12));
    expect(t.f(1.5)).toBeCloseTo(t.amplitude * Math.sin(1.5 - t.phase), 12);
    const fy = t.f(t.support.x);
    col(fy).forEach((v, i) => expect(v).toBeCloseTo(y[i], 12));
  });

  test('float32 targets match the float32 inputs', () => {
    mg.manualSeed(3);
    const [t] = new MamlSinusoid().sample(1);
    const x = col(t.support.x);
    col(t.support.y).forEach((v, i) => expect(v).toBeCloseTo(t.amplitude * Math.sin(x[i] - t.phase), 5));
  });

  test('manualSeed makes sampling repeatable; different seeds differ', () => {
    const s = new MamlSinusoid({ shots: 4 });
    mg.manualSeed(7);
    const a = s.sample(3);
    mg.manualSeed(7);
    const b = s.sample(3);
    mg.manualSeed(8);
    const c = s.sample(3);
    for (let i = 0; i < 3; i++) {
      expect(b[i].amplitude).toBe(a[i].amplitude);
      expect(b[i].phase).toBe(a[i].phase);
      expect(col(b[i].support.x)).toEqual(col(a[i].support.x));
      expect(col(b[i].query.y)).toEqual(col(a[i].query.y));
    }
    expect(c[0].amplitude).not.toBe(a[0].amplitude);
    // Tasks within one sample differ.
    expect(a[1].amplitude).not.toBe(a[0].amplitude);
  });

  test('rejects bad options', () => {
    expect(() => new MamlSinusoid({ shots: 0 })).toThrow(/shots/);
    expect(() => new MamlSinusoid({ dtype: 'int32' })).toThrow(/dtype/);
  });
});

describe('ReptileSinusoid', () => {
  test('50 evenly spaced x in [-5, 5], y = A sin(x + phase), phase in [0, 2 pi]', () => {
    mg.manualSeed(4);
    const tasks = new ReptileSinusoid({ dtype: 'float64' }).sample(200);
    for (const t of tasks) {
      expect(t.all.x.shape).toEqual([50, 1]);
      expect(t.all.y.shape).toEqual([50, 1]);
      expect(t.support.x).toBe(t.all.x);
      expect(t.query.y).toBe(t.all.y);
    }
    const x = col(tasks[0].all.x);
    x.forEach((v, i) => expect(v).toBeCloseTo(-5 + (10 * i) / 49, 12));
    expect(x[0]).toBe(-5);
    expect(x[49]).toBe(5);
    for (const t of tasks.slice(0, 5)) {
      const y = col(t.all.y);
      x.forEach((xi, i) => expect(y[i]).toBeCloseTo(t.amplitude * Math.sin(xi + t.phase), 12));
      expect(t.f(0.3)).toBeCloseTo(t.amplitude * Math.sin(0.3 + t.phase), 12);
    }
    const amps = tasks.map((t) => t.amplitude);
    const phases = tasks.map((t) => t.phase);
    expect(Math.min(...amps)).toBeGreaterThanOrEqual(0.1);
    expect(Math.max(...amps)).toBeLessThanOrEqual(5);
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThanOrEqual(2 * Math.PI);
    // The full [0, 2 pi] range is used (200 draws: many above pi, some near 2 pi).
    expect(phases.filter((p) => p > Math.PI).length).toBeGreaterThan(60);
    expect(Math.max(...phases)).toBeGreaterThan(2 * Math.PI - 0.3);
  });

  test('inner minibatches of innerBatch points cover the 50 points once per epoch, in a seeded random order', () => {
    mg.manualSeed(5);
    const [t] = new ReptileSinusoid({ dtype: 'float64' }).sample(1);
    const allX = col(t.all.x);
    const allY = col(t.all.y);
    const mbs = t.minibatches();
    expect(mbs.length).toBe(5);
    const seen: number[] = [];
    for (const b of mbs) {
      expect(b.x.shape).toEqual([10, 1]);
      const bx = col(b.x);
      const by = col(b.y);
      bx.forEach((v, i) => {
        const k = allX.indexOf(v);
        expect(k).toBeGreaterThanOrEqual(0);
        expect(by[i]).toBe(allY[k]); // x and y stay paired
        seen.push(k);
      });
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(seen).not.toEqual(Array.from({ length: 50 }, (_, i) => i)); // shuffled

    // Two epochs: each epoch a permutation, the two orders differ.
    const two = t.minibatches(10, 2).map((b) => col(b.x).map((v) => allX.indexOf(v)));
    expect(two.length).toBe(10);
    const e1 = two.slice(0, 5).flat();
    const e2 = two.slice(5).flat();
    expect([...e1].sort((a, b) => a - b)).toEqual([...e2].sort((a, b) => a - b));
    expect(new Set(e1).size).toBe(50);
    expect(e1).not.toEqual(e2);

    // A size that does not divide 50: the last batch is shorter.
    const odd = t.minibatches(15);
    expect(odd.map((b) => b.x.shape[0])).toEqual([15, 15, 15, 5]);

    // Repeatable under manualSeed.
    mg.manualSeed(9);
    const o1 = t.minibatches().map((b) => col(b.x));
    mg.manualSeed(9);
    const o2 = t.minibatches().map((b) => col(b.x));
    expect(o2).toEqual(o1);
  });

  test('sampling is deterministic under manualSeed', () => {
    const s = new ReptileSinusoid();
    mg.manualSeed(11);
    const a = s.sample(4).map((t) => [t.amplitude, t.phase]);
    mg.manualSeed(11);
    const b = s.sample(4).map((t) => [t.amplitude, t.phase]);
    expect(b).toEqual(a);
  });

  test('sampling leaves no stray tensors', () => {
    const before = mg.memory().tensors;
    mg.tidy(() => {
      new ReptileSinusoid().sample(3).forEach((t) => t.minibatches());
      new MamlSinusoid().sample(3);
    });
    expect(mg.memory().tensors).toBe(before);
  });
});
