/**
 * Evaluation of update rules on optimizees: graph-free runs that record every instance's
 * evaluation loss after each step, learning-rate tuning of the hand-designed baselines by a
 * small grid, and the mean with a 95% confidence interval.
 */
import { noGrad } from '../../autograd/engine.js';
import { tidy } from '../../tensor/memory.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { OptimizeeBatch } from './optimizees.js';
import { lossAndGrads } from './unroll.js';
import type { UpdateRule } from './update_rule.js';

/**
 * Runs `rule` for `steps` steps on every instance of `problem` from its initial parameters,
 * recording nothing on the tape. Returns the loss curves: `curves[t][b]` is instance b's
 * evaluation loss (`problem.evalLosses`) after t steps, for t = 0..steps. A diverging run gives
 * non-finite numbers (they are kept). Frees everything it makes.
 */
export function runRule(rule: UpdateRule, problem: OptimizeeBatch, steps: number): Float64Array[] {
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`runRule: steps must be a non-negative integer, got ${steps}`);
  const evalNow = (ps: readonly Tensor[]) => noGrad(() => tidy(() => Float64Array.from(problem.evalLosses(ps).data())));
  let params = problem.init.map((p) => p.detach());
  let state = noGrad(() => rule.initState(params));
  const curves: Float64Array[] = [evalNow(params)];
  try {
    for (let t = 0; t < steps; t++) {
      const next = tidy(() => {
        const { grads } = lossAndGrads(problem, params, t);
        return noGrad(() => rule.step(params, grads, state, t));
      });
      for (const x of [...params, ...state]) x.dispose();
      params = next.params;
      state = next.state;
      curves.push(evalNow(params));
    }
  } finally {
    for (const x of [...params, ...state]) x.dispose();
  }
  return curves;
}

/** The mean and the 95% confidence half-width `1.96 sd / sqrt(n)` of `xs` (non-finite values make both non-finite). */
export function meanCi95(xs: ArrayLike<number>): { mean: number; ci95: number } {
  const n = xs.length;
  if (n === 0) return { mean: NaN, ci95: NaN };
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i];
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (xs[i] - mean) ** 2;
  const sd = n > 1 ? Math.sqrt(v / (n - 1)) : 0;
  return { mean, ci95: (1.96 * sd) / Math.sqrt(n) };
}

/** The median of `xs` (NaN sorts last, as if +Infinity). */
export function median(xs: ArrayLike<number>): number {
  const s = Array.from(xs, (v) => (Number.isNaN(v) ? Infinity : v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The learning rates {@link tuneLearningRate} tries by default: 1, 2, 5 per decade from 1e-4 to 10. */
export const LR_GRID: readonly number[] = [1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/** What {@link tuneLearningRate} found. */
export interface TuneResult {
  /** The learning rate with the lowest mean final loss. */
  lr: number;
  /** Mean final evaluation loss for each learning rate tried (Infinity for a diverging or non-finite run). */
  grid: { lr: number; loss: number }[];
}

/**
 * Picks the learning rate of a hand-designed rule by grid search: runs `makeRule(lr)` for `steps`
 * steps on `problem` (training optimizees, not the held-out ones) for each lr in `grid` and keeps
 * the one with the lowest mean evaluation loss after the last step.
 */
export function tuneLearningRate(makeRule: (lr: number) => UpdateRule, problem: OptimizeeBatch, steps: number, grid: readonly number[] = LR_GRID): TuneResult {
  if (grid.length === 0) throw new Error('tuneLearningRate: the grid is empty');
  const results = grid.map((lr) => {
    const curves = runRule(makeRule(lr), problem, steps);
    const { mean } = meanCi95(curves[steps]);
    return { lr, loss: Number.isFinite(mean) ? mean : Infinity };
  });
  let best = results[0];
  for (const r of results) if (r.loss < best.loss) best = r;
  return { lr: best.lr, grid: results };
}
