/** The task interface meta-learning algorithms consume; samplers (sinusoid, Omniglot, yours) produce it. */
import type { Tensor } from '../tensor/tensor.js';

/** Inputs and targets of one split of a task. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/** One task: a support set to adapt on and a query set to evaluate the adapted model on. */
export interface Task {
  support: Batch;
  query: Batch;
}

/**
 * Anything that can draw tasks. `sample(n)` returns n fresh tasks (drawn from the library's seeded
 * generator, so `mg.manualSeed` makes a run repeatable).
 */
export interface TaskSampler {
  sample(n: number): Task[];
}
