/** `mg.optim`: optimizers (in-place updates under noGrad), gradient clipping, learning-rate schedules. */
export {
  Optimizer, disposeStateDict,
  type BaseGroupOptions, type ParamGroup, type ParamGroupSpec, type Params, type ParamState, type OptimizerStateDict,
} from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.js';
export {
  LRScheduler, StepLR, CosineAnnealingLR, LinearLR, SequentialLR, warmupCosine,
  stepLrAt, cosineAnnealingLrAt, linearLrAt, warmupCosineLrAt,
  type LrOptimizer, type SchedulerStateDict, type StepLROptions, type CosineAnnealingLROptions,
  type LinearLROptions, type SequentialLROptions, type WarmupCosineOptions,
} from './lr_scheduler.js';
