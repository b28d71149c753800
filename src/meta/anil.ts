/**
 * ANIL (Raghu et al. 2020, "Almost No Inner Loop"): MAML that adapts only the head in the inner
 * loop; the body is meta-learned through the query loss but never changes within a task.
 */
import { functionalCall } from '../nn/functional_call.js';
import { Sequential } from '../nn/layers.js';
import type { Module } from '../nn/module.js';
import type { Batch } from '../data/task.js';
import type { Tensor } from '../tensor/tensor.js';
import { MAML, type MAMLOptions } from './maml.js';

/** Options of {@link ANIL}. */
export interface ANILOptions extends MAMLOptions {
  /**
   * The head: parameter-name prefixes (`'2'` matches `'2.weight'` and `'2.bias'`; a full name
   * matches itself). Default: the last layer with parameters of a `Sequential`.
   */
  head?: string | readonly string[];
}

/**
 * ANIL over `module`. {@link ANIL.adapt} takes and returns the head's parameters only (in
 * {@link ANIL.headNames} order); the body's parameters are never adapted.
 *
 * When `module` is a `Sequential` whose head is a suffix of its layers (the default), the body's
 * features are computed once per support/query set and the inner loop runs only the head layers
 * (`functionalCall` on them with a partial name→tensor map). Otherwise the whole module runs at
 * each inner step with the head's names substituted.
 *
 * The meta-parameters are all of the module's parameters (body and head initialisation).
 */
export class ANIL extends MAML {
  /** Names (as in `module.namedParameters()`) of the adapted parameters. */
  readonly headNames: string[];
  /** Index of the first head layer when the body's features are cached, else null. */
  readonly headStart: number | null;

  constructor(module: Module<[Tensor], Tensor>, opts: ANILOptions = {}) {
    super(module, opts);
    const names = module.namedParameters().map(([n]) => n);
    let prefixes: string[];
    if (opts.head === undefined) {
      if (!(module instanceof Sequential)) throw new Error('ANIL: give `head` (parameter-name prefixes) for a module that is not a Sequential');
      let last = -1;
      for (let i = 0; i < module.length; i++) if (module.at(i).parameters().length > 0) last = i;
      if (last < 0) throw new Error('ANIL: the Sequential has no parameters');
      prefixes = [String(last)];
    } else {
      prefixes = typeof opts.head === 'string' ? [opts.head] : [...opts.head];
    }
    const matches = (n: string) => prefixes.some((p) => n === p || n.startsWith(`${p}.`));
    this.headNames = names.filter(matches);
    if (this.headNames.length === 0) throw new Error(`ANIL: no parameter matches the head ${prefixes.map((p) => `'${p}'`).join(', ')} (parameters: ${names.join(', ')})`);
    if (this.headNames.length === names.length) throw new Error('ANIL: the head covers every parameter (that is MAML)');
    // Cache the body's features if the head is a suffix of a Sequential's layers.
    this.headStart = null;
    if (module instanceof Sequential) {
      const layerOf = (n: string) => Number(n.split('.')[0]);
      const start = Math.min(...this.headNames.map(layerOf));
      const bodyNames = names.filter((n) => !matches(n));
      const headIsSuffix = bodyNames.every((n) => layerOf(n) < start) && this.headNames.every((n) => layerOf(n) >= start);
      if (headIsSuffix && Number.isInteger(start)) this.headStart = start;
    }
  }

  /** The head's parameters (the inner loop's starting point). */
  override initialParameters(): Tensor[] {
    const byName = new Map(this.module.namedParameters());
    return this.headNames.map((n) => byName.get(n)!);
  }

  /** The body's parameters (meta-learned, never adapted). */
  bodyParameters(): Tensor[] {
    const head = new Set(this.headNames);
    return this.module.namedParameters().filter(([n]) => !head.has(n)).map(([, p]) => p);
  }

  protected override prepare(batch: Batch, _evalMode: boolean): Batch {
    if (this.headStart === null) return batch;
    const seq = this.module as Sequential;
    let h = batch.x;
    for (let i = 0; i < this.headStart; i++) h = seq.at(i).call(h);
    return { x: h, y: batch.y };
  }

  protected override forwardPrepared(params: readonly Tensor[], x: Tensor): Tensor {
    if (params.length !== this.headNames.length) throw new Error(`ANIL: got ${params.length} tensors for the ${this.headNames.length} head parameters (${this.headNames.join(', ')})`);
    if (this.headStart === null) {
      return functionalCall(this.module, new Map(this.headNames.map((n, i) => [n, params[i]])), x);
    }
    const seq = this.module as Sequential;
    let h = x;
    for (let i = this.headStart; i < seq.length; i++) {
      const prefix = `${i}.`;
      const sub = new Map<string, Tensor>();
      this.headNames.forEach((n, k) => {
        if (n.startsWith(prefix)) sub.set(n.slice(prefix.length), params[k]);
      });
      const layer = seq.at(i);
      h = sub.size > 0 ? functionalCall(layer, sub, h) : layer.call(h);
    }
    return h;
  }
}
