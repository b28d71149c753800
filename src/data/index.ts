/** `mg.data`: task samplers for meta-learning. */
export type { Batch, Task, TaskSampler } from './task.js';
