/**
 * The registry of `metagrad study` analyses, in the order the usage lists them. Adding a study:
 * write src/cli/studies/<name>.ts exporting a `Study` (see ./study.ts) and add it here.
 */
import type { Study } from './study.js';
import { gradientCombinationsStudy } from './gradient_combinations.js';
import { hvpCostStudy } from './hvp_cost.js';
import { innerStepsStudy } from './inner_steps.js';
import { lslrStudy } from './lslr.js';
import { memoryStudy } from './memory.js';
import { tailsStudy } from './tails.js';
import { taylorStudy } from './taylor.js';

/** Every study, in the order the usage lists them. */
export const STUDIES: readonly Study[] = [taylorStudy, gradientCombinationsStudy, tailsStudy, innerStepsStudy, hvpCostStudy, memoryStudy, lslrStudy];

export type { Study, StudyContext, StudyOutput, Table } from './study.js';
