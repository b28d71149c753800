// CUDA device layer: transfers, creation and conversion kernels, memory accounting, compared with
// the CPU. Runs only where a GPU is present; elsewhere it says so and skips.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const gpu = mg.cuda.isAvailable();
if (!gpu) console.log(`test/cuda: skipped, no CUDA device found (CUDA backend compiled in: ${mg.cuda.isCompiled()})`);

describe.skipIf(!gpu)('cuda device layer', () => {
  test('round trip cpu -> cuda -> cpu keeps every bit', () => {
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      const x = mg.tensor([[1.5, -2, 3], [4, 5e-8, -6]], { dtype });
      const g = x.to('cuda');
      expect([g.device, g.dtype, g.shape]).toEqual(['cuda', dtype, [2, 3]]);
      expect(Array.from(g.to('cpu').data())).toEqual(Array.from(x.data()));
    }
  });

  test('fill, cast, clone, reshape view on the device', () => {
    const f = mg.full([3, 2], 2.5, { device: 'cuda', dtype: 'float64' });
    expect(f.toArray()).toEqual([[2.5, 2.5], [2.5, 2.5], [2.5, 2.5]]);
    expect(Array.from(f.to('int32').data())).toEqual([2, 2, 2, 2, 2, 2]);
    const v = f.reshape([6]);
    expect(mg.backend.sharesStorage(v, f)).toBe(true);
    const c = f.clone();
    expect(mg.backend.sharesStorage(c, f)).toBe(false);
    expect(c.toArray()).toEqual(f.toArray());
  });

  test('memory() reports device tensors and returns to baseline', () => {
    const before = mg.memory().cuda;
    const t = mg.zeros([256], { device: 'cuda' });
    expect(mg.memory().cuda.bytes - before.bytes).toBe(1024);
    t.dispose();
    expect(mg.memory().cuda).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  test('mixing devices is an error naming both', () => {
    const a = mg.zeros([2], { device: 'cuda' });
    const b = mg.zeros([2]);
    expect(() => mg.add(a, b)).toThrow(/add: tensors are on different devices \(cuda \[2\] and cpu \[2\]\)/);
  });
});
