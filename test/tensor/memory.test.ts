import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const live = () => mg.memory().cpu;

describe('memory', () => {
  test('memory() counts live tensors and bytes per device', () => {
    const before = live();
    const a = mg.zeros([10, 10]); // 400 bytes
    const b = mg.zeros([5], { dtype: 'float64' }); // 40 bytes
    const now = live();
    expect(now.tensors - before.tensors).toBe(2);
    expect(now.bytes - before.bytes).toBe(440);
    const m = mg.memory();
    expect(m.tensors).toBe(m.cpu.tensors + m.cuda.tensors);
    expect(m.bytes).toBe(m.cpu.bytes + m.cuda.bytes);
    a.dispose();
    b.dispose();
    expect(live()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  test('dispose is idempotent and later use throws a clear error', () => {
    const a = mg.tensor([1, 2, 3]);
    a.dispose();
    a.dispose();
    expect(a.isDisposed).toBe(true);
    expect(() => a.data()).toThrow(/data: this tensor \(shape \[3\], float32\) was disposed/);
    expect(() => a.clone()).toThrow(/clone: .*disposed/);
    expect(() => a.reshape([3, 1])).toThrow(/reshape: .*disposed/);
    expect(String(a)).toContain('disposed');
  });

  test('a reshape view keeps the buffer alive after its base is disposed', () => {
    const before = live();
    const a = mg.tensor([1, 2, 3, 4], { dtype: 'float64' });
    const v = a.reshape([2, 2]);
    expect(live().tensors - before.tensors).toBe(2);
    expect(live().bytes - before.bytes).toBe(32); // one buffer for both
    a.dispose();
    expect(v.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(live().bytes - before.bytes).toBe(32);
    v.dispose();
    expect(live()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  test('`using` disposes at the end of the block', () => {
    const before = live().tensors;
    let escaped: mg.Tensor;
    {
      using t = mg.ones([4]);
      escaped = t;
      expect(live().tensors).toBe(before + 1);
    }
    expect(escaped.isDisposed).toBe(true);
    expect(live().tensors).toBe(before);
  });

  test('tidy disposes intermediates and keeps what it returns (nested, containers, keep)', () => {
    const before = live().tensors;
    const kept = mg.keep(mg.zeros([1]));
    const out = mg.tidy(() => {
      mg.ones([3]);
      const inner = mg.tidy(() => {
        mg.ones([2]);
        return { a: mg.full([2], 5), list: [mg.zeros([1])], map: new Map([['m', mg.zeros([2])]]) };
      });
      expect(live().tensors).toBe(before + 1 + 1 + 3); // kept, ones([3]), inner's three results
      return inner.a;
    });
    expect(out.toArray()).toEqual([5, 5]);
    expect(live().tensors).toBe(before + 2); // kept + out
    out.dispose();
    kept.dispose();
    expect(live().tensors).toBe(before);
  });

  test('tidy cleans up when fn throws, and refuses async functions', () => {
    const before = live().tensors;
    expect(() =>
      mg.tidy(() => {
        mg.zeros([3]);
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(live().tensors).toBe(before);
    expect(() => mg.tidy((async () => mg.zeros([1])) as never)).toThrow(/tidy: .*synchronous/);
    expect(live().tensors).toBe(before);
  });

  test('returns to its baseline after a loop of many tidy iterations', () => {
    const before = live();
    let acc = mg.zeros([8]);
    for (let i = 0; i < 2000; i++) {
      const next = mg.tidy(() => {
        const t = mg.full([8], i);
        t.reshape([2, 4]);
        return t.clone();
      });
      acc.dispose();
      acc = next;
    }
    expect((acc.toArray() as number[])[0]).toBe(1999);
    acc.dispose();
    expect(live()).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  test('native bytes are reported to V8 (externalMemory tracks allocations)', () => {
    const e0 = mg.backend.externalMemory();
    const t = mg.zeros([1 << 20]); // 4 MiB
    expect(mg.backend.externalMemory() - e0).toBe(4 << 20);
    t.dispose();
    expect(mg.backend.externalMemory() - e0).toBe(0);
  });

  test('the finalizer backstop frees tensors that were never disposed', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'tests run with --expose-gc (vitest.config.ts)').toBeTypeOf('function');
    const before = live().bytes;
    mg.resetPeakMemory();
    // 200 x 4 MiB = 800 MiB allocated, never disposed; the event loop turns between allocations
    // so that finalizers can run. Memory pressure reported to V8 makes it collect on its own.
    for (let i = 0; i < 200; i++) {
      mg.zeros([1 << 20]);
      await new Promise((r) => setImmediate(r));
    }
    expect(live().peakBytes - before).toBeLessThan(400 << 20);
    for (let i = 0; i < 5 && live().bytes > before; i++) {
      gc!();
      await new Promise((r) => setImmediate(r));
    }
    expect(live().bytes).toBe(before);
  });
});
