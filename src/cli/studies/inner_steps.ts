/**
 * `metagrad study inner-steps`: Antoniou et al. (2019), "How to train your MAML": second-order
 * MAML with deeper inner loops, with and without the multi-step loss (MSL), on the sinusoid task.
 * For each number of inner steps k and each loss, MAML meta-trains the 1-40-40-1 ReLU network
 * (task-batched, second order through the whole unroll) and records, every iteration, the
 * meta-gradient of each parameter tensor: its largest and smallest entry and its norm; and the
 * meta-training loss (the query loss after the k-th step). Gradient degradation (meta-gradients
 * that vanish or explode as the unroll deepens) shows as per-layer norms that fall or blow up with
 * k, spikes of the largest entry, and unstable loss curves.
 *
 * MSL (Antoniou et al.'s annealing): the meta-loss is sum_i w_i L_query(phi_i) over the k steps;
 * the weights start uniform (1/k) and, over the first `--msl-anneal` fraction of the iterations,
 * the non-final ones decay linearly to 0.03/k while the last one grows to 1 - (k-1) 0.03/k.
 */
import * as mg from '../../index.js';
import { intOpt, numOpt } from '../args.js';
import { COLORS, figure, fmtNum, lineChart, type LineSeries } from '../svg.js';
import { intListOpt } from './options.js';
import { initMlp, paramNames, sampleTasks, slicePoints, type Points } from './sinusoid.js';
import { ci95, mean, median } from './stats.js';
import type { Study, StudyContext, StudyOutput } from './study.js';

type Tensor = mg.Tensor;

/** Antoniou et al.'s per-step loss weights for k steps at annealing progress p in [0, 1]. */
export function mslWeights(k: number, p: number): number[] {
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`mslWeights: k must be a positive integer, got ${k}`);
  const q = Math.min(Math.max(p, 0), 1);
  const floor = 0.03 / k;
  const w = Array.from({ length: k }, () => Math.max(1 / k - q / k, floor));
  w[k - 1] = Math.min(1 / k + (q * (k - 1)) / k, 1 - (k - 1) * floor);
  if (k === 1) w[0] = 1;
  return w;
}

/**
 * One second-order MAML meta-loss for a task batch: k task-batched inner SGD steps from the shared
 * `params`, the query loss after the last step (`last`, the mean over tasks) and the meta-loss:
 * `last`, or with `weights` (MSL, one per step) the weighted sum of the query losses after each
 * step.
 */
export function mamlMetaLoss(params: readonly Tensor[], support: Points, query: Points, k: number, lr: number, weights: readonly number[] | null): { meta: Tensor; last: Tensor } {
  if (weights !== null && weights.length !== k) throw new Error(`mamlMetaLoss: ${weights.length} weights for ${k} steps`);
  let phi: Tensor[] = [...params];
  const perStep: Tensor[] = [];
  for (let i = 0; i < k; i++) {
    phi = mg.meta.batchedAdapt(phi, support, { innerSteps: 1, innerLr: lr, activation: 'relu' });
    if (weights !== null || i === k - 1) perStep.push(mg.meta.taskMseLoss(mg.meta.mlpForward(phi, query.x), query.y).mean());
  }
  const last = perStep[perStep.length - 1];
  const meta = weights === null ? last : perStep.map((l, i) => l.mul(weights[i])).reduce((a, b) => a.add(b));
  return { meta, last };
}

/** Per-tensor statistics of a gradient: its largest and smallest entry and its norm. */
export interface GradStats {
  max: number;
  min: number;
  norm: number;
}

function gradStats(g: Tensor): GradStats {
  const v = g.data();
  let max = -Infinity;
  let min = Infinity;
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    if (v[i] > max) max = v[i];
    if (v[i] < min) min = v[i];
    s += v[i] * v[i];
  }
  return { max, min, norm: Math.sqrt(s) };
}

const OPTIONS = {
  steps: { type: 'string' },
  iterations: { type: 'string' },
  'meta-batch': { type: 'string' },
  'inner-lr': { type: 'string' },
  'meta-lr': { type: 'string' },
  shots: { type: 'string' },
  'msl-anneal': { type: 'string' },
  'eval-tasks': { type: 'string' },
  hidden: { type: 'string' },
} as const;

const DEFAULTS = { steps: [1, 2, 3, 4, 5, 10], iterations: 1000, metaBatch: 10, innerLr: 0.01, metaLr: 0.001, shots: 10, mslAnneal: 0.25, evalTasks: 300, hidden: [40, 40] };

interface RunRecord {
  steps: number;
  msl: boolean;
  loss: number[];
  /** stats[iteration][tensor] */
  stats: GradStats[][];
  heldOut: number[];
  nonFinite: number;
  seconds: number;
}

async function run(values: Record<string, string | boolean | undefined>, ctx: StudyContext): Promise<StudyOutput> {
  const steps = [...new Set(intListOpt(values, 'steps', DEFAULTS.steps))].sort((a, b) => a - b);
  const iterations = intOpt(values, 'iterations', DEFAULTS.iterations);
  const T = intOpt(values, 'meta-batch', DEFAULTS.metaBatch);
  const innerLr = numOpt(values, 'inner-lr', DEFAULTS.innerLr);
  const metaLr = numOpt(values, 'meta-lr', DEFAULTS.metaLr);
  const K = intOpt(values, 'shots', DEFAULTS.shots);
  const anneal = numOpt(values, 'msl-anneal', DEFAULTS.mslAnneal, false);
  const evalTasks = intOpt(values, 'eval-tasks', DEFAULTS.evalTasks);
  const hidden = intListOpt(values, 'hidden', DEFAULTS.hidden);

  mg.manualSeed(ctx.seed * 7919 + 32_452_843);
  const evalSet = mg.tidy(() => {
    const p = sampleTasks(evalTasks, 2 * K);
    return { support: slicePoints(p, 0, K), query: slicePoints(p, K, 2 * K) };
  });
  const runs: RunRecord[] = [];
  const totalWork = 2 * iterations * steps.reduce((a, b) => a + b, 0);
  let done = 0;
  const t0 = Date.now();
  try {
    for (const msl of [false, true]) {
      for (const k of steps) {
        const tr = Date.now();
        mg.manualSeed(ctx.seed * 1_000_003 + 29);
        const params = initMlp(hidden);
        const opt = new mg.optim.Adam(params, { lr: metaLr });
        const rec: RunRecord = { steps: k, msl, loss: [], stats: [], heldOut: [], nonFinite: 0, seconds: 0 };
        for (let it = 0; it < iterations; it++) {
          mg.manualSeed(((ctx.seed * 1_000_003 + 29) * 1_000_033 + it + 1) % 2 ** 52);
          mg.tidy(() => {
            const pts = sampleTasks(T, 2 * K);
            const weights = msl && k > 1 ? mslWeights(k, anneal > 0 ? it / (anneal * iterations) : 1) : null;
            const { meta, last } = mamlMetaLoss(params, slicePoints(pts, 0, K), slicePoints(pts, K, 2 * K), k, innerLr, weights);
            rec.loss.push(last.item());
            const grads = mg.grad(meta, params) as Tensor[];
            const st = grads.map(gradStats);
            rec.stats.push(st);
            if (st.some((s) => !Number.isFinite(s.norm))) {
              rec.nonFinite++;
              return; // skip the update: Adam would turn a non-finite gradient into NaN parameters
            }
            params.forEach((p, i) => (p.grad = mg.keep(grads[i])));
            opt.step();
            opt.zeroGrad();
          });
          done += k;
          if (it % 20 === 0) ctx.progress(done, totalWork, `${msl ? 'MSL' : 'last-step loss'}, k = ${k}`);
        }
        // Held-out: adapt with the same k steps (graph-free) and score the query points.
        rec.heldOut = mg.tidy(() => {
          let phi: Tensor[] = [...params];
          for (let i = 0; i < k; i++) phi = mg.meta.batchedAdapt(phi.map((p) => p.detach().requiresGrad_()), evalSet.support, { innerSteps: 1, innerLr, firstOrder: true, activation: 'relu' });
          return Array.from(mg.noGrad(() => mg.meta.taskMseLoss(mg.meta.mlpForward(phi, evalSet.query.x), evalSet.query.y)).data());
        });
        rec.seconds = (Date.now() - tr) / 1000;
        runs.push(rec);
        opt.dispose?.();
        params.forEach((p) => p.dispose());
      }
    }
  } finally {
    for (const b of [evalSet.support, evalSet.query]) (b.x.dispose(), b.y.dispose());
  }
  ctx.progress(totalWork, totalWork, 'done');
  const wall = (Date.now() - t0) / 1000;

  const names = paramNames(2 * (hidden.length + 1));
  const tail = Math.max(1, Math.floor(iterations / 10));
  const summary = runs.map((r) => {
    const finite = r.stats.filter((s) => s.every((x) => Number.isFinite(x.norm)));
    const normMed = names.map((_, j) => median(finite.map((s) => s[j].norm)));
    const maxAbs = names.map((_, j) => Math.max(...finite.map((s) => Math.max(Math.abs(s[j].max), Math.abs(s[j].min)))));
    const lateLoss = mean(r.loss.slice(-tail));
    return { r, normMed, maxAbs, lateLoss, heldOut: mean(r.heldOut), heldOutCi: ci95(r.heldOut), maxEntry: Math.max(...finite.map((s) => Math.max(...s.map((x) => x.max)))), minEntry: Math.min(...finite.map((s) => Math.min(...s.map((x) => x.min)))) };
  });
  const table = {
    columns: [
      { key: 'steps', label: 'inner steps k' },
      { key: 'loss', label: 'loss' },
      { key: 'late', label: `meta-loss (last ${tail} its)` },
      { key: 'heldOut', label: 'held-out MSE after k steps' },
      { key: 'heldOutCi', label: '±', digits: 2 },
      ...names.map((n) => ({ key: `norm_${n}`, label: `|∇${n}| (median)`, digits: 3 })),
      { key: 'maxEntry', label: 'max entry', digits: 3 },
      { key: 'minEntry', label: 'min entry', digits: 3 },
      { key: 'nonFinite', label: 'non-finite its' },
      { key: 'seconds', label: 'seconds', digits: 3 },
    ],
    rows: summary.map((s) => ({
      steps: s.r.steps,
      loss: s.r.msl ? 'MSL' : 'last step',
      late: s.lateLoss,
      heldOut: s.heldOut,
      heldOutCi: s.heldOutCi,
      ...Object.fromEntries(names.map((n, j) => [`norm_${n}`, s.normMed[j]])),
      maxEntry: s.maxEntry,
      minEntry: s.minEntry,
      nonFinite: s.r.nonFinite,
      seconds: s.r.seconds,
    })),
  };

  // Figure.
  const smooth = (v: readonly number[], w: number) => v.map((_, i) => mean(v.slice(Math.max(0, i - w + 1), i + 1).filter(Number.isFinite)));
  const every = Math.max(1, Math.floor(iterations / 200));
  const its = Array.from({ length: iterations }, (_, i) => i + 1);
  const pick = <T,>(v: readonly T[]) => v.filter((_, i) => i % every === every - 1 || i === v.length - 1);
  const lossPanel = (msl: boolean) => (r: Parameters<typeof lineChart>[0]) =>
    lineChart(r, {
      title: `meta-training loss, ${msl ? 'multi-step loss (MSL)' : 'last-step loss'} (moving average of ${Math.max(1, Math.floor(iterations / 50))})`,
      x: { label: 'iteration' },
      y: { label: 'query MSE after k steps (log)', log: true },
      series: runs.filter((x) => x.msl === msl).map((x, i) => ({ label: `k = ${x.steps}`, x: pick(its), y: pick(smooth(x.loss, Math.max(1, Math.floor(iterations / 50)))), color: COLORS[i % COLORS.length] })),
      legend: 'top-right',
    });
  const layerPanel = (which: 'norm' | 'max') => (r: Parameters<typeof lineChart>[0]) => {
    const series: LineSeries[] = [];
    names.forEach((n, j) => {
      for (const msl of [false, true]) {
        const rs = summary.filter((s) => s.r.msl === msl);
        series.push({ label: msl ? undefined : n, x: rs.map((s) => s.r.steps), y: rs.map((s) => (which === 'norm' ? s.normMed[j] : s.maxAbs[j])), color: COLORS[j % COLORS.length], markers: true, dash: msl ? '5 3' : undefined });
      }
    });
    series.push({ label: 'MSL (dashed)', x: [], y: [], color: '#555', dash: '5 3' });
    return lineChart({ ...r, w: r.w - 110 }, {
      title: which === 'norm' ? 'meta-gradient norm per tensor (median over training)' : 'largest |meta-gradient entry| per tensor over training',
      x: { label: 'inner steps k', log: true, ticks: steps, format: String },
      y: { label: which === 'norm' ? 'norm (log)' : 'max |entry| (log)', log: true },
      series,
      legend: 'outside-right',
    });
  };
  const svg = figure({
    title: 'Deeper inner loops in second-order MAML, with and without the multi-step loss (Antoniou et al. 2019)',
    subtitle: `sinusoid, 1-${hidden.join('-')}-1 ReLU, ${K} shots; inner SGD lr ${innerLr}; Adam(lr ${metaLr}), meta-batch ${T}, ${iterations} iterations per run; MSL annealed over the first ${Math.round(anneal * 100)}%`,
    panels: [lossPanel(false), lossPanel(true), layerPanel('norm'), layerPanel('max')],
    cols: 2,
    panelWidth: 560,
    panelHeight: 380,
  });

  const stride = Math.max(1, Math.ceil(iterations / 500));
  const thin = (v: readonly number[]) => v.filter((_, i) => i % stride === 0).map((x) => (Number.isFinite(x) ? Number(x.toPrecision(5)) : null));
  const plain = summary.filter((s) => !s.r.msl);
  const withMsl = summary.filter((s) => s.r.msl);
  const first = plain[0];
  const last = plain[plain.length - 1];
  const ratioFirstLast = (s: (typeof summary)[number]) => s.normMed[0] / s.normMed[s.normMed.length - 2];
  // Overall size: the norm of the per-tensor median norms; and the largest entry.
  const size = (s: (typeof summary)[number]) => Math.hypot(...s.normMed);
  const growth = size(last) / size(first);
  const peak = (s: (typeof summary)[number]) => Math.max(...s.maxAbs);
  const peakGrowth = peak(last) / peak(first);
  const trend =
    growth > 3 || peakGrowth > 10
      ? `the meta-gradients explode as the unroll deepens: their overall norm grows ${fmtNum(growth)}× and the largest entry ${fmtNum(peakGrowth)}× from k = ${first.r.steps} to k = ${last.r.steps}`
      : growth < 1 / 3
        ? `the meta-gradients vanish as the unroll deepens: their overall norm falls to ${fmtNum(growth)}× from k = ${first.r.steps} to k = ${last.r.steps}`
        : `no gradient degradation: the overall norm changes by ${fmtNum(growth)}× and the largest entry by ${fmtNum(peakGrowth)}× from k = ${first.r.steps} to k = ${last.r.steps}`;
  const share = ratioFirstLast(last) / ratioFirstLast(first);
  const findings = [
    `Per-tensor meta-gradient norms (median over training, last-step loss) from k = ${first.r.steps} to k = ${last.r.steps}: ${names.map((n, j) => `${n} ${fmtNum(first.normMed[j])} → ${fmtNum(last.normMed[j])}`).join(', ')}: ${trend}. The first layer's weight gradient relative to the last layer's is ${fmtNum(ratioFirstLast(first))} at k = ${first.r.steps} and ${fmtNum(ratioFirstLast(last))} at k = ${last.r.steps}${share < 0.5 ? ': the early layers get a smaller share as the unroll deepens' : share > 2 ? ': the early layers get a larger share as the unroll deepens' : ' (the layers keep their shares)'}.`,
    `Largest meta-gradient entry over training (last-step loss): ${plain.map((s) => `k=${s.r.steps} ${fmtNum(Math.max(...s.maxAbs))}`).join(', ')}; with MSL: ${withMsl.map((s) => `k=${s.r.steps} ${fmtNum(Math.max(...s.maxAbs))}`).join(', ')}.${summary.some((s) => s.r.nonFinite > 0) ? ` Non-finite meta-gradients (update skipped): ${summary.filter((s) => s.r.nonFinite > 0).map((s) => `k=${s.r.steps}${s.r.msl ? ' MSL' : ''}: ${s.r.nonFinite}`).join(', ')}.` : ' No meta-gradient was ever non-finite.'}`,
    `Meta-loss over the last ${tail} iterations, last-step loss: ${plain.map((s) => `k=${s.r.steps} ${fmtNum(s.lateLoss)}`).join(', ')}; MSL: ${withMsl.map((s) => `k=${s.r.steps} ${fmtNum(s.lateLoss)}`).join(', ')}. Held-out MSE after k adaptation steps: ${plain.map((s) => `k=${s.r.steps} ${fmtNum(s.heldOut)}`).join(', ')} (last-step loss) and ${withMsl.map((s) => `k=${s.r.steps} ${fmtNum(s.heldOut)}`).join(', ')} (MSL).`,
    `Wall time ${wall.toFixed(0)} s. One training run per setting (same initialisation and tasks for all); the held-out ± is over ${evalTasks} tasks.`,
  ];
  return {
    settings: { task: 'sinusoid (MAML form)', steps, iterations, metaBatch: T, innerLr, metaLr, shots: K, mslAnneal: anneal, evalTasks, hidden, activation: 'relu', secondOrder: true, seed: ctx.seed },
    table,
    svg,
    findings,
    // Per-iteration records, every `stride`-th iteration (at most ~500 per run), 5 significant digits.
    data: {
      tensors: names,
      iterations: its.filter((_, i) => i % stride === 0),
      runs: runs.map((r) => ({
        steps: r.steps, msl: r.msl,
        loss: thin(r.loss),
        max: names.map((_, j) => thin(r.stats.map((s) => s[j].max))),
        min: names.map((_, j) => thin(r.stats.map((s) => s[j].min))),
        norm: names.map((_, j) => thin(r.stats.map((s) => s[j].norm))),
      })),
    },
  };
}

/** The `inner-steps` study. */
export const innerStepsStudy: Study = {
  name: 'inner-steps',
  title: 'Second-order MAML with deeper inner loops, with and without the multi-step loss',
  summary: 'per-layer meta-gradient statistics and loss curves for 1..10 inner steps, with/without MSL (Antoniou et al.)',
  options: OPTIONS,
  usage: `  [--steps K,K,..]    inner step counts (default ${DEFAULTS.steps.join(',')})
  [--iterations N]    meta-iterations per run (default ${DEFAULTS.iterations})
  [--meta-batch T]    tasks per meta-iteration (default ${DEFAULTS.metaBatch})
  [--inner-lr A]      inner SGD rate (default ${DEFAULTS.innerLr})
  [--meta-lr LR]      Adam's rate (default ${DEFAULTS.metaLr})
  [--shots K]         support and query points per task (default ${DEFAULTS.shots})
  [--msl-anneal F]    fraction of the iterations over which MSL's weights anneal (default ${DEFAULTS.mslAnneal})
  [--eval-tasks N]    held-out tasks (default ${DEFAULTS.evalTasks})
  [--hidden H,H,..]   hidden widths of the ReLU MLP (default ${DEFAULTS.hidden.join(',')})`,
  run,
};
