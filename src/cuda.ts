/** `mg.cuda`: what the CUDA backend can do on this machine. */
import { addon } from './backend/addon.js';

/** True when the addon was built with CUDA and a GPU is present. Never throws. */
export function isAvailable(): boolean {
  return deviceCount() > 0;
}
/** Number of CUDA devices found (0 without a driver, a GPU or a CUDA build). */
export function deviceCount(): number {
  try {
    return addon.cudaInfo().deviceCount;
  } catch {
    return 0;
  }
}
/** Whether the addon was compiled with the CUDA backend. */
export function isCompiled(): boolean {
  return addon.cudaInfo().compiled;
}
/** The names of the CUDA devices found. */
export function deviceNames(): string[] {
  return addon.cudaInfo().devices;
}

/**
 * Waits until every queued CUDA kernel has finished. CUDA ops return as soon as their kernels are
 * queued on the backend's stream; reading a tensor (`data()`, `to('cpu')`) waits by itself, so
 * this is needed only to time GPU work or to surface a deferred error: an out-of-range index
 * found by an indexing kernel (gather, scatterAdd, indexSelect, indexAdd, oneHot,
 * maxPool2dBackward) is reported at the next synchronisation, as an Error naming the op
 * (METAGRAD_CUDA_SYNC=1 reports it at the op itself). A no-op without a GPU.
 */
export function synchronize(): void {
  addon.cudaSynchronize();
}

/**
 * Lets float32 matrix products and convolutions on CUDA use the TF32 tensor cores (sm_80 and
 * newer, in a build that includes sm_80+ code): inputs are rounded to a 10-bit mantissa and
 * products summed in float32, about 1e-3 relative error instead of float32's 1e-7. Off by default
 * (exact float32, matching the CPU); `METAGRAD_CUDA_TF32=1` turns it on at start. Returns the new
 * setting (always false in a build without CUDA). float64 and int32 are never affected.
 */
export function setTF32(on: boolean): boolean {
  if (typeof on !== 'boolean') throw new Error(`cuda.setTF32: expected a boolean, got ${typeof on}`);
  return addon.cudaSetTF32(on);
}

/** Whether float32 CUDA GEMMs and convolutions may use TF32 tensor cores (see {@link setTF32}). */
export function tf32Enabled(): boolean {
  return addon.cudaInfo().tf32 ?? false;
}
