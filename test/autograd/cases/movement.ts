// Op-table rows for the movement ops (see Note [Op table] in ../ops.test.ts).
import type { OpCase } from './types.js';

export const movementCases: OpCase[] = [];
