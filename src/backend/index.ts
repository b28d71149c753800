/** `mg.backend`: the CPU backend's settings (instruction set, threads) and diagnostics. */
import { addon } from './addon.js';
import type { Tensor } from '../tensor/tensor.js';

export type CpuIsa = 'avx512' | 'avx2' | 'base';

/** The instruction set in use, the best one available, and the kernel thread count. */
export function cpuInfo(): { isa: CpuIsa; bestIsa: CpuIsa; threads: number } {
  return addon.cpuInfo() as { isa: CpuIsa; bestIsa: CpuIsa; threads: number };
}
/** Chooses the kernels' instruction set (clamped to what the CPU supports); returns the one in use. */
export function setCpuIsa(isa: CpuIsa): CpuIsa {
  if (isa !== 'avx512' && isa !== 'avx2' && isa !== 'base') throw new Error(`setCpuIsa: unknown instruction set ${String(isa)}`);
  return addon.setCpuIsa(isa) as CpuIsa;
}
/** Sets how many threads CPU kernels may use (>= 1); returns the new count. */
export function setNumThreads(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`setNumThreads: expected a positive integer, got ${n}`);
  return addon.setNumThreads(n);
}
/** Whether two tensors share one native buffer (reshape views do). */
export function sharesStorage(a: Tensor, b: Tensor): boolean {
  return addon.sharesStorage(a.handle('sharesStorage'), b.handle('sharesStorage'));
}

/** The external (native) bytes V8 currently accounts for, which drives garbage collection. */
export function externalMemory(): number {
  return addon.externalMemory();
}
