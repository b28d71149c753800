// The synthetic image tasks live in src/cli/studies/image_tasks.ts (the memory and lslr studies use
// them too); the MAML++ and iMAML tests import them from here.
export { disposeTasks, imageTaskSampler, type ImageTaskOptions } from '../../src/cli/studies/image_tasks.js';
