/**
 * `metagrad study lslr`: the inner learning rates a MAML++ run learned (LSLR, Antoniou et al. 2019:
 * one rate per adapted parameter tensor and per inner step, initialised to the inner rate and
 * meta-learned with the initialisation), as a heat map of tensors against steps, next to their
 * ratio to the initial value.
 *
 * Two sources:
 * - `--checkpoint DIR`: a `metagrad train --algo mamlpp --task omniglot|omniglot-lake` run
 *   (DIR/config.json and DIR/model.safetensors, whose `model.innerLr.<name>` tensors hold the
 *   rates); its metrics.jsonl, when present, gives the meta-loss curve.
 * - otherwise a short MAML++ run of its own, with the switches of `metagrad train --algo mamlpp`
 *   (MSL annealed over the first `--msl-epochs` epochs, LSLR, per-step batch-norm weights and
 *   running statistics, cosine annealing of the meta rate over the run, second order), on
 *   synthetic image tasks or on Omniglot episodes with `--data PATH`. It records the rates along
 *   the way and, on held-out episodes, the accuracy after adaptation with the learned rates and
 *   with every rate set back to the initial value.
 */
import * as fs from 'node:fs';
import * as mg from '../../index.js';
import { intOpt, numOpt, UsageError } from '../args.js';
import { configPath, iterationSeed, metricsPath, modelPath } from '../common.js';
import { buildOmniglotLearner, type OmniglotRunConfig } from '../omniglot.js';
import { COLORS, figure, fmtNum, heatMap, lineChart, type LineSeries, type Panel } from '../svg.js';
import { openEpisodes, syntheticOpts } from './fewshot.js';
import { disposeTasks } from './image_tasks.js';
import { ci95, mean } from './stats.js';
import type { Study, StudyContext, StudyOutput } from './study.js';

/** The learned rates of a run: `rates[tensor][step]`. */
export interface LearnedRates {
  /** The adapted tensors, in the module's order. */
  names: string[];
  /** The value every rate started from (the run's inner rate). */
  initial: number;
  rates: number[][];
}

/** The rates of a MAML++ learner now. */
export function currentRates(learner: mg.meta.MAMLpp): number[][] {
  return learner.innerLrs.map((t) => Array.from(t.data()));
}

/**
 * Reads the learned rates of a `metagrad train --algo mamlpp` checkpoint: the config names the
 * network, whose adapted parameters give the order; the whole learner state is loaded (strictly),
 * so a damaged or foreign file is an error naming it. Also returns the config and the meta-loss
 * curve of metrics.jsonl (empty when absent).
 */
export function readLslrCheckpoint(dir: string): LearnedRates & { config: OmniglotRunConfig; iteration: number; curve: { iteration: number; loss: number }[] } {
  const cp = configPath(dir);
  const mp = modelPath(dir);
  for (const p of [cp, mp]) if (!fs.existsSync(p)) throw new UsageError(`--checkpoint: ${p} does not exist (expected the directory of a 'metagrad train --algo mamlpp' run)`);
  let cfg: OmniglotRunConfig;
  try {
    cfg = JSON.parse(fs.readFileSync(cp, 'utf8')) as OmniglotRunConfig;
  } catch (e) {
    throw new UsageError(`--checkpoint: cannot read ${cp}: ${(e as Error).message}`);
  }
  if (cfg === null || typeof cfg !== 'object' || cfg.format !== 'metagrad-cli/1' || typeof cfg.algo !== 'string') throw new UsageError(`--checkpoint: ${cp} is not a metagrad run config`);
  if (cfg.algo !== 'mamlpp') throw new UsageError(`--checkpoint: ${cp} is a '${cfg.algo}' run; learned inner rates come from 'metagrad train --algo mamlpp' (without --no-lslr)`);
  if (cfg.lslr !== true) throw new UsageError(`--checkpoint: ${cp} is a MAML++ run without learned rates (trained with --no-lslr)`);
  const learner = buildOmniglotLearner(cfg);
  const pp = learner.pp!;
  try {
    const { tensors, metadata } = mg.io.load(mp);
    try {
      const model: Record<string, mg.Tensor> = {};
      for (const [k, v] of tensors) if (k.startsWith('model.')) model[k.slice('model.'.length)] = v;
      try {
        learner.loadStateDict(model);
      } catch (e) {
        throw new Error(`readLslrCheckpoint: ${mp} does not match ${cp}: ${(e as Error).message}`);
      }
    } finally {
      for (const t of tensors.values()) t.dispose();
    }
    const iteration = Number(metadata.iteration ?? cfg.iteration);
    const curve: { iteration: number; loss: number }[] = [];
    if (fs.existsSync(metricsPath(dir))) {
      for (const line of fs.readFileSync(metricsPath(dir), 'utf8').split('\n')) {
        try {
          const r = JSON.parse(line) as { iteration?: unknown; loss?: unknown };
          // Lines past the checkpoint (logged after its last save) are not part of it.
          if (typeof r.iteration === 'number' && typeof r.loss === 'number' && !(r.iteration > iteration)) curve.push({ iteration: r.iteration, loss: r.loss });
        } catch {
          // a partial last line
        }
      }
    }
    return { names: [...pp.innerNames], initial: cfg.innerLr, rates: currentRates(pp), config: cfg, iteration, curve };
  } finally {
    learner.net.dispose();
    for (const t of pp.innerLrs) t.dispose();
  }
}

/** Per-task query accuracies after `steps` graph-free inner steps. */
function taskAccuracies(learner: mg.meta.MAMLpp, tasks: readonly mg.data.Task[], steps: number): number[] {
  return tasks.map((t) => learner.evaluateMetrics([t], { steps }).accuracy!);
}

const OPTIONS = {
  checkpoint: { type: 'string' },
  data: { type: 'string' },
  iterations: { type: 'string' },
  'inner-steps': { type: 'string' },
  'inner-lr': { type: 'string' },
  'meta-lr': { type: 'string' },
  'meta-batch': { type: 'string' },
  ways: { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  filters: { type: 'string' },
  'image-size': { type: 'string' },
  noise: { type: 'string' },
  'epoch-iterations': { type: 'string' },
  'msl-epochs': { type: 'string' },
  'eval-tasks': { type: 'string' },
} as const;

const DEFAULTS = { iterations: 300, innerSteps: 5, innerLr: 0.1, metaLr: 1e-3, metaBatch: 2, ways: 5, shots: 1, query: 5, filters: 16, imageSize: 28, noise: 1.2, epochs: 20, mslEpochs: 10, evalTasks: 100 };

/** A short MAML++ run; returns the learned rates, their trajectory, the loss curve and the held-out accuracies. */
interface OwnRun extends LearnedRates {
  /** Iterations at which `trajectory` was recorded (0: the start). */
  recorded: number[];
  /** trajectory[r][tensor][step] */
  trajectory: number[][][];
  loss: number[];
  accInit: number[];
  accLearned: number[];
  accFixed: number[];
}

function trainOwn(values: Record<string, string | boolean | undefined>, ctx: StudyContext) {
  const iterations = intOpt(values, 'iterations', DEFAULTS.iterations);
  const K = intOpt(values, 'inner-steps', DEFAULTS.innerSteps);
  const innerLr = numOpt(values, 'inner-lr', DEFAULTS.innerLr);
  const metaLr = numOpt(values, 'meta-lr', DEFAULTS.metaLr);
  const T = intOpt(values, 'meta-batch', DEFAULTS.metaBatch);
  const ways = intOpt(values, 'ways', DEFAULTS.ways, 2);
  const shots = intOpt(values, 'shots', DEFAULTS.shots);
  const query = intOpt(values, 'query', DEFAULTS.query);
  const filters = intOpt(values, 'filters', DEFAULTS.filters);
  const data = typeof values.data === 'string' ? values.data : undefined;
  const { size, noise } = syntheticOpts(values, data, { size: DEFAULTS.imageSize, noise: DEFAULTS.noise });
  const epochIterations = intOpt(values, 'epoch-iterations', Math.max(1, Math.ceil(iterations / DEFAULTS.epochs)));
  const mslEpochs = intOpt(values, 'msl-epochs', DEFAULTS.mslEpochs);
  const evalTasks = intOpt(values, 'eval-tasks', DEFAULTS.evalTasks);
  const caEpochs = Math.max(1, Math.ceil(iterations / epochIterations));

  const episodes = openEpisodes({ data, ways, shots, query, size, noise, seed: ctx.seed * 7919 + 13 });
  mg.manualSeed(ctx.seed * 1_000_003 + 31);
  const evalSet = mg.tidy(() => episodes.heldOut.sample(evalTasks));
  mg.manualSeed(ctx.seed * 1_000_003 + 37);
  const net = new mg.nn.Conv4({ ways, filters, imageSize: episodes.size, downsample: 'maxpool', bnSteps: K, perStepBnWeights: true, perStepBnStats: true });
  const learner = new mg.meta.MAMLpp(net, {
    innerSteps: K, innerLr, iterationsPerEpoch: epochIterations, multiStepLoss: true, multiStepLossEpochs: mslEpochs,
    learnInnerLr: true, cosineAnnealing: { epochs: caEpochs, etaMin: 1e-5 },
  });
  const opt = new mg.optim.Adam(learner.metaParameters(), { lr: metaLr });
  const every = Math.max(1, Math.floor(iterations / 100));
  const run: OwnRun = { names: [...learner.innerNames], initial: innerLr, rates: [], recorded: [0], trajectory: [currentRates(learner)], loss: [], accInit: [], accLearned: [], accFixed: [] };
  const evalWork = Math.max(1, Math.round(evalTasks / 10));
  const total = iterations + 3 * evalWork;
  try {
    ctx.progress(0, total, 'held-out accuracy at initialisation');
    run.accInit = taskAccuracies(learner, evalSet, K);
    for (let it = 0; it < iterations; it++) {
      mg.manualSeed(iterationSeed(ctx.seed * 7 + 3, it));
      run.loss.push(mg.tidy(() => learner.step(episodes.train.sample(T), opt)));
      if ((it + 1) % every === 0 || it + 1 === iterations) {
        run.recorded.push(it + 1);
        run.trajectory.push(currentRates(learner));
      }
      if (it % 5 === 0) ctx.progress(evalWork + it, total, `MAML++ meta-training (${iterations} iterations)`);
    }
    run.rates = currentRates(learner);
    ctx.progress(evalWork + iterations, total, 'held-out accuracy with the learned rates and with the initial rate');
    run.accLearned = taskAccuracies(learner, evalSet, K);
    mg.noGrad(() => mg.tidy(() => learner.innerLrs.forEach((t) => t.copy_(mg.full(t.shape, innerLr)))));
    run.accFixed = taskAccuracies(learner, evalSet, K);
  } finally {
    opt.dispose();
    net.dispose();
    for (const t of learner.innerLrs) (t.grad?.dispose(), t.dispose());
    disposeTasks(evalSet);
    episodes.dispose();
  }
  ctx.progress(total, total, 'done');
  const settings = { source: data === undefined ? 'own MAML++ run, synthetic tasks' : `own MAML++ run, Omniglot (${data})`, tasks: episodes.description, iterations, innerSteps: K, innerLr, metaLr, metaBatch: T, ways, shots, query, filters, imageSize: episodes.size, noise: data === undefined ? noise : null, epochIterations, mslEpochs, caEpochs, evalTasks, seed: ctx.seed };
  return { run, settings, description: episodes.description, short: episodes.short };
}

async function run(values: Record<string, string | boolean | undefined>, ctx: StudyContext): Promise<StudyOutput> {
  const t0 = Date.now();
  const ckpt = typeof values.checkpoint === 'string' ? values.checkpoint : undefined;
  if (values.checkpoint !== undefined && (ckpt === undefined || ckpt === '')) throw new UsageError('--checkpoint: expected a directory');
  if (ckpt !== undefined) {
    const own = Object.keys(OPTIONS).filter((o) => o !== 'checkpoint' && values[o] !== undefined);
    if (own.length) throw new UsageError(`--${own[0]}: with --checkpoint the study reads the rates of that run; --${own[0]} applies to its own run (without --checkpoint)`);
  }
  let lr: LearnedRates;
  let own: OwnRun | null = null;
  let curve: { iteration: number; loss: number }[] = [];
  let settings: Record<string, unknown>;
  let subtitle: string;
  let K: number;
  if (ckpt !== undefined) {
    ctx.progress(0, 1, `reading ${ckpt}`);
    const c = readLslrCheckpoint(ckpt);
    lr = c;
    curve = c.curve;
    K = c.config.innerSteps;
    const cf = c.config;
    settings = { source: `checkpoint ${ckpt}`, task: cf.task, algo: cf.algo, iteration: c.iteration, innerSteps: cf.innerSteps, innerLr: cf.innerLr, metaLr: cf.metaLr, metaBatch: cf.metaBatch, ways: cf.ways, shots: cf.shots, query: cf.query, filters: cf.filters, msl: cf.msl, bnrs: cf.bnrs, bnwb: cf.bnwb, daEpochs: cf.daEpochs, caEpochs: cf.caEpochs, seed: ctx.seed };
    subtitle = `checkpoint ${ckpt}: MAML++ on ${cf.task} (${cf.ways}-way ${cf.shots}-shot), conv4 ${cf.filters} filters, ${cf.innerSteps} inner steps from rate ${cf.innerLr}, ${c.iteration} meta-iterations (meta-batch ${cf.metaBatch})`;
    ctx.progress(1, 1, 'done');
  } else {
    const r = trainOwn(values, ctx);
    own = r.run;
    lr = own;
    K = own.rates[0].length;
    settings = r.settings;
    curve = own.loss.map((l, i) => ({ iteration: i + 1, loss: l }));
    subtitle = `own MAML++ run: ${r.short}; conv4 ${String(r.settings.filters)} filters, ${K} inner steps from rate ${own.initial}, ${String(r.settings.iterations)} meta-iterations (meta-batch ${String(r.settings.metaBatch)}, Adam ${String(r.settings.metaLr)}, MSL, BNWB, BNRS, CA)`;
  }
  const { names, initial, rates } = lr;
  const stepLabels = Array.from({ length: K }, (_, s) => `step ${s + 1}`);
  const ratio = rates.map((row) => row.map((v) => v / initial));

  const table = {
    columns: [
      { key: 'tensor', label: 'tensor' },
      { key: 'initial', label: 'initial rate', digits: 3 },
      ...stepLabels.map((l, s) => ({ key: `s${s + 1}`, label: `learned, ${l}`, digits: 3 })),
      { key: 'meanRatio', label: 'mean learned / initial', digits: 3 },
    ],
    rows: names.map((n, i) => ({ tensor: n, initial, ...Object.fromEntries(rates[i].map((v, s) => [`s${s + 1}`, v])), meanRatio: mean(ratio[i]) })),
  };

  // Figure.
  const allPositive = rates.flat().every((v) => v > 0);
  const heat = (r: Parameters<Panel>[0], title: string, values: number[][], diverging: boolean, label: string) =>
    heatMap({ x: r.x + 40, y: r.y, w: r.w - 115, h: r.h }, {
      title,
      xLabels: stepLabels,
      yLabels: names,
      values,
      xlabel: 'inner step',
      colorLabel: label,
      scale: diverging ? 'diverging' : 'sequential',
      log: diverging && allPositive,
      center: diverging ? 1 : undefined,
      format: (v) => fmtNum(v, 2),
    });
  const panels: Panel[] = [
    (r) => heat(r, 'learned inner learning rates', rates, false, 'rate'),
    (r) => heat(r, `learned / initial (${initial})${allPositive ? ', log colour scale' : ''}`, ratio, true, 'ratio'),
  ];
  if (own !== null) {
    const o = own;
    panels.push((r) =>
      lineChart({ ...r, w: r.w - 120 }, {
        title: 'rates during meta-training (mean over the steps)',
        x: { label: 'meta-iteration' },
        y: { label: 'inner rate' },
        series: names.map((n, i): LineSeries => ({ label: n, x: o.recorded, y: o.trajectory.map((t) => mean(t[i])), color: COLORS[i % COLORS.length], dash: n.endsWith('bias') ? '5 3' : undefined })),
        hlines: [{ y: initial, color: '#999', dash: '3 3' }],
        legend: 'outside-right',
      }),
    );
  }
  if (curve.length > 1) {
    const w = Math.max(1, Math.floor(curve.length / 25));
    const smooth = curve.map((_, i) => mean(curve.slice(Math.max(0, i - w + 1), i + 1).map((c) => c.loss)));
    panels.push((r) =>
      lineChart(r, {
        title: own !== null ? `meta-loss (moving average of ${w}; MSL-weighted in the first ${String(settings.mslEpochs)} epochs)` : 'meta-loss (metrics.jsonl)',
        x: { label: 'meta-iteration' },
        y: { label: 'meta-loss (log)', log: true },
        series: [{ label: undefined, x: curve.map((c) => c.iteration), y: smooth, color: COLORS[0] }],
      }),
    );
  }
  const svg = figure({
    title: "MAML++'s learned per-layer, per-step inner learning rates (LSLR)",
    subtitle,
    panels,
    cols: 2,
    panelWidth: 600,
    panelHeight: Math.max(360, 60 + 26 * names.length + 90),
  });

  // Findings.
  const findings: string[] = [];
  // Rates within 0.1% of the initial value count as unmoved (Adam amplifies gradients of rounding size).
  const unmoved = (i: number) => rates[i].every((v) => Math.abs(v - initial) <= 1e-3 * Math.abs(initial));
  const moved = names.map((n, i) => ({ n, i, m: mean(ratio[i]), lo: Math.min(...rates[i]), hi: Math.max(...rates[i]) })).filter((b) => !unmoved(b.i));
  const byTensor = [...moved].sort((a, b) => b.m - a.m);
  const all = rates.flat();
  const neg = all.filter((v) => v < 0).length;
  const down = names.flatMap((n, i) => rates[i].map((v, s) => ({ n, s, v }))).filter((c) => c.v < initial * (1 - 1e-3)).sort((a, b) => a.v - b.v);
  findings.push(
    `All ${all.length} rates started at ${initial}; they now range from ${fmtNum(Math.min(...all))} to ${fmtNum(Math.max(...all))} (mean learned/initial ${fmtNum(mean(ratio.flat()))}).` +
      (byTensor.length ? ` Largest mean change per tensor: ${byTensor.slice(0, 3).map((b) => `${b.n} ×${fmtNum(b.m)} (${fmtNum(b.lo)}–${fmtNum(b.hi)})`).join(', ')}; smallest: ${byTensor.slice(-2).reverse().map((b) => `${b.n} ×${fmtNum(b.m)}`).join(', ')}.` : '') +
      (down.length ? ` ${down.length} of the ${all.length} rates went down, the lowest ${down.slice(0, 3).map((c) => `${c.n} at step ${c.s + 1} (${fmtNum(c.v)})`).join(', ')}.` : ' None went down.') +
      (neg ? ` ${neg} rate${neg === 1 ? ' is' : 's are'} negative (that step moves the tensor up its gradient).` : ' No rate became negative.'),
  );
  const still = names.filter((_, i) => unmoved(i));
  if (still.length) {
    findings.push(
      `The rates of ${still.length === names.length ? 'every tensor' : `${still.length} of the ${names.length} tensors (${still.join(', ')})`} never moved from ${initial} (by more than 0.1%)` +
        (still.every((n) => /^conv\d+\.bias$/.test(n)) ? ': a conv bias followed by batch norm gets no gradient up to rounding (the normalisation subtracts it out), so its inner step and its rate do nothing.' : '.'),
    );
  }
  const stepMeans = stepLabels.map((_, s) => mean(ratio.map((row) => row[s])));
  const weights = names.map((n, i) => ({ n, i })).filter((x) => x.n.endsWith('weight'));
  const biases = names.map((n, i) => ({ n, i })).filter((x) => x.n.endsWith('bias'));
  let stepText = `Mean learned/initial by inner step: ${stepMeans.map((m, s) => `step ${s + 1} ${fmtNum(m)}`).join(', ')}`;
  if (K > 1) {
    const first = stepMeans[0];
    const last = stepMeans[K - 1];
    stepText += last > first * 1.05 ? ': the later steps get larger rates than the first.' : last < first / 1.05 ? ': the first step gets larger rates than the later ones.' : ': no trend across the steps.';
  } else stepText += '.';
  if (weights.length && biases.length) stepText += ` Weights ×${fmtNum(mean(weights.flatMap((w) => ratio[w.i])))} against biases ×${fmtNum(mean(biases.flatMap((b) => ratio[b.i])))} on average.`;
  findings.push(stepText);
  if (own !== null) {
    const diff = own.accLearned.map((a, i) => a - own!.accFixed[i]);
    const d = mean(diff);
    const ci = ci95(diff);
    findings.push(
      `Held-out accuracy after ${K} inner steps (${own.accInit.length} episodes, 95% intervals): ${fmtNum(100 * mean(own.accInit))}% ± ${fmtNum(100 * ci95(own.accInit), 2)} at initialisation; after meta-training ${fmtNum(100 * mean(own.accLearned))}% ± ${fmtNum(100 * ci95(own.accLearned), 2)} with the learned rates and ${fmtNum(100 * mean(own.accFixed))}% ± ${fmtNum(100 * ci95(own.accFixed), 2)} with every rate set back to ${initial} (the same initialisation): ` +
        (Math.abs(d) <= ci || !Number.isFinite(ci) ? `no significant difference (${d >= 0 ? '+' : ''}${fmtNum(100 * d)} ± ${fmtNum(100 * ci, 2)} points, paired).` : `the learned rates are ${d > 0 ? 'better' : 'worse'} by ${fmtNum(100 * Math.abs(d))} ± ${fmtNum(100 * ci, 2)} points (paired), so the meta-learned initialisation works better with the rates learned with it.`),
    );
  }
  findings.push(`Wall time ${((Date.now() - t0) / 1000).toFixed(0)} s.${own !== null ? ' One training run (same seed, same episodes for every evaluation).' : ''}`);

  return {
    settings,
    table,
    svg,
    findings,
    data: { names, initial, rates, ...(own !== null ? { recorded: own.recorded, trajectory: own.trajectory, loss: own.loss.map((l) => Number(l.toPrecision(5))), accInit: own.accInit, accLearned: own.accLearned, accFixed: own.accFixed } : { curve }) },
  };
}

/** The `lslr` study. */
export const lslrStudy: Study = {
  name: 'lslr',
  title: "MAML++'s learned per-layer, per-step inner learning rates",
  summary: "heat map of the inner rates a MAML++ run learned (LSLR), from a checkpoint or a short run of its own",
  options: OPTIONS,
  usage: `  [--checkpoint DIR]    a 'metagrad train --algo mamlpp --task omniglot...' run; without it, a short MAML++ run of its own:
  [--data PATH]         Omniglot episodes (folder with the official zips, or one zip); default synthetic image tasks
  [--iterations N]      meta-iterations (default ${DEFAULTS.iterations})
  [--inner-steps K]     inner steps (default ${DEFAULTS.innerSteps})
  [--inner-lr A]        the rates' initial value (default ${DEFAULTS.innerLr})
  [--meta-lr LR]        Adam's rate, cosine-annealed over the run (default ${DEFAULTS.metaLr})
  [--meta-batch T]      tasks per meta-iteration (default ${DEFAULTS.metaBatch})
  [--ways N] [--shots K] [--query Q]  episodes (default ${DEFAULTS.ways}-way ${DEFAULTS.shots}-shot, ${DEFAULTS.query} query per class)
  [--filters F]         conv4 filters (default ${DEFAULTS.filters})
  [--image-size S]      side of the synthetic images, >= 16 (default ${DEFAULTS.imageSize})
  [--noise SD]          noise of the synthetic images around their class prototype (default ${DEFAULTS.noise})
  [--epoch-iterations N]  meta-iterations per epoch (default: a ${DEFAULTS.epochs}th of the run)
  [--msl-epochs E]      epochs of the multi-step loss (default ${DEFAULTS.mslEpochs})
  [--eval-tasks N]      held-out episodes for the accuracy with learned and initial rates (default ${DEFAULTS.evalTasks})`,
  run,
};
