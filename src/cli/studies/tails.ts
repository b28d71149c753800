/**
 * `metagrad study tails`: Nichol et al. (2018), section 6 ("overlap between inner-loop
 * minibatches"), on the sinusoid task. First-order MAML takes k inner SGD steps on minibatches of
 * a task's training points and then its outer gradient on one more minibatch, the tail:
 *   - shared tail: the tail is the next minibatch of the same training points (it overlaps with
 *     what the inner loop has just fitted; with full batches it IS the inner loop's data);
 *   - separate tail: the tail is fresh points of the task, disjoint from the training points (as
 *     MAML's query set).
 * Reptile (no tail: (theta - phi_k)/alpha) runs beside them. Each (inner steps, batch size) cell
 * meta-trains every variant from the same initialisation on the same tasks; meta-test adapts fixed
 * held-out tasks with the same k-step loop on their training points and scores fresh query points.
 *
 * Minibatches are consecutive chunks of a stream of shuffled passes over the training points (a
 * new permutation per pass, shared by the tasks of a meta-batch: the points of a task are i.i.d.,
 * so a shared permutation is as random as one per task).
 */
import * as mg from '../../index.js';
import { intOpt, numOpt, UsageError } from '../args.js';
import { COLORS, figure, fmtNum, heatMap, lineChart, type LineSeries, type Panel } from '../svg.js';
import { intListOpt } from './options.js';
import { adaptedMse, initMlp, innerLoop, sampleTasks, selectPoints, slicePoints, taskMean, type Points } from './sinusoid.js';
import { ci95, mean } from './stats.js';
import type { Study, StudyContext, StudyOutput } from './study.js';

type Tensor = mg.Tensor;

/** The variants: first-order MAML with a separate or a shared tail, and Reptile. */
export const TAIL_VARIANTS = ['separate', 'shared', 'reptile'] as const;
/** One of {@link TAIL_VARIANTS}. */
export type TailVariant = (typeof TAIL_VARIANTS)[number];
const LABEL: Record<TailVariant, string> = { separate: 'FOMAML, separate tail', shared: 'FOMAML, shared tail', reptile: 'Reptile (no tail)' };

/**
 * The positions of `count` minibatches of `batch` points from a stream of shuffled passes over
 * `n` points (permutations from the seeded generator).
 */
export function minibatchStream(n: number, batch: number, count: number): number[][] {
  if (batch > n) throw new Error(`minibatchStream: a minibatch of ${batch} points needs at least ${batch} training points, got ${n}`);
  const stream: number[] = [];
  while (stream.length < batch * count) stream.push(...mg.data.permutation(n));
  return Array.from({ length: count }, (_, j) => stream.slice(j * batch, (j + 1) * batch));
}

/**
 * The outer direction of one variant for a meta-batch: `train` [T, n] training points, `fresh`
 * [T, batch] points disjoint from them (the separate tail), k inner steps of `batch` points.
 */
export function tailDirection(variant: TailVariant, params: readonly Tensor[], train: Points, fresh: Points, k: number, batch: number, lr: number): Tensor[] {
  const n = train.x.shape[1];
  const idx = minibatchStream(n, batch, k + 1);
  const batches = idx.slice(0, k).map((ix) => selectPoints(train, ix));
  if (variant === 'reptile') {
    const { grads } = innerLoop(params, batches, lr, 'relu');
    return taskMean(params.map((_, p) => grads.map((g) => g[p]).reduce((a, b) => a.add(b))), params);
  }
  const tail = variant === 'shared' ? selectPoints(train, idx[k]) : fresh;
  const { tailGrad } = innerLoop(params, batches, lr, 'relu', tail);
  return taskMean(tailGrad!, params);
}

/** A held-out MSE above this (targets lie in [-5, 5]) means the adaptation diverged. */
export const BLOWUP = 1e4;

const OPTIONS = {
  steps: { type: 'string' },
  batches: { type: 'string' },
  'train-points': { type: 'string' },
  iterations: { type: 'string' },
  'meta-batch': { type: 'string' },
  'inner-lr': { type: 'string' },
  'meta-lr': { type: 'string' },
  'eval-tasks': { type: 'string' },
  query: { type: 'string' },
  hidden: { type: 'string' },
} as const;

const DEFAULTS = { steps: [1, 2, 4, 8], batches: [5, 10, 20], trainPoints: 20, iterations: 1000, metaBatch: 5, innerLr: 0.01, metaLr: 0.001, evalTasks: 300, query: 50, hidden: [40, 40] };

async function run(values: Record<string, string | boolean | undefined>, ctx: StudyContext): Promise<StudyOutput> {
  const steps = [...new Set(intListOpt(values, 'steps', DEFAULTS.steps))].sort((a, b) => a - b);
  const sizes = [...new Set(intListOpt(values, 'batches', DEFAULTS.batches))].sort((a, b) => a - b);
  const N = intOpt(values, 'train-points', DEFAULTS.trainPoints);
  const iterations = intOpt(values, 'iterations', DEFAULTS.iterations);
  const T = intOpt(values, 'meta-batch', DEFAULTS.metaBatch);
  const innerLr = numOpt(values, 'inner-lr', DEFAULTS.innerLr);
  const metaLr = numOpt(values, 'meta-lr', DEFAULTS.metaLr);
  const evalTasks = intOpt(values, 'eval-tasks', DEFAULTS.evalTasks);
  const Q = intOpt(values, 'query', DEFAULTS.query);
  const hidden = intListOpt(values, 'hidden', DEFAULTS.hidden);
  const big = sizes.find((b) => b > N);
  if (big !== undefined) throw new UsageError(`--batches: a minibatch of ${big} points exceeds --train-points ${N}`);

  // Held-out tasks: N training points and Q query points each.
  mg.manualSeed(ctx.seed * 7919 + 15_485_863);
  const evalSet = mg.tidy(() => {
    const p = sampleTasks(evalTasks, N + Q);
    return { train: slicePoints(p, 0, N), query: slicePoints(p, N, N + Q) };
  });

  // results[b][s][v]: per-task held-out MSEs after training; skipped[b][s][v]: outer steps skipped
  // because the direction was not finite (the inner loop diverged).
  const results: number[][][][] = sizes.map(() => steps.map(() => TAIL_VARIANTS.map(() => [] as number[])));
  const skipped: number[][][] = sizes.map(() => steps.map(() => TAIL_VARIANTS.map(() => 0)));
  const cost = (k: number) => k + 1;
  const totalWork = sizes.length * TAIL_VARIANTS.length * iterations * steps.reduce((a, k) => a + cost(k), 0);
  let done = 0;
  const t0 = Date.now();
  try {
    sizes.forEach((B, bi) => {
      steps.forEach((k, si) => {
        TAIL_VARIANTS.forEach((variant, vi) => {
          mg.manualSeed(ctx.seed * 1_000_003 + 17);
          const params = initMlp(hidden);
          const opt = new mg.optim.Adam(params, { lr: metaLr, betas: [0, 0.999] });
          for (let it = 0; it < iterations; it++) {
            // The same tasks (and minibatch orders) for every variant and cell.
            mg.manualSeed(((ctx.seed * 1_000_003 + 17) * 1_000_033 + it + 1) % 2 ** 52);
            mg.tidy(() => {
              const pts = sampleTasks(T, N + B);
              const dir = tailDirection(variant, params, slicePoints(pts, 0, N), slicePoints(pts, N, N + B), k, B, innerLr);
              if (!Number.isFinite(dir.map((t) => t.sum()).reduce((a, b) => a.add(b)).item())) {
                skipped[bi][si][vi]++;
                return;
              }
              params.forEach((p, i) => (p.grad = mg.keep(dir[i])));
              opt.step();
              opt.zeroGrad();
            });
            done += cost(k);
            if (it % 25 === 0) ctx.progress(done, totalWork, `batch ${B}, ${k} steps: ${variant}`);
          }
          // Meta-test: the same k-step loop on the held-out tasks' training points.
          mg.manualSeed(ctx.seed * 7919 + 2_038_074_743);
          mg.tidy(() => {
            const batches = minibatchStream(N, B, k).map((ix) => selectPoints(evalSet.train, ix));
            results[bi][si][vi] = adaptedMse(params, batches, evalSet.query, innerLr, 'relu');
          });
          opt.dispose?.();
          params.forEach((p) => p.dispose());
        });
      });
    });
  } finally {
    for (const b of [evalSet.train, evalSet.query]) (b.x.dispose(), b.y.dispose());
  }
  ctx.progress(totalWork, totalWork, 'done');
  const wall = (Date.now() - t0) / 1000;

  // Means over the held-out tasks whose adaptation did not blow up (MSE finite and at most
  // BLOWUP, far above any sinusoid's variance; a diverged run has none).
  const fin = (v: readonly number[]) => v.filter((x) => Number.isFinite(x) && x <= BLOWUP);
  const avg = (bi: number, si: number, vi: number) => {
    const f = fin(results[bi][si][vi]);
    return f.length ? mean(f) : NaN;
  };
  const rows: Record<string, number | string | null>[] = [];
  sizes.forEach((B, bi) => {
    steps.forEach((k, si) => {
      const [sep, sh, rep] = results[bi][si];
      const diff = fin(sh.map((v, i) => v - sep[i]));
      const bad = TAIL_VARIANTS.map((_, vi) => results[bi][si][vi].length - fin(results[bi][si][vi]).length);
      rows.push({
        batch: B, steps: k,
        separate: avg(bi, si, 0), separateCi: ci95(fin(sep)),
        shared: avg(bi, si, 1), sharedCi: ci95(fin(sh)),
        reptile: avg(bi, si, 2), reptileCi: ci95(fin(rep)),
        diff: diff.length ? mean(diff) : NaN, diffCi: ci95(diff),
        ratio: avg(bi, si, 1) / avg(bi, si, 0),
        diverged: TAIL_VARIANTS.map((v, vi) => (skipped[bi][si][vi] || bad[vi] ? `${v}: ${skipped[bi][si][vi]} its, ${bad[vi]} tasks` : '')).filter(Boolean).join('; '),
      });
    });
  });
  const table = {
    columns: [
      { key: 'batch', label: 'batch size' },
      { key: 'steps', label: 'inner steps k' },
      { key: 'separate', label: 'separate tail MSE' },
      { key: 'separateCi', label: '±', digits: 2 },
      { key: 'shared', label: 'shared tail MSE' },
      { key: 'sharedCi', label: '±', digits: 2 },
      { key: 'reptile', label: 'Reptile MSE' },
      { key: 'reptileCi', label: '±', digits: 2 },
      { key: 'diff', label: 'shared − separate (paired)' },
      { key: 'diffCi', label: '± 95%', digits: 2 },
      { key: 'ratio', label: 'shared / separate', digits: 3 },
      { key: 'diverged', label: 'diverged (skipped outer steps, held-out tasks)' },
    ],
    rows,
  };

  const panels: Panel[] = sizes.map((B, bi) => (r) => {
    const series: LineSeries[] = TAIL_VARIANTS.map((v, vi) => {
      const y = steps.map((_, si) => avg(bi, si, vi));
      const c = steps.map((_, si) => ci95(fin(results[bi][si][vi])));
      return { label: LABEL[v], x: steps, y, lo: y.map((m, i) => m - c[i]), hi: y.map((m, i) => m + c[i]), errorStyle: 'bars', markers: true, color: COLORS[vi], dash: v === 'reptile' ? '5 3' : undefined };
    });
    return lineChart(r, {
      title: `minibatch of ${B} of ${N} training points${B === N ? ' (full batch)' : ''}`,
      x: { label: 'inner steps k', log: true, ticks: steps, format: String },
      y: { label: 'held-out MSE after k steps', log: true },
      series,
      legend: 'top-left',
    });
  });
  panels.push((r) =>
    heatMap({ ...r, w: r.w - 60 }, {
      title: 'shared / separate tail (held-out MSE ratio)',
      xLabels: steps.map(String),
      yLabels: sizes.map(String),
      values: sizes.map((_, bi) => steps.map((_, si) => avg(bi, si, 1) / avg(bi, si, 0))),
      xlabel: 'inner steps k',
      ylabel: 'batch size',
      colorLabel: 'ratio (log colour scale; 1 = equal)',
      scale: 'diverging',
      log: true,
      center: 1,
      format: (v) => v.toFixed(2),
    }),
  );
  const svg = figure({
    title: 'FOMAML with shared versus separate tail minibatches (Nichol et al. 2018, sinusoid)',
    subtitle: `1-${hidden.join('-')}-1 ReLU; ${N} training points per task; inner SGD lr ${innerLr}; Adam(lr ${metaLr}, beta1 0), meta-batch ${T}, ${iterations} outer steps per cell; ${evalTasks} held-out tasks (error bars: 95% over tasks)`,
    panels,
    cols: 2,
    panelWidth: 540,
    panelHeight: 360,
  });

  const divergedRows = rows.filter((r) => r.diverged !== '');
  const worse = rows.filter((r) => (r.diff as number) - (r.diffCi as number) > 0);
  const better = rows.filter((r) => (r.diff as number) + (r.diffCi as number) < 0);
  const worst = rows.filter((r) => Number.isFinite(r.ratio)).reduce((w, r) => ((r.ratio as number) > (w.ratio as number) ? r : w), rows[0]);
  const full = rows.filter((r) => r.batch === N);
  const findings = [
    `Shared-tail FOMAML is significantly worse than separate-tail (paired over ${evalTasks} held-out tasks, 95%) in ${worse.length} of ${rows.length} cells${better.length ? ` and significantly better in ${better.length}` : ''}; the worst cell is batch ${worst.batch}, k = ${worst.steps}, where shared-tail's MSE is ${fmtNum(worst.ratio as number)}× separate-tail's.`,
    full.length
      ? `With full batches (${N} points) the shared tail is the inner loop's own data: the ratio over k = ${steps.join(', ')} is ${full.map((r) => fmtNum(r.ratio as number)).join(', ')}. The outer gradient is then taken on points the network has just fitted, so it carries less of the information a separate tail gives about generalising from the training points.`
      : '',
    `Reptile (no tail) over the cells: ${rows.map((r) => fmtNum(r.reptile as number)).join(', ')} (same order as the table). In the paper (Omniglot) shared-tail FOMAML degrades as the overlap between the inner-loop data and the tail grows (more steps, larger batches) while separate-tail FOMAML and Reptile do not; compare the table's ratio column along k and along the batch size.`,
    divergedRows.length
      ? `Diverged inner loops: ${divergedRows.map((r) => `batch ${r.batch}, k = ${r.steps}: ${r.diverged}`).join('; ')} (outer steps skipped because the direction was not finite; held-out tasks whose adapted MSE is not finite or above ${BLOWUP}). The learned initialisation is then one from which plain SGD on some tasks blows up. Means are over the other held-out tasks; a cell with none is left blank in the figure.`
      : 'No run diverged (every inner loop stayed finite).',
    `Wall time ${wall.toFixed(0)} s; one training run per cell and variant (the ± are over held-out tasks, not over training seeds).`,
  ].filter(Boolean);
  return {
    settings: { task: 'sinusoid (MAML form)', steps, batches: sizes, trainPoints: N, iterations, metaBatch: T, innerLr, metaLr, adamBetas: [0, 0.999], evalTasks, query: Q, hidden, activation: 'relu', seed: ctx.seed },
    table,
    svg,
    findings,
    data: { results: sizes.map((B, bi) => ({ batch: B, cells: steps.map((k, si) => ({ steps: k, ...Object.fromEntries(TAIL_VARIANTS.map((v, vi) => [v, { mean: mean(results[bi][si][vi]), ci95: ci95(results[bi][si][vi]) }])) })) })) },
  };
}

/** The `tails` study. */
export const tailsStudy: Study = {
  name: 'tails',
  title: 'First-order MAML with shared-tail versus separate-tail minibatches',
  summary: 'FOMAML shared vs separate tail minibatch (and Reptile) over inner steps and batch sizes (sinusoid)',
  options: OPTIONS,
  usage: `  [--steps K,K,..]     inner step counts (default ${DEFAULTS.steps.join(',')})
  [--batches B,B,..]   minibatch sizes (default ${DEFAULTS.batches.join(',')})
  [--train-points N]   training points per task (default ${DEFAULTS.trainPoints})
  [--iterations N]     outer steps per cell and variant (default ${DEFAULTS.iterations})
  [--meta-batch T]     tasks per outer step (default ${DEFAULTS.metaBatch})
  [--inner-lr A]       inner SGD rate (default ${DEFAULTS.innerLr})
  [--meta-lr LR]       Adam's rate (default ${DEFAULTS.metaLr})
  [--eval-tasks N]     held-out tasks (default ${DEFAULTS.evalTasks})
  [--query Q]          held-out query points per task (default ${DEFAULTS.query})
  [--hidden H,H,..]    hidden widths of the ReLU MLP (default ${DEFAULTS.hidden.join(',')})`,
  run,
};
