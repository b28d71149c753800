/**
 * Memory scopes: `tidy(fn)` disposes every tensor created inside `fn` except those it returns.
 * Tensors register with the innermost open scope when they are created.
 */
import type { Tensor } from './tensor.js';

/** The open scopes, innermost last. Each holds the tensors created while it was innermost. */
export const scopes: Tensor[][] = [];

/** Anything `tidy` can return: tensors found in it (arrays, plain objects, Maps) are kept. */
export type TensorContainer = unknown;

function collect(x: unknown, keep: Set<Tensor>, seen: Set<unknown>, TensorClass: Function): void {
  if (x === null || typeof x !== 'object' || seen.has(x)) return;
  seen.add(x);
  if (x instanceof TensorClass) {
    const t = x as Tensor;
    keep.add(t);
    // A dual's tangents are part of it (forward mode): a tangent made inside the scope must
    // survive with its primal, or closing the forward level would dispose it under the caller.
    if (t._tangents !== null) for (const tan of t._tangents.values()) collect(tan, keep, seen, TensorClass);
    return;
  }
  if (Array.isArray(x)) for (const v of x) collect(v, keep, seen, TensorClass);
  else if (x instanceof Map) for (const v of x.values()) collect(v, keep, seen, TensorClass);
  else if (Object.getPrototypeOf(x) === Object.prototype) for (const v of Object.values(x)) collect(v, keep, seen, TensorClass);
}

/**
 * Closes the innermost scope: disposes its tensors except those reachable from `result`, which
 * move to the parent scope, or, at the outermost scope, come under the garbage-collection backstop.
 */
export function closeScope(result: unknown, TensorClass: Function, track: (t: Tensor) => void): void {
  const mine = scopes.pop()!;
  const keep = new Set<Tensor>();
  collect(result, keep, new Set(), TensorClass);
  const parent = scopes.length ? scopes[scopes.length - 1] : null;
  for (const t of mine) {
    if (keep.has(t) || t._kept) {
      if (parent && !t._kept) parent.push(t);
      else track(t);
    } else {
      t._release(); // saved tensors outlive the scope (Note [Saved tensors] in autograd/record.ts)
    }
  }
}
