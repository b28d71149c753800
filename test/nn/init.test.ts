import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const nn = mg.nn;
const init = mg.nn.init;

function moments(t: mg.Tensor): { mean: number; std: number; min: number; max: number } {
  const d = Array.from(t.data());
  const mean = d.reduce((a, b) => a + b, 0) / d.length;
  const std = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / d.length);
  return { mean, std, min: Math.min(...d), max: Math.max(...d) };
}

describe('nn.init', () => {
  test('Linear and Conv2d default init: U(-1/sqrt(fanIn), 1/sqrt(fanIn)) for weight and bias', () => {
    mg.manualSeed(0);
    for (const [fanIn, make] of [
      [400, () => new nn.Linear(400, 50)],
      [9, () => new nn.Linear(9, 300)],
      [3 * 5 * 5, () => new nn.Conv2d(3, 64, 5)],
      [2 * 3 * 3, () => new nn.Conv2d(4, 32, 3, { groups: 2 })],
    ] as const) {
      const m = make();
      const bound = 1 / Math.sqrt(fanIn);
      for (const p of m.parameters()) {
        const s = moments(p);
        expect(s.max).toBeLessThanOrEqual(bound);
        expect(s.min).toBeGreaterThanOrEqual(-bound);
        // U(-b, b) has std b/sqrt(3); with >= 32 draws the extremes reach past half the bound
        if (p.size >= 1000) expect(s.std).toBeGreaterThan(0.9 * bound / Math.sqrt(3));
        if (p.size >= 1000) expect(s.std).toBeLessThan(1.1 * bound / Math.sqrt(3));
        expect(s.max).toBeGreaterThan(0.5 * bound);
        expect(s.min).toBeLessThan(-0.5 * bound);
      }
    }
    const bn = new nn.BatchNorm2d(3);
    expect(bn.weight!.toArray()).toEqual([1, 1, 1]);
    expect(bn.bias!.toArray()).toEqual([0, 0, 0]);
  });

  test('calculateGain and fans follow torch', () => {
    expect(init.calculateGain('linear')).toBe(1);
    expect(init.calculateGain('tanh')).toBeCloseTo(5 / 3, 15);
    expect(init.calculateGain('relu')).toBeCloseTo(Math.SQRT2, 15);
    expect(init.calculateGain('leaky_relu')).toBeCloseTo(Math.sqrt(2 / (1 + 0.0001)), 15);
    expect(init.calculateGain('leaky_relu', Math.sqrt(5))).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(init.calculateGain('selu')).toBe(0.75);
    expect(() => init.calculateGain('gelu' as never)).toThrow(/unsupported nonlinearity/);
    expect(init.calculateFanInAndFanOut(mg.zeros([8, 3, 5, 5]))).toEqual([75, 200]);
    expect(() => init.kaimingUniform(mg.zeros([3]))).toThrow(/fewer than 2 dimensions/);
  });

  test('moments of the normal initialisers and bounds of the uniform ones', () => {
    mg.manualSeed(3);
    const w = mg.zeros([256, 400], { dtype: 'float64' }); // fanIn 400, fanOut 256, 102400 draws
    const check = (want: number, mean = 0) => {
      const s = moments(w);
      expect(Math.abs(s.mean - mean)).toBeLessThan(0.02 * want + 1e-12);
      expect(Math.abs(s.std - want) / want).toBeLessThan(0.02);
    };
    init.kaimingNormal(w);
    check(Math.SQRT2 / Math.sqrt(400)); // leaky_relu(a = 0) = relu gain
    init.kaimingNormal(w, { mode: 'fan_out', nonlinearity: 'relu' });
    check(Math.SQRT2 / Math.sqrt(256));
    init.xavierNormal(w, 2);
    check(2 * Math.sqrt(2 / 656));
    init.normal(w, 3, 0.5);
    check(0.5, 3);
    init.xavierUniform(w);
    const b = Math.sqrt(6 / 656);
    let s = moments(w);
    expect(s.max).toBeLessThanOrEqual(b);
    expect(s.min).toBeGreaterThanOrEqual(-b);
    expect(Math.abs(s.std - b / Math.sqrt(3)) / (b / Math.sqrt(3))).toBeLessThan(0.02);
    init.kaimingUniform(w, { nonlinearity: 'tanh' });
    const kb = (5 / 3) * Math.sqrt(3 / 400);
    s = moments(w);
    expect(s.max).toBeLessThanOrEqual(kb);
    expect(s.max).toBeGreaterThan(0.99 * kb);
    init.uniform(w, 2, 5);
    s = moments(w);
    expect(s.min).toBeGreaterThanOrEqual(2);
    expect(s.max).toBeLessThan(5);
    expect(Math.abs(s.mean - 3.5)).toBeLessThan(0.02);
    init.constant(w, 0.25);
    expect(moments(w)).toEqual({ mean: 0.25, std: 0, min: 0.25, max: 0.25 });
    init.ones(w);
    expect(moments(w).min).toBe(1);
    init.zeros(w);
    expect(moments(w).max).toBe(0);
  });

  test('in place: parameters keep their identity, stay leaves, and nothing leaks', () => {
    const m = new nn.Linear(5, 5);
    const before = mg.memory().tensors;
    const w = m.weight;
    expect(init.xavierNormal(m.weight)).toBe(w);
    expect(m.weight).toBe(w);
    expect(w.isLeaf && w.requiresGrad).toBe(true);
    expect(mg.memory().tensors).toBe(before);
  });

  test('determinism with manualSeed', () => {
    mg.manualSeed(42);
    const a = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.Linear(4, 3));
    mg.manualSeed(42);
    const b = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.Linear(4, 3));
    const c = new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.Linear(4, 3));
    const flat = (m: mg.nn.Module) => m.parameters().flatMap((p) => Array.from(p.data()));
    expect(flat(a)).toEqual(flat(b));
    expect(flat(a)).not.toEqual(flat(c));
  });
});
