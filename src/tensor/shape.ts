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
    throw new Error(`${op}: axis ${axis} is out of range for a tensor of rank ${ndim}`);
  }
  return axis < 0 ? axis + n : axis;
}

/** Sorted unique axes; `undefined` means all of them. */
export function normAxes(op: string, axis: number | readonly number[] | undefined, ndim: number): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === 'number' ? [axis] : axis;
  const out = list.map((a) => normAxis(op, a, ndim));
  out.sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new Error(`${op}: axis ${out[i]} is repeated in [${list.join(',')}]`);
  }
  return out;
}

/** Checks a user-given shape (non-negative integers, rank <= 16). */
export function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array of integers, got ${String(shape)}`);
  if (shape.length > 16) throw new Error(`${op}: shape ${fmt(shape)} has rank ${shape.length}; the maximum is 16`);
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`${op}: shape ${fmt(shape)} must hold non-negative integers`);
  }
}
