/**
 * The optimizer base: parameter groups, the step loop (in-place updates under noGrad inside one
 * tidy scope), zeroGrad, and the state dict (step counts, moment buffers) for resuming.
 *
 * Note [Optimizer state]: state tensors are never written in place. Each step computes the new
 * buffer, marks it with `keep` and disposes the old one, so the only in-place write is the
 * parameter's `copy_` (ARCHITECTURE.md rule 3). This also saves one native call per buffer.
 */
import { noGrad } from '../autograd/engine.js';
import { release } from '../autograd/record.js';
import { tidy } from '../tensor/memory.js';
import { fmt, sameShape } from '../tensor/shape.js';
import { keep, Tensor } from '../tensor/tensor.js';

/** Hyper-parameters every optimizer has: the learning rate, and the one schedulers start from. */
export interface BaseGroupOptions {
  /** Learning rate (schedulers overwrite it). */
  lr: number;
  /** The learning rate the first scheduler attached to the optimizer found (PyTorch's `initial_lr`). */
  initialLr?: number;
}

/** A parameter group as the optimizer holds it: the tensors and their resolved hyper-parameters. */
export type ParamGroup<O> = O & BaseGroupOptions & { params: Tensor[] };

/** A parameter group as passed to a constructor: `params` and any hyper-parameters overriding the defaults. */
export type ParamGroupSpec<O> = Partial<O & BaseGroupOptions> & { params: readonly Tensor[] };

/** What optimizer constructors accept: a list of parameters, or a list of groups. */
export type Params<O> = readonly Tensor[] | readonly ParamGroupSpec<O>[];

/** Per-parameter state: a step count and named buffers. */
export type ParamState = Record<string, Tensor | number>;

/**
 * An optimizer's state for `loadStateDict`: per-parameter state keyed by the parameter's index
 * (counting through the groups in order), and each group's hyper-parameters with its parameters'
 * indices. The tensors are copies owned by the caller (dispose them, or pass them to
 * {@link disposeStateDict}).
 */
export interface OptimizerStateDict {
  state: Record<number, ParamState>;
  paramGroups: (Record<string, number | boolean | number[] | undefined> & { params: number[] })[];
}

/** Disposes the tensors of a state dict returned by `stateDict()`. */
export function disposeStateDict(sd: OptimizerStateDict): void {
  for (const s of Object.values(sd.state)) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
}

/** @internal Releases a tensor held by a `.grad` or the optimizer (it may still be saved by a tape). */
export function drop(t: Tensor): void {
  t._kept = false;
  release(t);
}

/**
 * Base class of the optimizers: holds the parameter groups and the per-parameter state. Subclasses
 * implement `update`, called for each parameter with a gradient, under noGrad and inside a tidy
 * scope (temporaries are freed; new state tensors must be returned through `setState`).
 */
export abstract class Optimizer<O extends object> {
  /** The parameter groups (hyper-parameters may be changed between steps; schedulers set `lr`). */
  readonly paramGroups: ParamGroup<O>[];
  /** @internal Per-parameter state, created at a parameter's first step. */
  protected readonly state = new Map<Tensor, ParamState>();
  private disposed = false;

  /**
   * @param name the optimizer's name, for error messages
   * @param params a list of parameters or of parameter groups (`{ params, lr, ... }`)
   * @param defaults hyper-parameters for groups that do not set them
   */
  protected constructor(
    protected readonly name: string,
    params: Params<O>,
    defaults: O & BaseGroupOptions,
  ) {
    if (!Array.isArray(params) || params.length === 0) throw new Error(`${name}: expected a non-empty list of parameters or parameter groups`);
    const specs: ParamGroupSpec<O>[] = params[0] instanceof Tensor ? [{ params: params as readonly Tensor[] } as ParamGroupSpec<O>] : [...(params as readonly ParamGroupSpec<O>[])];
    const seen = new Set<Tensor>();
    this.paramGroups = specs.map((spec, gi) => {
      if (spec === null || typeof spec !== 'object' || !Array.isArray(spec.params)) throw new Error(`${name}: group ${gi} must be an object with a 'params' list`);
      const ps = [...spec.params];
      ps.forEach((p, i) => {
        if (!(p instanceof Tensor)) throw new Error(`${name}: parameter ${i} of group ${gi} is not a tensor`);
        if (p.dtype !== 'float32' && p.dtype !== 'float64') throw new Error(`${name}: parameter ${i} of group ${gi} (shape ${fmt(p.shape)}) is ${p.dtype}; only float32 and float64 parameters can be optimized`);
        if (!p.isLeaf) throw new Error(`${name}: parameter ${i} of group ${gi} (shape ${fmt(p.shape)}) is not a leaf tensor (it was computed by a recorded op)`);
        if (p.isDisposed) throw new Error(`${name}: parameter ${i} of group ${gi} (shape ${fmt(p.shape)}) was disposed`);
        if (seen.has(p)) throw new Error(`${name}: parameter ${i} of group ${gi} (shape ${fmt(p.shape)}) appears more than once`);
        seen.add(p);
      });
      const group = { ...defaults } as Record<string, unknown>;
      for (const [k, v] of Object.entries(spec)) if (k !== 'params' && v !== undefined) group[k] = v;
      group.params = ps;
      this.validate(group as ParamGroup<O>, gi);
      return group as ParamGroup<O>;
    });
  }

  /** Throws if a group's hyper-parameters are invalid (called at construction and on load). */
  protected abstract validate(group: ParamGroup<O>, index: number): void;

  /**
   * Updates one parameter in place from its gradient `g`; `st` is its state (empty at its first
   * step). Runs under noGrad inside a tidy scope.
   */
  protected abstract update(p: Tensor, g: Tensor, group: ParamGroup<O>, st: ParamState): void;

  /**
   * Updates every parameter that has a gradient (`.grad !== null`), in place. Parameters without
   * one are skipped (their state does not advance).
   */
  step(): void {
    if (this.disposed) throw new Error(`${this.name}.step: the optimizer was disposed`);
    noGrad(() =>
      tidy(() => {
        for (const group of this.paramGroups) {
          for (const p of group.params) {
            const g = p.grad;
            if (g === null) continue;
            if (!sameShape(g.shape, p.shape)) throw new Error(`${this.name}.step: the gradient of a parameter has shape ${fmt(g.shape)} but the parameter has shape ${fmt(p.shape)}`);
            let st = this.state.get(p);
            if (st === undefined) {
              st = {};
              this.state.set(p, st);
            }
            this.update(p, g, group, st);
          }
        }
      }),
    );
  }

  /**
   * Sets every parameter's `.grad` to null and frees the old gradients. A gradient object shared
   * by several parameters is freed once.
   */
  zeroGrad(): void {
    const old = new Set<Tensor>();
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (p.grad !== null) old.add(p.grad);
        p.grad = null;
      }
    }
    for (const g of old) drop(g);
  }

  /** @internal Replaces a state buffer: keeps the new tensor and disposes the old one. */
  protected setState(st: ParamState, key: string, t: Tensor): void {
    const prev = st[key];
    st[key] = keep(t);
    if (prev instanceof Tensor && prev !== t) prev.dispose();
  }

  /** All parameters, in group order (the indices used by the state dict). */
  private allParams(): Tensor[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /**
   * A copy of the optimizer's state (step counts and buffers, as fresh tensors owned by the
   * caller) and of each group's hyper-parameters, for {@link loadStateDict}.
   */
  stateDict(): OptimizerStateDict {
    const ps = this.allParams();
    const state: Record<number, ParamState> = {};
    ps.forEach((p, i) => {
      const st = this.state.get(p);
      if (st === undefined || Object.keys(st).length === 0) return;
      const out: ParamState = {};
      for (const [k, v] of Object.entries(st)) out[k] = v instanceof Tensor ? keep(v.clone()) : v;
      state[i] = out;
    });
    let next = 0;
    const paramGroups = this.paramGroups.map((g) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(g)) if (k !== 'params') out[k] = Array.isArray(v) ? [...v] : v;
      out.params = g.params.map(() => next++);
      return out as OptimizerStateDict['paramGroups'][number];
    });
    return { state, paramGroups };
  }

  /**
   * Restores the state and hyper-parameters saved by {@link stateDict} (from an optimizer over
   * parameters of the same shapes, grouped the same way). The tensors are copied (cast to each
   * parameter's dtype), so the caller may dispose `sd` afterwards.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const op = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !Array.isArray(sd.paramGroups) || typeof sd.state !== 'object') throw new Error(`${op}: expected { state, paramGroups }`);
    if (sd.paramGroups.length !== this.paramGroups.length) throw new Error(`${op}: the state dict has ${sd.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    sd.paramGroups.forEach((g, i) => {
      if (!Array.isArray(g.params) || g.params.length !== this.paramGroups[i].params.length) throw new Error(`${op}: group ${i} has ${g.params?.length} parameters in the state dict, ${this.paramGroups[i].params.length} in the optimizer`);
    });
    const index = new Map<number, Tensor>();
    sd.paramGroups.forEach((g, gi) => g.params.forEach((id, j) => index.set(id, this.paramGroups[gi].params[j])));
    // Validate everything before changing anything.
    const newGroups = sd.paramGroups.map((g, gi) => {
      const merged = { ...this.paramGroups[gi] } as Record<string, unknown>;
      for (const [k, v] of Object.entries(g)) if (k !== 'params') merged[k] = Array.isArray(v) ? [...v] : v;
      this.validate(merged as ParamGroup<O>, gi);
      return merged;
    });
    for (const [k, s] of Object.entries(sd.state)) {
      const p = index.get(Number(k));
      if (p === undefined) throw new Error(`${op}: state for parameter ${k}, which no group lists`);
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          if (!sameShape(v.shape, p.shape)) throw new Error(`${op}: '${name}' of parameter ${k} has shape ${fmt(v.shape)} but the parameter has shape ${fmt(p.shape)}`);
          if (v.isDisposed) throw new Error(`${op}: '${name}' of parameter ${k} was disposed`);
        } else if (typeof v !== 'number') throw new Error(`${op}: '${name}' of parameter ${k} is neither a tensor nor a number`);
      }
    }
    this.clearState();
    newGroups.forEach((merged, gi) => Object.assign(this.paramGroups[gi], merged));
    for (const [k, s] of Object.entries(sd.state)) {
      const p = index.get(Number(k))!;
      const st: ParamState = {};
      for (const [name, v] of Object.entries(s)) {
        if (v instanceof Tensor) {
          const c = noGrad(() => (v.dtype === p.dtype ? v.clone() : v.to(p.dtype)));
          st[name] = keep(v.device === p.device ? c : moveTo(c, p));
        } else st[name] = v;
      }
      this.state.set(p, st);
    }
  }

  private clearState(): void {
    for (const st of this.state.values()) for (const v of Object.values(st)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /**
   * Frees the optimizer's state tensors (not the parameters nor their gradients). The optimizer
   * cannot step afterwards.
   */
  dispose(): void {
    this.clearState();
    this.disposed = true;
  }

  /** `using opt = new mg.optim.Adam(...)` disposes the optimizer's state at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function moveTo(c: Tensor, p: Tensor): Tensor {
  const m = c.to(p.device);
  if (m !== c) c.dispose();
  return m;
}

/** @internal Throws unless `v` is a finite number >= 0 (or within [lo, hi) when given). */
export function checkNumber(op: string, name: string, v: unknown, lo = 0, hi = Infinity, hiInclusive = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || (hiInclusive ? v > hi : v >= hi)) {
    const range = hi === Infinity ? `>= ${lo}` : `in [${lo}, ${hi}${hiInclusive ? ']' : ')'}`;
    throw new Error(`${op}: ${name} must be a number ${range}, got ${String(v)}`);
  }
}
