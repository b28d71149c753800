import { describe, expect, test } from 'vitest';
import * as mg from '../src/index.js';
import { addon } from '../src/backend/addon.js';
import { Op } from '../src/backend/opcodes.js';

describe('backend', () => {
  test('the native op table and the TypeScript op codes agree', () => {
    expect(addon.opNames()).toEqual(Object.keys(Op));
  });

  test('cpu info: instruction set and threads', () => {
    const info = mg.backend.cpuInfo();
    expect(['avx512', 'avx2', 'base']).toContain(info.bestIsa);
    expect(info.threads).toBeGreaterThanOrEqual(1);
    expect(mg.backend.setCpuIsa('base')).toBe('base');
    expect(mg.backend.cpuInfo().isa).toBe('base');
    expect(mg.backend.setCpuIsa('avx512')).toBe(info.bestIsa === 'avx512' ? 'avx512' : info.bestIsa); // clamped
    mg.backend.setCpuIsa(info.bestIsa);
    expect(() => mg.backend.setCpuIsa('sse' as never)).toThrow(/setCpuIsa/);
    expect(() => mg.backend.setNumThreads(0)).toThrow(/setNumThreads/);
  });

  test('cuda: detection never throws; without a GPU it is unavailable', () => {
    expect(typeof mg.cuda.isCompiled()).toBe('boolean');
    const n = mg.cuda.deviceCount();
    expect(mg.cuda.isAvailable()).toBe(n > 0);
    expect(mg.cuda.deviceNames().length).toBe(n);
    if (n === 0) console.log(`cuda: no GPU found (CUDA backend compiled in: ${mg.cuda.isCompiled()}); GPU checks skipped`);
  });

  test('an op with no kernel on a device says so', () => {
    // Nothing runs on CUDA without a GPU; the error names the device problem instead of crashing.
    if (!mg.cuda.isAvailable()) {
      expect(() => mg.full([2], 1, { device: 'cuda' })).toThrow(/cuda/);
    }
  });
});
