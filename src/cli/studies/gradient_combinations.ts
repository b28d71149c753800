/**
 * `metagrad study gradient-combinations`: Nichol et al. (2018), section 6 (the figure of g1..g4),
 * on the sinusoid task instead of Omniglot. The inner loop takes 4 SGD steps on 4 non-overlapping
 * minibatches of a task; g_i is the gradient on minibatch i at phi_{i-1}. Each variant meta-trains
 * a network whose outer update follows one combination:
 *   g1 (joint training: the gradient at theta itself), g2, g3, g4 (first-order MAML with 1, 2, 3
 *   inner steps), g1+g2, g1+g2+g3, g1+g2+g3+g4 (Reptile with 2, 3, 4 steps: (theta - phi_k)/alpha).
 * The direction, averaged over the meta-batch, is given to Adam (beta1 = 0, as in the paper's
 * Omniglot runs) as the gradient, the same for every variant, so the variants differ only in
 * direction. Meta-test: after every `--eval-every` outer steps, fixed held-out tasks are adapted
 * with the same 4-step inner loop and scored by the MSE on separate query points.
 * Every variant of a seed starts from the same initialisation and sees the same tasks.
 */
import * as mg from '../../index.js';
import { intOpt, numOpt } from '../args.js';
import { barChart, COLORS, figure, fmtNum, lineChart, type LineSeries } from '../svg.js';
import { intListOpt } from './options.js';
import { adaptedMse, initMlp, innerLoop, sampleTasks, slicePoints, taskMean } from './sinusoid.js';
import { ci95, mean } from './stats.js';
import type { Study, StudyContext, StudyOutput } from './study.js';

type Tensor = mg.Tensor;

/** The seven outer-update directions: which g_i are summed. */
export const COMBINATIONS: readonly { name: string; label: string; terms: readonly number[] }[] = [
  { name: 'g1', label: 'g1 (joint training)', terms: [1] },
  { name: 'g2', label: 'g2 (FOMAML, 1 step)', terms: [2] },
  { name: 'g3', label: 'g3 (FOMAML, 2 steps)', terms: [3] },
  { name: 'g4', label: 'g4 (FOMAML, 3 steps)', terms: [4] },
  { name: 'g1+g2', label: 'g1+g2 (Reptile, 2 steps)', terms: [1, 2] },
  { name: 'g1+g2+g3', label: 'g1+g2+g3 (Reptile, 3 steps)', terms: [1, 2, 3] },
  { name: 'g1+g2+g3+g4', label: 'g1+..+g4 (Reptile, 4 steps)', terms: [1, 2, 3, 4] },
];

/**
 * The outer direction of a combination from the inner loop's per-task gradients (`grads[i]`: step
 * i+1's, [T, ...]): the mean over tasks of the sum of the chosen g_i, in the shapes of `params`.
 */
export function combinedDirection(grads: readonly (readonly Tensor[])[], terms: readonly number[], params: readonly Tensor[]): Tensor[] {
  for (const t of terms) if (!(Number.isInteger(t) && t >= 1 && t <= grads.length)) throw new Error(`combinedDirection: term g${t} needs ${t} inner steps, the loop has ${grads.length}`);
  const sum = params.map((_, p) => terms.map((t) => grads[t - 1][p]).reduce((a, b) => a.add(b)));
  return taskMean(sum, params);
}

const OPTIONS = {
  iterations: { type: 'string' },
  'meta-batch': { type: 'string' },
  batch: { type: 'string' },
  'inner-lr': { type: 'string' },
  'meta-lr': { type: 'string' },
  'eval-every': { type: 'string' },
  'eval-tasks': { type: 'string' },
  query: { type: 'string' },
  seeds: { type: 'string' },
  hidden: { type: 'string' },
} as const;

const DEFAULTS = { iterations: 3000, metaBatch: 5, batch: 10, innerLr: 0.02, metaLr: 0.001, evalEvery: 100, evalTasks: 200, query: 50, seeds: 2, hidden: [40, 40] };
const MINIBATCHES = 4;

async function run(values: Record<string, string | boolean | undefined>, ctx: StudyContext): Promise<StudyOutput> {
  const iterations = intOpt(values, 'iterations', DEFAULTS.iterations);
  const T = intOpt(values, 'meta-batch', DEFAULTS.metaBatch);
  const B = intOpt(values, 'batch', DEFAULTS.batch);
  const innerLr = numOpt(values, 'inner-lr', DEFAULTS.innerLr);
  const metaLr = numOpt(values, 'meta-lr', DEFAULTS.metaLr);
  const evalEvery = Math.min(intOpt(values, 'eval-every', DEFAULTS.evalEvery), iterations);
  const evalTasks = intOpt(values, 'eval-tasks', DEFAULTS.evalTasks);
  const Q = intOpt(values, 'query', DEFAULTS.query);
  const seeds = intOpt(values, 'seeds', DEFAULTS.seeds);
  const hidden = intListOpt(values, 'hidden', DEFAULTS.hidden);
  const activation = 'relu' as const;

  // Held-out tasks: 4 minibatches to adapt on, Q query points to score (a seed apart from training).
  mg.manualSeed(ctx.seed * 7919 + 104_729);
  const evalSet = mg.tidy(() => {
    const p = sampleTasks(evalTasks, MINIBATCHES * B + Q);
    return { batches: Array.from({ length: MINIBATCHES }, (_, i) => slicePoints(p, i * B, (i + 1) * B)), query: slicePoints(p, MINIBATCHES * B, MINIBATCHES * B + Q) };
  });

  const evalIts = Array.from({ length: Math.floor(iterations / evalEvery) + 1 }, (_, i) => i * evalEvery);
  if (evalIts.at(-1) !== iterations) evalIts.push(iterations);
  // curves[c][s][e]: mean held-out MSE of combination c, seed s, at evalIts[e]; finals: per-task MSEs at the end.
  const curves: number[][][] = COMBINATIONS.map(() => []);
  const finals: number[][] = COMBINATIONS.map(() => []);
  const totalWork = seeds * COMBINATIONS.length * iterations;
  let done = 0;
  const t0 = Date.now();
  const seconds: number[] = COMBINATIONS.map(() => 0);
  try {
    for (let s = 0; s < seeds; s++) {
      for (let c = 0; c < COMBINATIONS.length; c++) {
        const comb = COMBINATIONS[c];
        const tc = Date.now();
        mg.manualSeed(ctx.seed * 1_000_003 + s);
        const params = initMlp(hidden);
        const opt = new mg.optim.Adam(params, { lr: metaLr, betas: [0, 0.999] });
        const steps = Math.max(...comb.terms);
        const curve: number[] = [];
        const evaluate = () => adaptedMse(params, evalSet.batches, evalSet.query, innerLr, activation);
        for (let it = 0; it <= iterations; it++) {
          if (evalIts.includes(it)) {
            const mses = evaluate();
            curve.push(mean(mses));
            if (it === iterations) finals[c].push(...mses);
          }
          if (it === iterations) break;
          // The same tasks for every combination of a seed.
          mg.manualSeed(((ctx.seed * 1_000_003 + s) * 1_000_033 + it + 1) % 2 ** 52);
          mg.tidy(() => {
            const pts = sampleTasks(T, MINIBATCHES * B);
            const batches = Array.from({ length: steps }, (_, i) => slicePoints(pts, i * B, (i + 1) * B));
            const { grads } = innerLoop(params, batches, innerLr, activation);
            const dir = combinedDirection(grads, comb.terms, params);
            params.forEach((p, i) => (p.grad = mg.keep(dir[i])));
            opt.step();
            opt.zeroGrad();
          });
          done++;
          if (done % 20 === 0) ctx.progress(done, totalWork, `seed ${s + 1}/${seeds}: ${comb.name}`);
        }
        curves[c].push(curve);
        opt.dispose?.();
        params.forEach((p) => p.dispose());
        seconds[c] += (Date.now() - tc) / 1000;
      }
    }
  } finally {
    for (const b of [...evalSet.batches, evalSet.query]) (b.x.dispose(), b.y.dispose());
  }
  ctx.progress(totalWork, totalWork, 'done');
  const wall = (Date.now() - t0) / 1000;

  // Table: the final held-out MSE (pooled over seeds' tasks), and the mean over the last quarter of the curve.
  const lastQuarter = evalIts.map((it, e) => (it >= 0.75 * iterations ? e : -1)).filter((e) => e >= 0);
  const ref = COMBINATIONS.length - 1; // Reptile with 4 steps
  const rows = COMBINATIONS.map((comb, c) => {
    const late = curves[c].map((cv) => mean(lastQuarter.map((e) => cv[e])));
    // Paired over the same held-out tasks (and seeds): this combination minus the 4-step sum.
    const diff = finals[c].map((v, i) => v - finals[ref][i]);
    return {
      combination: comb.label,
      final: mean(finals[c]),
      ci: ci95(finals[c]),
      diff: c === ref ? null : mean(diff),
      diffCi: c === ref ? null : ci95(diff),
      lateMean: mean(late),
      initial: mean(curves[c].map((cv) => cv[0])),
      seconds: seconds[c],
    };
  });
  const table = {
    columns: [
      { key: 'combination', label: 'outer direction' },
      { key: 'final', label: `held-out MSE after ${iterations} its (4 adaptation steps)` },
      { key: 'ci', label: '± 95% (tasks)', digits: 2 },
      { key: 'diff', label: 'minus g1+..+g4 (paired)' },
      { key: 'diffCi', label: '± 95%', digits: 2 },
      { key: 'lateMean', label: 'mean over last quarter of training' },
      { key: 'initial', label: 'at initialisation' },
      { key: 'seconds', label: 'seconds', digits: 3 },
    ],
    rows,
  };

  const curvePanel = (r: Parameters<typeof lineChart>[0]) => {
    const series: LineSeries[] = COMBINATIONS.map((comb, c) => {
      const y = evalIts.map((_, e) => mean(curves[c].map((cv) => cv[e])));
      const lo = evalIts.map((_, e) => Math.min(...curves[c].map((cv) => cv[e])));
      const hi = evalIts.map((_, e) => Math.max(...curves[c].map((cv) => cv[e])));
      return { label: comb.label, x: evalIts, y, lo: seeds > 1 ? lo : undefined, hi: seeds > 1 ? hi : undefined, color: COLORS[c], dash: comb.terms.length > 1 ? undefined : '6 3' };
    });
    return lineChart({ ...r, w: r.w - 210 }, { title: 'meta-test: held-out MSE after 4 adaptation steps', x: { label: 'outer iteration' }, y: { label: 'MSE (log scale)', log: true }, series, legend: 'outside-right' });
  };
  const barPanel = (r: Parameters<typeof barChart>[0]) =>
    barChart(r, {
      title: 'final held-out MSE (± 95% over tasks)',
      groups: COMBINATIONS.map((c) => c.name.replace('g1+g2+g3+g4', 'g1+..+g4')),
      series: [{ label: 'final MSE', values: rows.map((x) => x.final), lo: rows.map((x) => x.final - x.ci), hi: rows.map((x) => x.final + x.ci), color: COLORS[0] }],
      y: { label: 'MSE' },
      legend: 'none',
    });
  const svg = figure({
    title: 'Inner-loop gradient combinations (Nichol et al. 2018, sinusoid)',
    subtitle: `1-${hidden.join('-')}-1 ReLU; 4 minibatches of ${B} points per task, inner SGD lr ${innerLr}; Adam(lr ${metaLr}, beta1 0), meta-batch ${T}; ${seeds} seed${seeds > 1 ? 's (band: min-max)' : ''}; ${evalTasks} held-out tasks`,
    panels: [curvePanel, barPanel],
    cols: 1,
    panelWidth: 1000,
    panelHeight: 400,
  });

  const byName = Object.fromEntries(COMBINATIONS.map((c, i) => [c.name, rows[i]]));
  const order = [...rows].sort((a, b) => a.final - b.final);
  const f = (n: string) => fmtNum(byName[n].final);
  // Instability: a mean curve that climbs to more than twice its running minimum.
  const unstable = COMBINATIONS.map((comb, c) => {
    const y = evalIts.map((_, e) => mean(curves[c].map((cv) => cv[e])));
    let best = Infinity;
    let peak = 0;
    let at = 0;
    y.forEach((v, e) => {
      best = Math.min(best, v);
      if (v / best > peak) [peak, at] = [v / best, evalIts[e]];
    });
    return { name: comb.name, peak, at, value: y[evalIts.indexOf(at)] };
  }).filter((u) => u.peak > 2);
  const findings = [
    `Ranking by final held-out MSE (lower is better): ${order.map((r) => `${r.combination.split(' ')[0]} ${fmtNum(r.final)}`).join(' < ')}. Paired over the same held-out tasks, ${rows.filter((r) => r.diff !== null && r.diff - (r.diffCi ?? 0) > 0).map((r) => r.combination.split(' ')[0]).join(', ') || 'no combination'} ${rows.filter((r) => r.diff !== null && r.diff - (r.diffCi ?? 0) > 0).length === 1 ? 'is' : 'are'} significantly worse than the 4-step sum (95%), and ${rows.filter((r) => r.diff !== null && r.diff + (r.diffCi ?? 0) < 0).map((r) => r.combination.split(' ')[0]).join(', ') || 'none'} significantly better.`,
    `Joint training (g1) ends at ${f('g1')}: it learns the average function, which few steps of fine-tuning cannot turn into a given sinusoid; every direction that contains a gradient taken after adaptation (g2, g3, g4 and the sums) ${rows.slice(1).every((r) => r.final < byName.g1.final) ? 'does better' : 'does not always do better'}.`,
    `First-order MAML with more inner steps: g2 ${f('g2')}, g3 ${f('g3')}, g4 ${f('g4')}. Adding g1 to the sum (Reptile): g1+g2 ${f('g1+g2')}, g1+g2+g3 ${f('g1+g2+g3')}, g1+..+g4 ${f('g1+g2+g3+g4')}. In the paper (Omniglot) the sums learn fastest and g1 alone fails; here ${byName['g1+g2+g3+g4'].final < byName.g4.final ? 'the 4-step sum beats g4 alone' : 'g4 alone is at least as good as the 4-step sum'}${byName['g1+g2'].final < byName.g2.final ? ', and g1+g2 beats g2' : ', and g2 alone is at least as good as g1+g2'}.`,
    unstable.length
      ? `Unstable training: ${unstable.map((u) => `${u.name} climbs to ${fmtNum(u.value)} at iteration ${u.at} (${u.peak.toFixed(1)}× its best so far)`).join('; ')}. The sums that include g1 show no such jumps${unstable.some((u) => u.name.startsWith('g1+')) ? ' except those listed' : ''}.`
      : 'No combination\'s meta-test curve climbs above twice its running minimum (training is stable for all seven).',
    `Task: sinusoid (the paper uses Omniglot). ${seeds} seed${seeds > 1 ? 's' : ''} per combination, same initialisation and tasks for all; the ± column is over the ${evalTasks} held-out tasks${seeds > 1 ? ' pooled over the seeds' : ''}, not over seeds. Wall time ${wall.toFixed(0)} s.`,
  ];
  return {
    settings: { task: 'sinusoid (MAML form)', iterations, metaBatch: T, minibatches: MINIBATCHES, batch: B, innerLr, metaLr, adamBetas: [0, 0.999], evalEvery, evalTasks, query: Q, seeds, hidden, activation, seed: ctx.seed },
    table,
    svg,
    findings,
    data: { evalIterations: evalIts, curves: Object.fromEntries(COMBINATIONS.map((c, i) => [c.name, curves[i]])) },
  };
}

/** The `gradient-combinations` study. */
export const gradientCombinationsStudy: Study = {
  name: 'gradient-combinations',
  title: 'Inner-loop gradient combinations g1..g4 as outer updates (Nichol et al. 2018)',
  summary: 'meta-test curves for outer updates along g1, g2, g3, g4, g1+g2, g1+g2+g3, g1+..+g4 (sinusoid)',
  options: OPTIONS,
  usage: `  [--iterations N]   outer steps per combination (default ${DEFAULTS.iterations})
  [--meta-batch T]   tasks per outer step (default ${DEFAULTS.metaBatch})
  [--batch B]        points per inner minibatch; 4 minibatches per task (default ${DEFAULTS.batch})
  [--inner-lr A]     inner SGD rate (default ${DEFAULTS.innerLr})
  [--meta-lr LR]     Adam's rate for the outer update (default ${DEFAULTS.metaLr})
  [--eval-every N]   outer steps between meta-test evaluations (default ${DEFAULTS.evalEvery})
  [--eval-tasks N]   held-out tasks (default ${DEFAULTS.evalTasks})
  [--query Q]        held-out query points per task (default ${DEFAULTS.query})
  [--seeds S]        training runs per combination (default ${DEFAULTS.seeds})
  [--hidden H,H,..]  hidden widths of the ReLU MLP (default ${DEFAULTS.hidden.join(',')})`,
  run,
};
