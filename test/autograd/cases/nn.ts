// Op-table rows for the nn ops (see Note [Op table] in ../ops.test.ts).
import type { OpCase } from './types.js';

export const nnCases: OpCase[] = [];
