/**
 * The native addon: loading it and its typed surface. Every other module reaches native code only
 * through `addon` (and almost always through `exec`, see ./exec.ts).
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** An opaque handle to a native tensor (an N-API external). */
export type NativeHandle = { readonly __nativeTensor: unique symbol };

export interface DeviceMemory {
  tensors: number;
  bytes: number;
  peakBytes: number;
}

/** The addon's functions (native/core/binding.cc). */
export interface Addon {
  init(attrs: Float64Array): number;
  exec(op: number, ...inputs: (NativeHandle | number | null)[]): NativeHandle | NativeHandle[] | undefined;
  fromBuffer(view: ArrayBufferView): NativeHandle;
  toBuffer(h: NativeHandle): ArrayBuffer;
  dispose(h: NativeHandle): void;
  sharesStorage(a: NativeHandle, b: NativeHandle): boolean;
  memory(): {
    cpu: DeviceMemory & { cachedBytes: number };
    cuda: DeviceMemory & { cachedBytes: number; reservedBytes: number; deviceFreeBytes: number; deviceTotalBytes: number };
  };
  releaseCache(): void;
  resetPeakMemory(): void;
  externalMemory(): number;
  opNames(): string[];
  manualSeed(hi: number, lo: number): void;
  cpuInfo(): { isa: string; bestIsa: string; threads: number };
  setCpuIsa(isa: string): string;
  setNumThreads(n: number): number;
  cudaInfo(): { compiled: boolean; deviceCount: number; devices: string[]; tf32: boolean };
  cudaSynchronize(): void;
  cudaSetTF32(on: boolean): boolean;
}

/** The package root: the nearest folder above this file whose package.json is metagrad's. */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'metagrad') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('metagrad: cannot find the package root to load the native addon');
    dir = up;
  }
}

function load(): Addon {
  const require = createRequire(import.meta.url);
  const root = packageRoot();
  try {
    // node-gyp-build loads build/Release (cmake-js's output, a source build) when it exists, else
    // prebuilds/<platform>-<arch> (the prebuilt addon shipped in the package, `npm run prebuild`).
    return require('node-gyp-build')(root) as Addon;
  } catch (e) {
    throw new Error(
      `metagrad: the native addon could not be loaded from ${root} (${(e as Error).message}). ` +
        'Build it with `npm run build:native` (cmake-js, a C++17 compiler and CMake are needed).',
    );
  }
}

export const addon: Addon = load();
