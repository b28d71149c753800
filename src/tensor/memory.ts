/** Memory: scoped disposal (`tidy`) and the live-tensor report (`memory`). */
import { addon } from '../backend/addon.js';
import { closeScope, openScope } from './scope.js';
import { Tensor, track } from './tensor.js';

/**
 * Runs `fn` and disposes every tensor created inside it, except those in its result (a tensor, or
 * tensors inside arrays, plain objects or Maps) and those marked with `keep`. Scopes nest.
 * `fn` must be synchronous (a Promise result is refused: it would outlive the scope).
 */
export function tidy<T>(fn: () => T): T {
  openScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    closeScope(undefined, Tensor, track);
    throw e;
  }
  if (result instanceof Promise) {
    closeScope(undefined, Tensor, track);
    throw new Error('tidy: the function must be synchronous (it returned a Promise)');
  }
  closeScope(result, Tensor, track);
  return result;
}

/** Live native tensors and bytes for one device. */
export interface DeviceMemoryReport {
  /** Live native tensors (views included). */
  tensors: number;
  /** Bytes held by their buffers. */
  bytes: number;
  /** Highest `bytes` since start or the last `resetPeakMemory()`. */
  peakBytes: number;
}

/** Device memory beyond the live tensors (CUDA). */
export interface CudaMemoryReport extends DeviceMemoryReport {
  /** Free blocks held by the caching allocator for reuse (not counted in `bytes`). */
  cachedBytes: number;
  /** Everything the caching allocator holds from the driver: live blocks (rounded up to their size class) plus cached ones. */
  reservedBytes: number;
  /** Free device memory as the driver reports it (0 until CUDA has been used in this process). */
  deviceFreeBytes: number;
  /** Total device memory (0 until CUDA has been used in this process). */
  deviceTotalBytes: number;
}

/** The memory report: totals and per device. */
export interface MemoryReport {
  tensors: number;
  bytes: number;
  /** `cachedBytes`: freed large buffers kept for reuse (not counted in `bytes`). */
  cpu: DeviceMemoryReport & { cachedBytes: number };
  cuda: CudaMemoryReport;
}

/** Live tensors and bytes, in total and per device. */
export function memory(): MemoryReport {
  const m = addon.memory();
  return { tensors: m.cpu.tensors + m.cuda.tensors, bytes: m.cpu.bytes + m.cuda.bytes, cpu: m.cpu, cuda: m.cuda };
}

/** Restarts the peak-bytes counters from the current usage. */
export function resetPeakMemory(): void {
  addon.resetPeakMemory();
}

/** Returns the CPU buffer cache and the CUDA caching allocator's free blocks to the system. */
export function releaseCachedMemory(): void {
  addon.releaseCache();
}
