/**
 * Recording, the half of autograd that every op calls: grad mode, forward-mode levels, tape nodes
 * and the lifetime of saved tensors. It is the one autograd file that ops/ imports; the engine
 * (engine.ts) and the transforms built on it import ops/, never the other way round.
 *
 * Note [Defining an op]: an op computes its value with one native call, then calls `record` with
 * its vjp rule and jvp rule, both written only with public differentiable ops (ARCHITECTURE.md
 * rule 1). The engine runs vjp rules with grad mode set to `createGraph`, so with it on the
 * backward pass is itself recorded and any order of derivative follows by induction. A jvp rule
 * runs with forward levels >= its own switched off (Note [Forward levels]), so nested jvp, jvp of
 * grad and grad of jvp compose without perturbation confusion.
 *
 * Note [Saved tensors]: a node keeps its inputs (and any extra tensors its rules use) alive: each
 * saved tensor's `_refs` counts the nodes holding it. A `tidy` scope that ends, or the engine
 * done with an intermediate gradient, *releases* a tensor instead of disposing it: a released
 * tensor still saved by a node is disposed when its last node is freed (by a backward pass without
 * retainGraph) or, failing that, by the garbage-collection backstop. User-held tensors are never
 * disposed behind the user's back.
 */
import { hooks } from '../tensor/hooks.js';
import type { Tensor } from '../tensor/tensor.js';

/** A vjp rule: the gradients of the inputs given the output's gradient (null where unused). */
export type VjpRule = (g: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[];
/** A jvp rule: the output's tangent given the inputs' tangents (null for a zero tangent). */
export type JvpRule = (tangents: readonly (Tensor | null)[]) => Tensor | null;

/** Global autograd state. */
export const state = {
  /** Whether ops record tape nodes (noGrad turns it off). */
  gradEnabled: true,
  /** Forward-mode levels open now (innermost last); level numbers are never reused. */
  levels: [] as number[],
  /** Tangents at levels >= this are ignored (set while a jvp rule of that level runs). */
  levelLimit: Infinity,
  /** Next forward level number. */
  nextLevel: 1,
  /** Whether detectAnomaly is on: vjp results are checked for NaN/Inf. */
  anomaly: false,
  /** Number of tensors carrying tangents now (a cheap "is forward mode in use" test). */
  duals: 0,
  /** Tensors given a tangent at each open level, so closing the level strips them all. */
  levelTensors: new Map<number, Tensor[]>(),
};

/** A tape node: the op that produced one tensor, its inputs and its vjp rule. */
export class Node {
  /** Set once the node's saved tensors are released; a later backward through it is an error. */
  freed = false;
  constructor(
    /** The op's name, for errors and detectAnomaly. */
    readonly name: string,
    /** The op's tensor inputs (null for scalars and absent inputs). */
    readonly inputs: readonly (Tensor | null)[],
    /** The vjp rule (dropped when freed, releasing what its closure holds). */
    public vjp: VjpRule | null,
    /** Tensors kept alive for the rules. */
    readonly saved: readonly Tensor[],
  ) {
    for (const s of saved) s._refs++;
  }

  /** Releases the saved tensors (Note [Saved tensors]). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.vjp = null;
    for (const s of this.saved) unref(s);
  }
}

/** Drops one node reference to `t`; disposes it if it was released and nothing else holds it. */
export function unref(t: Tensor): void {
  if (--t._refs === 0 && t._released) t.dispose();
}

/** Disposes `t` unless nodes still save it, in which case it is disposed when they are freed. */
export function release(t: Tensor): void {
  t._release();
}

/** True when an op on these inputs must record (reverse or forward mode). */
export function needsRecord(a: Tensor | number | null | undefined, b?: Tensor | number | null, c?: Tensor | number | null): boolean {
  return (
    (state.gradEnabled &&
      ((typeof a === 'object' && a !== null && a.requiresGrad) ||
        (typeof b === 'object' && b !== null && b.requiresGrad) ||
        (typeof c === 'object' && c !== null && c.requiresGrad))) ||
    (state.duals > 0 &&
      ((typeof a === 'object' && a !== null && a._tangents !== null) ||
        (typeof b === 'object' && b !== null && b._tangents !== null) ||
        (typeof c === 'object' && c !== null && c._tangents !== null)))
  );
}

/** Like {@link needsRecord} for any number of inputs. */
export function needsRecordAll(inputs: readonly (Tensor | null)[]): boolean {
  for (const t of inputs) if (t !== null && needsRecord(t)) return true;
  return false;
}

/** The tangent of `t` at forward level `level`, or null. */
export function tangentOf(t: Tensor | null, level: number): Tensor | null {
  return t !== null && t._tangents !== null ? (t._tangents.get(level) ?? null) : null;
}

/** Attaches `tangent` to `t` at `level` (the tangent stays alive as long as the dual does). */
export function setTangent(t: Tensor, level: number, tangent: Tensor): void {
  if (t._tangents === null) {
    t._tangents = new Map();
    state.duals++;
  }
  const old = t._tangents.get(level);
  if (old) unref(old);
  else state.levelTensors.get(level)?.push(t);
  tangent._refs++;
  t._tangents.set(level, tangent);
}

/** Removes every tangent of `t` (at `level` only, when given). */
export function clearTangents(t: Tensor, level?: number): void {
  const m = t._tangents;
  if (m === null) return;
  for (const [l, tan] of m) {
    if (level === undefined || l === level) {
      m.delete(l);
      unref(tan);
    }
  }
  if (m.size === 0) {
    t._tangents = null;
    state.duals--;
  }
}

// Tensor.dispose() drops tangents through this hook (tensor/ sits below autograd/).
hooks.tangentCleanup = clearTangents;

/**
 * Records `out` as produced by op `name` from `inputs`: a tape node if grad mode is on and an input
 * requires grad, and the tangents of `out` at every open forward level where an input has one.
 * `extra` lists tensors the rules use besides the inputs and `out` (for Note [Saved tensors]).
 * Rules must only use tensors they can reach through `inputs`, `out` or `extra`.
 */
export function record(out: Tensor, name: string, inputs: readonly (Tensor | null)[], vjp: VjpRule | null, jvp: JvpRule | null, extra?: readonly Tensor[], savesOut = false): Tensor {
  if (state.gradEnabled) {
    let req = false;
    for (const t of inputs) if (t !== null && t.requiresGrad) req = true;
    if (req) {
      if (vjp === null) throw new Error(`${name}: has no gradient (its result cannot require grad)`);
      const saved: Tensor[] = [];
      for (const t of inputs) if (t !== null) saved.push(t);
      if (extra) for (const t of extra) saved.push(t);
      if (savesOut) saved.push(out);
      out._node = new Node(name, inputs, vjp, saved);
      out.requiresGrad = true;
    }
  }
  if (state.duals > 0) forward(out, name, inputs, jvp);
  return out;
}

/** Note [Forward levels]: computes `out`'s tangent at each open level an input has one at. */
function forward(out: Tensor, name: string, inputs: readonly (Tensor | null)[], jvp: JvpRule | null): void {
  for (const level of state.levels) {
    if (level >= state.levelLimit) break;
    let any = false;
    const ts = inputs.map((t) => {
      const tan = tangentOf(t, level);
      if (tan !== null) any = true;
      return tan;
    });
    if (!any) continue;
    if (jvp === null) throw new Error(`${name}: has no forward-mode derivative`);
    // Within the rule, tangents at this level and above are constants (their products are
    // second order in this level's perturbation); lower levels keep propagating.
    const saved = state.levelLimit;
    state.levelLimit = level;
    let tan: Tensor | null;
    try {
      tan = jvp(ts);
    } finally {
      state.levelLimit = saved;
    }
    if (tan !== null) setTangent(out, level, tan);
  }
}

/** Runs `fn` with grad mode set to `enabled`. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = state.gradEnabled;
  state.gradEnabled = enabled;
  try {
    return fn();
  } finally {
    state.gradEnabled = prev;
  }
}
