/**
 * `Module`: the base class of layers. A module owns named parameters (leaf tensors requiring grad),
 * named buffers (state that is not trained, such as batch norm's running statistics) and named
 * child modules, all registered explicitly.
 *
 * Note [Registration]: `registerParameter(name, t)` (likewise `registerBuffer`, `registerModule`)
 * records `t` under `name` and defines `this[name]` as an accessor that reads the registry, so
 * `forward` simply reads `this.weight`. It returns `t`, which lets a subclass write either
 *
 * ```ts
 * class Affine extends Module<[Tensor]> {
 *   declare readonly scale: Tensor;                         // typed accessor, no emitted field
 *   readonly inner = this.registerModule('inner', new Linear(4, 4)); // a plain field works too
 *   constructor() { super(); this.registerParameter('scale', mg.ones([4])); }
 *   forward(x: Tensor) { return this.inner.call(x).mul(this.scale); }
 * }
 * ```
 *
 * A class field initialised with the result (`readonly w = this.registerParameter('w', t)`)
 * replaces the accessor with a plain property holding the same tensor; `functionalCall` swaps
 * such properties too, so both styles see substituted parameters. Registration order is the
 * order of `parameters()`, `namedParameters()` and `stateDict()` (PyTorch's: a module's own
 * parameters first, then each child's, depth first).
 *
 * Note [Functional call]: `functionalCall(module, params, ...inputs)` (functional_call.ts) swaps
 * the registered tensors for the given ones, runs `forward`, and swaps them back in a `finally`;
 * no tensor is copied, so the result is differentiable with respect to the given tensors (to any
 * order) and not to the module's own. Swaps nest, so functional calls nest.
 */
import { noGrad } from '../autograd/engine.js';
import { release } from '../autograd/record.js';
import { copy_ } from '../ops/inplace.js';
import { fmt, sameShape } from '../tensor/shape.js';
import { keep, Tensor } from '../tensor/tensor.js';

/** A state dictionary: dotted names (`layers.0.weight`) to tensors, parameters and buffers. */
export type StateDict = Record<string, Tensor>;

/** Options of {@link Module.loadStateDict}. */
export interface LoadStateDictOptions {
  /** Require the keys to match the module's exactly (default true). With false, unmatched keys on either side are skipped (and reported). */
  strict?: boolean;
}

/** What {@link Module.loadStateDict} did not match (always empty in strict mode, which throws instead). */
export interface LoadStateDictResult {
  /** Module entries the dictionary lacked. */
  missingKeys: string[];
  /** Dictionary entries the module lacks. */
  unexpectedKeys: string[];
}

/** Options of {@link Module.registerParameter}. */
export interface RegisterParameterOptions {
  /** Whether the parameter requires grad (default true; false freezes it). */
  requiresGrad?: boolean;
}

/** @internal One registered tensor: where it lives and under which full name. */
export interface Slot {
  module: Module<never[], unknown>;
  name: string;
  fullName: string;
  kind: 'parameter' | 'buffer';
  tensor: Tensor;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$|^[0-9]+$/;

/**
 * Base class of all layers. `In` is the tuple of `forward`'s arguments, `Out` its result. Call a
 * module with `m.call(x)` (JavaScript has no `__call__`); `call` runs `forward`.
 */
export abstract class Module<In extends unknown[] = [Tensor], Out = Tensor> {
  /** Training mode (batch norm uses batch statistics and updates its running ones). Set with `train()` / `eval()`. */
  training = true;
  /** @internal Parameters by name, registration order (null: registered as absent, e.g. no bias). */
  readonly _parameters = new Map<string, Tensor | null>();
  /** @internal Buffers by name, registration order. */
  readonly _buffers = new Map<string, Tensor | null>();
  /** @internal Children by name, registration order. */
  readonly _modules = new Map<string, Module<never[], unknown>>();

  /** The computation. Read parameters through `this.<name>` so that `functionalCall` can substitute them. */
  abstract forward(...inputs: In): Out;

  /** Runs `forward` (the calling convention: `model.call(x)`). */
  call(...inputs: In): Out {
    return this.forward(...inputs);
  }

  // ---- registration ---------------------------------------------------------------------------

  private checkName(kind: string, name: string): void {
    if (typeof name !== 'string' || !IDENT.test(name)) {
      throw new Error(`${this.constructor.name}.register${kind}: name must be an identifier or an index, got ${JSON.stringify(name)}`);
    }
    const taken = (this._parameters.has(name) && kind !== 'Parameter') || (this._buffers.has(name) && kind !== 'Buffer') || (this._modules.has(name) && kind !== 'Module');
    if (taken) throw new Error(`${this.constructor.name}.register${kind}: '${name}' is already registered as another kind of member`);
    if (!this._parameters.has(name) && !this._buffers.has(name) && !this._modules.has(name) && name in this) {
      throw new Error(`${this.constructor.name}.register${kind}: '${name}' clashes with an existing property of the module`);
    }
  }

  private defineAccessor(name: string, map: Map<string, unknown>, set: (v: never) => void): void {
    Object.defineProperty(this, name, {
      configurable: true,
      enumerable: true,
      get: () => map.get(name),
      set,
    });
  }

  /**
   * Registers `t` as the parameter `name`: makes it a leaf requiring grad (unless
   * `requiresGrad: false`), keeps it alive past `tidy` scopes, and defines `this[name]`. `null`
   * registers an absent parameter (such as a disabled bias): `this[name]` is null and it is not
   * listed. Registering an existing name replaces the parameter (the old tensor is not disposed).
   * Returns `t`.
   */
  registerParameter<T extends Tensor | null>(name: string, t: T, opts: RegisterParameterOptions = {}): T {
    this.checkName('Parameter', name);
    if (t !== null) {
      if (!(t instanceof Tensor)) throw new Error(`${this.constructor.name}.registerParameter('${name}'): expected a tensor or null`);
      if (!t.isLeaf) throw new Error(`${this.constructor.name}.registerParameter('${name}'): parameters must be leaf tensors (pass t.detach())`);
      if (t.dtype === 'int32') throw new Error(`${this.constructor.name}.registerParameter('${name}'): parameters must be floating point, got int32`);
      t.requiresGrad = opts.requiresGrad ?? true;
      keep(t);
    }
    this._parameters.set(name, t);
    this.defineAccessor(name, this._parameters, (v: Tensor | null) => this.registerParameter(name, v));
    return t;
  }

  /**
   * Registers `t` as the buffer `name` (module state that is saved in `stateDict` but not
   * trained, such as running statistics); keeps it alive past `tidy` scopes and defines
   * `this[name]`. Returns `t`.
   */
  registerBuffer<T extends Tensor | null>(name: string, t: T): T {
    this.checkName('Buffer', name);
    if (t !== null) {
      if (!(t instanceof Tensor)) throw new Error(`${this.constructor.name}.registerBuffer('${name}'): expected a tensor or null`);
      keep(t);
    }
    this._buffers.set(name, t);
    this.defineAccessor(name, this._buffers, (v: Tensor | null) => this.registerBuffer(name, v));
    return t;
  }

  /** Registers `m` as the child module `name` and defines `this[name]`. Returns `m`. */
  registerModule<M extends Module<never[], unknown>>(name: string, m: M): M {
    this.checkName('Module', name);
    if (!(m instanceof Module)) throw new Error(`${this.constructor.name}.registerModule('${name}'): expected a Module`);
    this._modules.set(name, m);
    this.defineAccessor(name, this._modules, (v: M) => this.registerModule(name, v));
    return m;
  }

  // ---- traversal ------------------------------------------------------------------------------

  /** @internal Every registered tensor, depth first, duplicates included (tied weights appear twice). */
  _slots(prefix = '', out: Slot[] = [], seen = new Set<Module<never[], unknown>>()): Slot[] {
    if (seen.has(this as never)) return out;
    seen.add(this as never);
    for (const [name, t] of this._parameters) if (t) out.push({ module: this as never, name, fullName: prefix + name, kind: 'parameter', tensor: t });
    for (const [name, t] of this._buffers) if (t) out.push({ module: this as never, name, fullName: prefix + name, kind: 'buffer', tensor: t });
    for (const [name, m] of this._modules) m._slots(`${prefix}${name}.`, out, seen);
    return out;
  }

  private named(kind: 'parameter' | 'buffer'): [string, Tensor][] {
    // Parameters first for the whole tree, in PyTorch's order: own, then each child's (depth first).
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const s of this._slots()) {
      if (s.kind !== kind || seen.has(s.tensor)) continue;
      seen.add(s.tensor);
      out.push([s.fullName, s.tensor]);
    }
    return out;
  }

  /** `[name, parameter]` pairs with dotted names (`layers.0.weight`), in registration order, depth first; a tensor shared by several modules appears once. */
  namedParameters(): [string, Tensor][] {
    return this.named('parameter');
  }
  /** The parameters in `namedParameters()` order (the order `functionalCall` takes an array in). */
  parameters(): Tensor[] {
    return this.named('parameter').map(([, t]) => t);
  }
  /** `[name, buffer]` pairs with dotted names, like `namedParameters()`. */
  namedBuffers(): [string, Tensor][] {
    return this.named('buffer');
  }
  /** The buffers in `namedBuffers()` order. */
  buffers(): Tensor[] {
    return this.named('buffer').map(([, t]) => t);
  }
  /** `[name, child]` pairs of the direct children, in registration order. */
  namedChildren(): [string, Module<never[], unknown>][] {
    return [...this._modules];
  }
  /** The direct children, in registration order. */
  children(): Module<never[], unknown>[] {
    return [...this._modules.values()];
  }
  /** `[name, module]` for this module (name '') and every descendant, depth first, each once. */
  namedModules(): [string, Module<never[], unknown>][] {
    const out: [string, Module<never[], unknown>][] = [];
    const seen = new Set<unknown>();
    const walk = (m: Module<never[], unknown>, prefix: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([prefix, m]);
      for (const [n, c] of m._modules) walk(c, prefix ? `${prefix}.${n}` : n);
    };
    walk(this as never, '');
    return out;
  }
  /** This module and every descendant, depth first. */
  modules(): Module<never[], unknown>[] {
    return this.namedModules().map(([, m]) => m);
  }

  // ---- state ----------------------------------------------------------------------------------

  /**
   * Every parameter and buffer under its dotted name, in PyTorch's order (own parameters, own
   * buffers, then each child's, depth first). The values are the module's
   * own tensors, not copies: do not dispose them; clone them to snapshot.
   */
  stateDict(): StateDict {
    const out: StateDict = {};
    for (const s of this._slots()) if (!Object.hasOwn(out, s.fullName)) out[s.fullName] = s.tensor;
    return out;
  }

  /**
   * Copies `dict`'s values into the module's parameters and buffers in place (`copy_` under
   * noGrad, casting to each tensor's dtype), so references to them (optimizers, views) stay
   * valid. With `strict` (the default) the keys must match exactly; a missing or unexpected key or
   * a shape mismatch throws one error naming them all, before anything is written.
   */
  loadStateDict(dict: StateDict | Map<string, Tensor>, opts: LoadStateDictOptions = {}): LoadStateDictResult {
    const { strict = true } = opts;
    const entries = dict instanceof Map ? dict : new Map(Object.entries(dict));
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !entries.has(k));
    const unexpectedKeys = [...entries.keys()].filter((k) => !Object.hasOwn(own, k));
    const problems: string[] = [];
    if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
    if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
    for (const [k, v] of entries) {
      if (!Object.hasOwn(own, k)) continue;
      const t = own[k];
      if (!(v instanceof Tensor)) problems.push(`'${k}' is not a tensor`);
      else if (!sameShape(t.shape, v.shape)) problems.push(`size mismatch for '${k}': the dictionary has ${fmt(v.shape)}, the module ${fmt(t.shape)}`);
      else if (v.isDisposed) problems.push(`'${k}' was disposed`);
    }
    if (problems.length) throw new Error(`${this.constructor.name}.loadStateDict: ${problems.join('; ')}`);
    noGrad(() => {
      for (const [k, v] of entries) if (Object.hasOwn(own, k) && own[k] !== v) copy_(own[k], v);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** Sets training mode on this module and every descendant (default true). Returns this. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }
  /**
   * Sets evaluation mode on this module and every descendant (`train(false)`). Returns this.
   * Meta-learning trap (higher#55): batch norm in eval mode normalises with running statistics
   * that inner-loop adaptation never sees; keep the model in training mode for adaptation
   * (see {@link BatchNorm2d}).
   */
  eval(): this {
    return this.train(false);
  }

  /** Drops the `.grad` of every parameter (sets it to null, freeing it; PyTorch's `set_to_none`). */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      const g = p.grad;
      if (g !== null) {
        p.grad = null;
        g._kept = false;
        release(g);
      }
    }
  }

  /** Disposes every parameter (and its `.grad`) and buffer of this module and its descendants. Later use throws. */
  dispose(): void {
    for (const s of this._slots()) {
      if (s.tensor.grad) {
        s.tensor.grad.dispose();
        s.tensor.grad = null;
      }
      s.tensor.dispose();
    }
  }
  /** `using model = new Linear(...)` disposes it at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- printing -------------------------------------------------------------------------------

  /** The text inside this module's parentheses in `toString()` (layers override it), e.g. `inFeatures=2, outFeatures=3, bias=true`. */
  extraRepr(): string {
    return '';
  }

  /** PyTorch-style description: `Name(extra)`, children indented as `(name): ...`. */
  toString(): string {
    const extra = this.extraRepr();
    if (this._modules.size === 0) return `${this.constructor.name}(${extra})`;
    const lines: string[] = [];
    if (extra) lines.push(...extra.split('\n'));
    for (const [n, m] of this._modules) lines.push(`(${n}): ${m.toString().split('\n').join('\n  ')}`);
    return `${this.constructor.name}(\n  ${lines.join('\n  ')}\n)`;
  }
}
