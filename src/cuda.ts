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
