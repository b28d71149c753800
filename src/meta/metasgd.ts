/**
 * Meta-SGD (Li et al. 2017): MAML whose inner step uses a learnable learning rate per parameter
 * element, meta-learned together with the initialisation.
 */
import { fullLike } from '../tensor/creation.js';
import type { Module } from '../nn/module.js';
import { keep, type Tensor } from '../tensor/tensor.js';
import { MAML, type MAMLOptions } from './maml.js';

/**
 * Meta-SGD over `module`: the inner update is `p - alpha ⊙ g` where `alpha` (one tensor shaped
 * like each parameter, initialised to `innerLr`) is meta-learned. Give
 * {@link MetaSGD.metaParameters} (the module's parameters, then the rates) to the optimizer.
 * `firstOrder` detaches the inner gradients; the rates still get a meta-gradient (through
 * `alpha ⊙ g`).
 */
export class MetaSGD extends MAML {
  /** The per-parameter inner learning rates, in `module.parameters()` order (leaves requiring grad). */
  readonly lrs: Tensor[];

  constructor(module: Module<[Tensor], Tensor>, opts: MAMLOptions = {}) {
    super(module, opts);
    this.lrs = module.parameters().map((p) => keep(fullLike(p, this.innerLr).requiresGrad_()));
  }

  /** The module's parameters followed by the learning rates. */
  override metaParameters(): Tensor[] {
    return [...this.module.parameters(), ...this.lrs];
  }

  protected override innerUpdate(params: readonly Tensor[], grads: readonly (Tensor | null)[], _eval: boolean): Tensor[] {
    if (params.length !== this.lrs.length) throw new Error(`MetaSGD: got ${params.length} parameters for ${this.lrs.length} learning rates`);
    return params.map((p, i) => {
      const g = grads[i];
      return g === null || g === undefined ? p : p.sub(this.lrs[i].mul(g));
    });
  }
}
