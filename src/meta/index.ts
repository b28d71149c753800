/**
 * `mg.meta`: optimization-based meta-learning over functional parameters: {@link MAML} (second
 * order or first order), {@link MetaSGD} (learned per-parameter inner rates), {@link ANIL}
 * (head-only inner loop), {@link Reptile}, the task-batched MLP MAML, {@link MAMLpp} (MAML++:
 * multi-step loss, derivative-order annealing, per-step learned inner rates, per-step batch norm
 * through `mg.nn.Conv4`, cosine-annealed meta learning rate; optionally checkpointed inner steps)
 * and {@link IMAML} (implicit gradients by conjugate gradient, memory independent of the inner
 * steps). Each consumes `mg.data` tasks (`{ support, query }`).
 * `mg.meta.l2l`: learned optimizers (the coordinate-wise LSTM optimizer of Andrychowicz et al. 2016).
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
export * as l2l from './l2l/index.js';
