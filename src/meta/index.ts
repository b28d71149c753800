/**
 * `mg.meta`: optimization-based meta-learning over functional parameters: {@link MAML} (second
 * order or first order), {@link MetaSGD} (learned per-parameter inner rates), {@link ANIL}
 * (head-only inner loop) and {@link Reptile}. Each consumes `mg.data` tasks (`{ support, query }`).
 */
export { MAML, type MAMLOptions, type AdaptOptions, type LossFn, type MetaOptimizer } from './maml.js';
export { MetaSGD } from './metasgd.js';
export { ANIL, type ANILOptions } from './anil.js';
export * from './reptile.js';
export * from './batched.js';
export {
  MAMLpp, perStepLossWeights,
  type MAMLppOptions, type MAMLppAdaptOptions, type MAMLppEvalOptions, type MAMLppOptimizer, type CosineAnnealingOptions, type StepModule,
} from './mamlpp.js';
export { conjugateGradient, type ConjugateGradientOptions, type ConjugateGradientResult } from './cg.js';
export {
  IMAML, proximalAdapt, implicitMetaGradient, type IMAMLOptions, type ProximalInnerOptions, type ImplicitSolveOptions,
} from './imaml.js';
