/**
 * Forward mode: `jvp` pushes tangents through `f` alongside the values, with dual tensors at a
 * fresh level (Note [Forward levels] in record.ts), so it nests with itself and with `grad`.
 */
import { clearTangents, setTangent, state, tangentOf } from './record.js';
import { alias } from '../ops/convert.js';
import { zerosLike } from '../tensor/creation.js';
import { describeValue, fmt, sameShape } from '../tensor/shape.js';
import { tidy } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';

/** What the functional transforms accept as `f`'s result. */
export type Outputs = Tensor | readonly Tensor[];

/** Opens a forward level, runs `body(level)`, and closes the level (stripping its tangents). */
export function withLevel<T>(body: (level: number) => T): T {
  const level = state.nextLevel++;
  state.levels.push(level);
  state.levelTensors.set(level, []);
  try {
    return body(level);
  } finally {
    state.levels.pop();
    for (const t of state.levelTensors.get(level)!) clearTangents(t, level);
    state.levelTensors.delete(level);
  }
}

/** Checks primals and tangents pair up. */
export function checkTangents(op: string, primals: readonly Tensor[], tangents: readonly Tensor[]): void {
  if (!Array.isArray(primals)) throw new Error(`${op}: primals must be an array of tensors, got ${describeValue(primals)}`);
  if (!Array.isArray(tangents)) throw new Error(`${op}: tangents must be an array of tensors, got ${describeValue(tangents)}`);
  if (primals.length !== tangents.length) throw new Error(`${op}: got ${tangents.length} tangents for ${primals.length} primals`);
  primals.forEach((p, i) => {
    const t = tangents[i];
    if (!(p instanceof Tensor) || !(t instanceof Tensor)) throw new Error(`${op}: primal and tangent ${i} must be tensors`);
    p.handle(op);
    t.handle(op);
    if (p.device !== t.device) throw new Error(`${op}: tangent ${i} is on ${t.device} but its primal is on ${p.device}`);
    if (!sameShape(p.shape, t.shape)) throw new Error(`${op}: tangent ${i} has shape ${fmt(t.shape)} but its primal has shape ${fmt(p.shape)}`);
    if (p.dtype === 'int32') throw new Error(`${op}: primal ${i} is int32; only floating-point inputs can be differentiated`);
  });
}

/**
 * Jacobian-vector product by true forward mode: returns `[f(...primals), J·tangents]` (arrays when
 * `f` returns an array). Nests with `jvp`, `grad` and the other transforms.
 */
export function jvp(f: (...xs: Tensor[]) => Tensor, primals: readonly Tensor[], tangents: readonly Tensor[]): [Tensor, Tensor];
export function jvp(f: (...xs: Tensor[]) => readonly Tensor[], primals: readonly Tensor[], tangents: readonly Tensor[]): [Tensor[], Tensor[]];
export function jvp(f: (...xs: Tensor[]) => Outputs, primals: readonly Tensor[], tangents: readonly Tensor[]): [Tensor | Tensor[], Tensor | Tensor[]] {
  if (typeof f !== 'function') throw new Error(`jvp: f must be a function, got ${describeValue(f)}`);
  checkTangents('jvp', primals, tangents);
  // Note [Transforms free their intermediates]: the duals, the tangents of f's intermediates and
  // everything f made besides its outputs are freed here, not left to garbage collection.
  return tidy(() => jvpBody(f, primals, tangents));
}

/** @internal {@link jvp} without its checks and its scope (for transforms with their own scope). */
export function jvpBody(f: (...xs: Tensor[]) => Outputs, primals: readonly Tensor[], tangents: readonly Tensor[]): [Tensor | Tensor[], Tensor | Tensor[]] {
  return withLevel((level) => {
    const duals = primals.map((p, i) => {
      const d = alias(p);
      setTangent(d, level, tangents[i].dtype === p.dtype ? tangents[i] : tangents[i].to(p.dtype));
      return d;
    });
    const out = f(...duals);
    const outs = Array.isArray(out) ? (out as Tensor[]) : [out as Tensor];
    const tans = outs.map((o, i) => {
      if (!(o instanceof Tensor)) throw new Error(`jvp: f returned a non-tensor at output ${i}`);
      return tangentOf(o, level) ?? zerosLike(o);
    });
    return Array.isArray(out) ? [outs, tans] : [outs[0], tans[0]];
  });
}
