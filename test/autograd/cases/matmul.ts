// Op-table rows for the matmul ops (see Note [Op table] in ../ops.test.ts).
import type { OpCase } from './types.js';

export const matmulCases: OpCase[] = [];
