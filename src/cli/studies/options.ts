/** Option parsing the studies share (lists of numbers), on top of ../args.ts. */
import { UsageError } from '../args.js';

/**
 * A comma-separated list of numbers (`--alphas 0.01,0.02`); each must satisfy `check` (described
 * by `what`). Returns `def` when the option is absent.
 */
export function numListOpt(values: Record<string, unknown>, name: string, def: readonly number[], what = 'positive number', check: (v: number) => boolean = (v) => v > 0): number[] {
  const v = values[name];
  if (v === undefined) return [...def];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name}: expected a comma-separated list of ${what}s, got '${String(v)}'`);
  const parts = v.split(',').map((p) => p.trim());
  const out = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === '' || !Number.isFinite(out[i]) || !check(out[i]));
  if (bad >= 0) throw new UsageError(`--${name}: '${parts[bad]}' is not a ${what} (in '${v}')`);
  return out;
}

/** A comma-separated list of integers >= `min` (`--steps 1,2,5`). */
export function intListOpt(values: Record<string, unknown>, name: string, def: readonly number[], min = 1): number[] {
  return numListOpt(values, name, def, `integer >= ${min}`, (x) => Number.isSafeInteger(x) && x >= min);
}
