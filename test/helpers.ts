/** Shared test utilities: deterministic data, plain-TypeScript references, tolerant comparison. */
import { expect } from 'vitest';
import * as mg from '../src/index.js';

/** A small deterministic PRNG (mulberry32), independent of the library's generator. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Uniform values in [lo, hi) as a plain array. */
export function randomValues(n: number, seed = 1, lo = -2, hi = 2): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** A tensor of random values with a plain-array copy of its data (rounded to the dtype). */
export function randomTensor(shape: readonly number[], dtype: mg.DType = 'float64', seed = 1, lo = -2, hi = 2): { t: mg.Tensor; v: number[] } {
  const vals = randomValues(numel(shape), seed, lo, hi);
  const arr = dtype === 'float64' ? Float64Array.from(vals) : dtype === 'int32' ? Int32Array.from(vals.map(Math.round)) : Float32Array.from(vals);
  return { t: mg.tensor(arr, { shape, dtype }), v: Array.from(arr) };
}

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Multi-index of flat position `i` in `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

/** Reads a broadcast operand of `shape` at output multi-index `idx` (right-aligned). */
export function broadcastRead(v: readonly number[], shape: readonly number[], idx: readonly number[]): number {
  const st = strides(shape);
  const off = idx.length - shape.length;
  let p = 0;
  for (let d = 0; d < shape.length; d++) p += (shape[d] === 1 ? 0 : idx[off + d]) * st[d];
  return v[p];
}

/** Default tolerances per dtype. */
export function tol(dtype: mg.DType): { rtol: number; atol: number } {
  return dtype === 'float64' ? { rtol: 1e-12, atol: 1e-12 } : dtype === 'float32' ? { rtol: 2e-5, atol: 1e-5 } : { rtol: 0, atol: 0 };
}

/** Expects `actual` (a tensor or numbers) to match `expected` elementwise within tolerances; NaNs must match. */
export function expectClose(actual: mg.Tensor | ArrayLike<number>, expected: ArrayLike<number>, opts: { rtol?: number; atol?: number } = {}): void {
  const a = actual instanceof mg.Tensor ? actual.data() : actual;
  const { rtol, atol } = { ...(actual instanceof mg.Tensor ? tol(actual.dtype) : tol('float64')), ...opts };
  expect(a.length).toBe(expected.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = expected[i];
    if (Number.isNaN(y)) {
      if (!Number.isNaN(x)) throw new Error(`element ${i}: got ${x}, expected NaN`);
      continue;
    }
    if (x === y) continue; // covers infinities
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      throw new Error(`element ${i}: got ${x}, expected ${y} (|diff| ${Math.abs(x - y)} > ${atol} + ${rtol}*|expected|)`);
    }
  }
}
