/** Shape arithmetic shared by every op: broadcasting, axis normalisation, formatting for errors. */

/** `[2,3]`, the way error messages print shapes. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The NumPy broadcast of several shapes; throws naming `op` and the shapes if incompatible. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  let nd = 0;
  for (const s of shapes) nd = Math.max(nd, s.length);
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    const off = nd - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = out[off + i];
      if (d === o || d === 1) continue;
      if (o === 1) out[off + i] = d;
      else throw new Error(`${op}: shapes ${shapes.map(fmt).join(' and ')} cannot be broadcast together`);
    }
  }
  return out;
}

/** Normalises a possibly negative axis into [0, ndim); throws naming the op otherwise. */
export function normAxis(op: string, axis: number, ndim: number): number {
  // A 0-d tensor accepts axis 0 and -1, as NumPy and PyTorch do for reductions.
  const n = Math.max(ndim, 1);
  if (!Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new Error(`${op}: axis ${describeValue(axis)} is out of range for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + n : axis;
}

/** Sorted unique axes; `undefined` means all of them. */
export function normAxes(op: string, axis: number | readonly number[] | undefined, ndim: number): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axis !== 'number' && !Array.isArray(axis)) throw new Error(`${op}: axis must be a number or an array of numbers, got ${describeValue(axis)}`);
  const list = typeof axis === 'number' ? [axis] : axis;
  const out = list.map((a) => normAxis(op, a, ndim));
  out.sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new Error(`${op}: axis ${out[i]} is repeated in [${list.join(',')}]`);
  }
  return out;
}

/**
 * Note [Shape limits]: a tensor holds at most 2^53 - 1 elements (the largest count a JS number
 * holds exactly; the addon enforces the same limit on every buffer it allocates, so no element
 * count or byte size can wrap around 64 bits), and at most {@link MAX_BYTES} bytes.
 */
export const MAX_NUMEL = Number.MAX_SAFE_INTEGER;
/** 2^47 bytes (128 TiB): the user address space of a 64-bit process; no buffer can be larger. */
export const MAX_BYTES = 2 ** 47;

/** A value as the user wrote it, for error messages (never throws, whatever the value). */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'a function';
  if (v instanceof Array) return `[${v.map(describeValue).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
  }
  return String(v);
}

/** Throws unless `o` is an options object or absent (a default `= {}` does not replace a null). */
export function checkOptions(op: string, o: unknown): void {
  if (o !== undefined && (typeof o !== 'object' || o === null || Array.isArray(o))) {
    throw new Error(`${op}: options must be an object, got ${describeValue(o)}`);
  }
}

/** Why dimension `d` is not allowed, or null if it is. */
function badDim(d: unknown): string | null {
  if (typeof d !== 'number') return `is not a number (${typeof d})`;
  if (Number.isNaN(d)) return 'is not a number';
  if (d < 0) return 'is negative';
  if (!Number.isInteger(d)) return Number.isFinite(d) ? 'is not an integer' : 'is not finite';
  if (d > MAX_NUMEL) return 'is not a safe integer';
  return null;
}

/** The bytes of one element of each dtype (shape.ts sits below dtype.ts's users; kept local). */
const ITEM_BYTES: Record<string, number> = { float32: 4, float64: 8, int32: 4 };

/**
 * Checks a shape (user-given or computed) before anything is allocated for it: an array of at
 * most 16 dimensions, each an integer in [0, 2^53 - 1], whose element count (the product of the
 * non-zero dimensions, so that strides cannot overflow either) and byte size for `dtype` stay
 * within Note [Shape limits]. The Error names `op` and the shape as it was given.
 */
export function checkShape(op: string, shape: readonly number[], dtype?: string): void {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array of integers, got ${describeValue(shape)}`);
  if (shape.length > 16) throw new Error(`${op}: shape ${describeValue(shape)} has rank ${shape.length}; the maximum is 16`);
  let n = 1;
  for (const d of shape) {
    const why = badDim(d);
    if (why !== null) throw new Error(`${op}: dimension ${describeValue(d)} in shape ${describeValue(shape)} ${why}`);
    if (d > 0) n *= d;
  }
  if (n > MAX_NUMEL) throw new Error(`${op}: shape ${describeValue(shape)} has ${n} elements, more than a tensor can hold (2^53 - 1)`);
  const bytes = n * (ITEM_BYTES[dtype ?? 'float32'] ?? 8);
  if (bytes > MAX_BYTES) throw new Error(`${op}: shape ${describeValue(shape)} of ${dtype ?? 'float32'} needs ${bytes} bytes, more than can be allocated (2^47)`);
}

/**
 * The cheap form of {@link checkShape} that every native allocation goes through (backend's
 * `header`): true when `shape` is within Note [Shape limits]; callers then call checkShape for
 * the message.
 */
export function shapeOk(shape: readonly number[], dtype: string): boolean {
  if (shape.length > 16) return false;
  let n = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (!Number.isInteger(d) || d < 0) return false;
    if (d > 0) n *= d;
  }
  return n <= MAX_NUMEL && n * (ITEM_BYTES[dtype] ?? 8) <= MAX_BYTES;
}
