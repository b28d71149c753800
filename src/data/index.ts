/** `mg.data`: task samplers for meta-learning, and the Omniglot data they draw from. */
export type { Batch, Task, TaskSampler } from './task.js';
export {
  MamlSinusoid, ReptileSinusoid, permutation, SINUSOID_AMPLITUDE, SINUSOID_X_RANGE,
  type SinusoidTask, type ReptileSinusoidTask, type MamlSinusoidOptions, type ReptileSinusoidOptions,
} from './sinusoid.js';
export * from './omniglot/index.js';
