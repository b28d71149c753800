import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { expectClose } from '../helpers.js';

describe('tensor()', () => {
  test('numbers, nested arrays and typed arrays', () => {
    const s = mg.tensor(3.5);
    expect(s.shape).toEqual([]);
    expect(s.ndim).toBe(0);
    expect(s.size).toBe(1);
    expect(s.item()).toBe(3.5);
    expect(s.toArray()).toBe(3.5);

    const m = mg.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64' });
    expect(m.shape).toEqual([2, 3]);
    expect(m.dtype).toBe('float64');
    expect(m.device).toBe('cpu');
    expect(m.toArray()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(Array.from(m.data())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(m.data()).toBeInstanceOf(Float64Array);

    const t = mg.tensor(new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
    expect(t.dtype).toBe('float64'); // a typed array keeps its own type by default
    expect(t.toArray()).toEqual([[1, 2], [3, 4]]);
    const i = mg.tensor(new Int32Array([7, -8]), { shape: [2] });
    expect(i.dtype).toBe('int32');
    const conv = mg.tensor(new Float64Array([1.5, 2.25]), { shape: [2], dtype: 'float32' });
    expect(conv.dtype).toBe('float32');
    expect(Array.from(conv.data())).toEqual([1.5, 2.25]);
  });

  test('float32 rounds like Math.fround; int32 truncates', () => {
    const v = [0.1, 1 / 3, 1e-40, 3.4e38];
    expect(Array.from(mg.tensor(v).data())).toEqual(v.map(Math.fround));
    expect(Array.from(mg.tensor([1.7, -2.7], { dtype: 'int32' }).data())).toEqual([1, -2]);
  });

  test('empty and zero-size shapes', () => {
    const e = mg.tensor([]);
    expect(e.shape).toEqual([0]);
    expect(e.size).toBe(0);
    expect(e.toArray()).toEqual([]);
    const z = mg.zeros([3, 0, 2]);
    expect(z.size).toBe(0);
    expect(z.toArray()).toEqual([[], [], []]);
  });

  test('explicit shape reshapes nested data', () => {
    expect(mg.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2] }).toArray()).toEqual([[1, 2], [3, 4], [5, 6]]);
  });

  test('bad input is refused with a clear error', () => {
    expect(() => mg.tensor([[1, 2], [3]])).toThrow(/tensor: ragged/);
    expect(() => mg.tensor([1, [2]] as never)).toThrow(/tensor: ragged/);
    expect(() => mg.tensor(['a'] as never)).toThrow(/tensor: expected numbers/);
    expect(() => mg.tensor(new Float32Array(3))).toThrow(/shape.*required/);
    expect(() => mg.tensor(new Float32Array(3), { shape: [2, 2] })).toThrow(/3 values cannot fill shape \[2,2\]/);
    expect(() => mg.tensor([1], { dtype: 'float16' as never })).toThrow(/unknown dtype float16/);
    expect(() => mg.tensor([1], { device: 'tpu' as never })).toThrow(/unknown device tpu/);
    expect(() => mg.tensor([1], { dtype: 'int32', requiresGrad: true })).toThrow(/floating-point/);
    expect(() => mg.zeros([2, -1])).toThrow(/^zeros: dimension -1 in shape \[2,-1\] is negative$/);
    expect(() => mg.zeros([1.5])).toThrow(/^zeros: dimension 1.5 in shape \[1.5\] is not an integer$/);
    expect(() => mg.zeros(new Array(17).fill(1))).toThrow(/maximum is 16/);
  });
});

describe('constants and ranges', () => {
  test('zeros, ones, full, *Like', () => {
    expect(mg.zeros([2, 2]).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(mg.ones([3], { dtype: 'int32' }).toArray()).toEqual([1, 1, 1]);
    const f = mg.full([2], -2.5, { dtype: 'float64' });
    expect(f.toArray()).toEqual([-2.5, -2.5]);
    const l = mg.onesLike(f);
    expect([l.dtype, l.shape, l.toArray()]).toEqual(['float64', [2], [1, 1]]);
    expect(mg.zerosLike(f, { dtype: 'int32' }).dtype).toBe('int32');
    expect(mg.fullLike(f, 7).toArray()).toEqual([7, 7]);
    expect(mg.full([2], NaN).data().every(Number.isNaN)).toBe(true);
    expect(mg.full([1], Infinity).item()).toBe(Infinity);
  });

  test('a large fill (threaded path) is uniform', () => {
    const big = mg.full([1 << 20], 3, { dtype: 'float64' }).data();
    expect(big.length).toBe(1 << 20);
    expect(big.every((x) => x === 3)).toBe(true);
  });

  test('arange', () => {
    const a = mg.arange(5);
    expect([a.dtype, a.toArray()]).toEqual(['int32', [0, 1, 2, 3, 4]]);
    expect(mg.arange(2, 8, 3).toArray()).toEqual([2, 5]);
    expect(mg.arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    const f = mg.arange(0, 1, 0.25);
    expect([f.dtype, f.toArray()]).toEqual(['float32', [0, 0.25, 0.5, 0.75]]);
    expect(mg.arange(3, undefined, 1, { dtype: 'float64' }).dtype).toBe('float64');
    expect(mg.arange(0).size).toBe(0);
    expect(() => mg.arange(0, 1, 0)).toThrow(/arange: step/);
    expect(() => mg.arange(0, Infinity)).toThrow(/finite/);
  });

  test('linspace hits both ends exactly', () => {
    const l = mg.linspace(-5, 5, 11, { dtype: 'float64' }).data();
    for (let i = 0; i < 11; i++) expect(l[i]).toBeCloseTo(-5 + i, 14);
    expect(l[0]).toBe(-5);
    expect(l[10]).toBe(5);
    expect(mg.linspace(0, 1, 1).toArray()).toEqual([0]);
    expect(mg.linspace(0, 1, 0).size).toBe(0);
    expect(() => mg.linspace(0, 1, -1)).toThrow(/linspace: steps/);
  });

  test('eye', () => {
    expect(mg.eye(2).toArray()).toEqual([[1, 0], [0, 1]]);
    expect(mg.eye(2, 3, { dtype: 'int32' }).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
  });
});

describe('random generation', () => {
  test('the same seed gives the same draws, bit for bit', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      mg.manualSeed(1234);
      const a = [mg.rand([1000], { dtype }).data(), mg.randn([777], { dtype }).data(), mg.randint(-3, 9, [50]).data()];
      mg.manualSeed(1234);
      const b = [mg.rand([1000], { dtype }).data(), mg.randn([777], { dtype }).data(), mg.randint(-3, 9, [50]).data()];
      for (let k = 0; k < 3; k++) expect(Array.from(a[k])).toEqual(Array.from(b[k]));
      mg.manualSeed(1235);
      expect(Array.from(mg.rand([1000], { dtype }).data())).not.toEqual(Array.from(a[0]));
    }
  });

  test('draws continue the stream rather than repeat it', () => {
    mg.manualSeed(7);
    const a = mg.rand([8]).data();
    const b = mg.rand([8]).data();
    expect(Array.from(a)).not.toEqual(Array.from(b));
  });

  test('the stream does not depend on the thread split (large draw == its prefix)', () => {
    mg.manualSeed(99);
    const big = mg.randn([1 << 18], { dtype: 'float64' }).data();
    mg.manualSeed(99);
    const small = mg.randn([1000], { dtype: 'float64' }).data();
    expect(Array.from(big.subarray(0, 1000))).toEqual(Array.from(small));
    mg.backend.setNumThreads(1);
    mg.manualSeed(99);
    const one = mg.randn([1 << 18], { dtype: 'float64' }).data();
    mg.backend.setNumThreads(mg.backend.cpuInfo().threads > 1 ? 2 : 1);
    let same = one.length === big.length;
    for (let i = 0; same && i < big.length; i++) same = one[i] === big[i];
    expect(same).toBe(true);
  });

  test('uniform: range and moments', () => {
    mg.manualSeed(1);
    for (const dtype of ['float32', 'float64'] as const) {
      const u = mg.rand([200000], { dtype }).data();
      let mean = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const x of u) {
        mean += x;
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
      mean /= u.length;
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThan(1);
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.005); // sd of the mean is 0.00065
      let v = 0;
      for (const x of u) v += (x - mean) ** 2;
      expect(Math.abs(v / u.length - 1 / 12)).toBeLessThan(0.002);
    }
  });

  test('normal: moments and tails', () => {
    mg.manualSeed(2);
    for (const dtype of ['float32', 'float64'] as const) {
      const z = mg.randn([200000], { dtype }).data();
      let m = 0;
      for (const x of z) m += x;
      m /= z.length;
      let v = 0;
      let k4 = 0;
      let beyond2 = 0;
      for (const x of z) {
        v += (x - m) ** 2;
        k4 += (x - m) ** 4;
        if (Math.abs(x) > 2) beyond2++;
      }
      v /= z.length;
      k4 /= z.length;
      expect(Math.abs(m)).toBeLessThan(0.01); // sd of the mean is 0.0022
      expect(Math.abs(v - 1)).toBeLessThan(0.015);
      expect(Math.abs(k4 / (v * v) - 3)).toBeLessThan(0.1); // normal kurtosis
      expect(Math.abs(beyond2 / z.length - 0.0455)).toBeLessThan(0.003);
      expect(z.every(Number.isFinite)).toBe(true);
    }
  });

  test('randint: bounds and uniformity', () => {
    mg.manualSeed(3);
    const r = mg.randint(-2, 3, [50000]).data();
    const counts = new Map<number, number>();
    for (const x of r) counts.set(x, (counts.get(x) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c / 50000 - 0.2)).toBeLessThan(0.01);
    expect(() => mg.randint(3, 3, [1])).toThrow(/randint: high \(3\) must be greater than low \(3\)/);
    expect(() => mg.randint(0.5, 3, [1])).toThrow(/integers/);
    expect(() => mg.rand([2], { dtype: 'int32' })).toThrow(/rand: dtype/);
    expect(() => mg.manualSeed(-1)).toThrow(/manualSeed/);
  });
});

describe('conversions', () => {
  test('to(dtype), detach, clone, requiresGrad', () => {
    const x = mg.tensor([1.25, -2.75, 3], { dtype: 'float64' });
    expect(x.to('float64')).toBe(x);
    const f = x.to('float32');
    expect([f.dtype, Array.from(f.data())]).toEqual(['float32', [1.25, -2.75, 3]]);
    expect(Array.from(x.to('int32').data())).toEqual([1, -2, 3]); // toward zero, like PyTorch
    expect(Array.from(mg.tensor([5, -6], { dtype: 'int32' }).to('float64').data())).toEqual([5, -6]);
    const d = x.detach();
    expect(d.requiresGrad).toBe(false);
    expect(mg.backend.sharesStorage(d, x)).toBe(true);
    const c = x.clone();
    expect(mg.backend.sharesStorage(c, x)).toBe(false);
    expectClose(c, [1.25, -2.75, 3]);
    const p = mg.zeros([2], { requiresGrad: true });
    expect([p.requiresGrad, p.isLeaf, p.grad]).toEqual([true, true, null]);
    expect(() => x.to('bfloat16' as never)).toThrow(/to: expected/);
  });

  test('item, toString', () => {
    expect(() => mg.zeros([2]).item()).toThrow(/item: tensor of shape \[2\] has 2 elements, not 1/);
    expect(mg.tensor([[4]]).item()).toBe(4);
    expect(String(mg.tensor([1, 2]))).toBe('Tensor(float32 [2] cpu, [1,2])');
  });

  test('cuda requests fail clearly without a GPU', () => {
    if (mg.cuda.isAvailable()) {
      console.log('cuda: a GPU is present; the no-GPU error path is not exercised here');
      return;
    }
    expect(() => mg.zeros([2], { device: 'cuda' })).toThrow(/cuda: (no CUDA device|this build of metagrad has no CUDA backend)/);
    expect(() => mg.tensor([1]).to('cuda')).toThrow(/cuda/);
    expect(mg.memory().cuda.tensors).toBe(0);
  });
});
