/**
 * `mg.meta`: optimization-based meta-learning over functional parameters: {@link MAML} (second
 * order or first order), {@link MetaSGD} (learned per-parameter inner rates), {@link ANIL}
 * (head-only inner loop) and {@link Reptile}. Each consumes `mg.data` tasks (`{ support, query }`).
 * `mg.meta.l2l`: learned optimizers (the coordinate-wise LSTM optimizer of Andrychowicz et al. 2016).
 */
export { MAML, type MAMLOptions, type AdaptOptions, type LossFn, type MetaOptimizer } from './maml.js';
export { MetaSGD } from './metasgd.js';
export { ANIL, type ANILOptions } from './anil.js';
export * from './reptile.js';
export * from './batched.js';
export * as l2l from './l2l/index.js';
