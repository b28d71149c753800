/**
 * Memory scopes: `tidy(fn)` disposes every tensor created inside `fn` except those it returns.
 * Tensors register with the innermost open scope when they are created.
 */
import type { Tensor } from './tensor.js';

/** The open scopes, innermost last. Each holds the tensors created while it was innermost. */
export const scopes: Tensor[][] = [];
/** For each open scope, the creation id of the first tensor it could hold (see Tensor._id). */
export const scopeStarts: number[] = [];
/**
 * For each open scope, tensors an inner scope released whose tape node it could not free yet
 * (Note [Scope frees graphs]): a surviving tensor of the inner scope still reached the node.
 */
const scopeOrphans: Tensor[][] = [];
/** Creation ids: every tensor takes the next one, so "made inside this scope" is `_id >= start`. */
export const ids = { next: 0 };

/** Opens a scope. */
export function openScope(): void {
  scopes.push([]);
  scopeStarts.push(ids.next);
  scopeOrphans.push([]);
}

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
  const start = scopeStarts.pop()!;
  const orphans = scopeOrphans.pop()!;
  const keep = new Set<Tensor>();
  collect(result, keep, new Set(), TensorClass);
  const parent = scopes.length ? scopes[scopes.length - 1] : null;
  const parentOrphans = scopeOrphans.length ? scopeOrphans[scopeOrphans.length - 1] : null;
  freeUnreachableNodes(mine, orphans, keep, start);
  for (const t of mine) {
    if (keep.has(t) || t._kept) {
      if (parent && !t._kept) parent.push(t);
      else track(t);
    } else {
      t._release(); // saved tensors outlive the scope (Note [Saved tensors] in autograd/record.ts)
      // Its node is still reached from a tensor that moves to the parent scope: let the parent
      // free it once nothing there reaches it (a gradient made inside a backward rule's scope).
      if (parentOrphans !== null && liveNode(t)) parentOrphans.push(t);
    }
  }
  if (parentOrphans !== null) for (const t of orphans) if (liveNode(t)) parentOrphans.push(t);
}

function liveNode(t: Tensor): boolean {
  const n = t._node as NodeLike | null;
  return n !== null && !n.freed;
}

/** What scope.ts needs of an autograd node (tensor/ sits below autograd/record.ts). */
interface NodeLike {
  freed: boolean;
  readonly inputs: readonly (Tensor | null)[];
  readonly saved: readonly Tensor[];
  free(): void;
}

/**
 * Note [Scope frees graphs]: the tape nodes of the tensors a scope releases are freed (their saved
 * tensors released, Note [Saved tensors] in autograd/record.ts) unless a surviving tensor of the
 * scope (returned or kept) can still reach them through node inputs, saved tensors or tangents.
 * Without this, a node that no backward pass visits (the inner loss of a createGraph step: the
 * outer backward goes through its gradient, not through the loss itself) would keep its saved
 * tensors alive until garbage collection. Only tensors created in this scope can reach these
 * nodes: tensors made before the scope opened cannot have them as inputs.
 */
function freeUnreachableNodes(mine: Tensor[], orphans: Tensor[], keep: Set<Tensor>, start: number): void {
  let any = orphans.some(liveNode);
  if (!any) {
    for (const t of mine) {
      if (!keep.has(t) && !t._kept && liveNode(t)) {
        any = true;
        break;
      }
    }
  }
  if (!any) return;
  const reached = new Set<Tensor>();
  const stack: Tensor[] = [];
  for (const t of mine) if (keep.has(t) || t._kept) stack.push(t);
  const visit = (x: Tensor | null) => {
    if (x !== null && x._id >= start && !reached.has(x)) stack.push(x);
  };
  while (stack.length) {
    const t = stack.pop()!;
    if (reached.has(t)) continue;
    reached.add(t);
    const n = t._node as NodeLike | null;
    if (n !== null && !n.freed) {
      for (const x of n.inputs) visit(x);
      for (const x of n.saved) visit(x);
    }
    if (t._tangents !== null) for (const x of t._tangents.values()) visit(x);
  }
  for (const list of [mine, orphans]) {
    for (const t of list) {
      const n = t._node as NodeLike | null;
      if (n !== null && !n.freed && !reached.has(t)) n.free();
    }
  }
}
