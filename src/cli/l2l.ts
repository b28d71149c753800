/**
 * The learned-optimizer commands (`mg.meta.l2l`, Andrychowicz et al. 2016):
 *
 * - `metagrad train --algo l2l --task <quadratic|mlp|sinusoid> --out DIR`: meta-trains the
 *   coordinate-wise LSTM optimizer (or, with `--rule hparams`, per-coordinate learned step sizes
 *   and momenta) by truncated unrolls; progress bar, `--json` lines, atomic checkpoints
 *   (DIR/model.safetensors + DIR/config.json), DIR/metrics.jsonl, DIR/learning_curve.svg, and
 *   resuming from DIR, as the other `train` algorithms.
 * - `metagrad eval --checkpoint DIR [--checkpoint DIR2 ...]`: the learned optimizer(s) against
 *   SGD, momentum and Adam whose learning rates are tuned by a grid on training optimizees, on the
 *   same held-out optimizees; mean loss with a 95% CI after the trained horizon and twice it, and
 *   DIR/eval_curves.svg (mean loss curves with an interquartile band).
 *
 * Checkpoint: the rule's weights under `rule.<name>`, Adam's buffers under `optim.<i>.<buffer>`;
 * the metadata holds `iteration` and `optim` (Adam's groups and step counts), as in common.ts.
 * Each iteration seeds the generator from (seed, iteration), so a resumed run draws the same
 * optimizees as an uninterrupted one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../index.js';
import { choiceOpt, deviceOpt, fmtDuration, intOpt, jsonLine, numOpt, optionValues, parse, strOpt, UsageError, type CliIO } from './args.js';
import { configPath, EVAL_SEED, openRunDir, readConfigText, iterationSeed, loadRun, metricsPath, modelPath, runTrainingLoop, stoppedEarly, timeLimitOpt, saveRun, trimMetrics, withPrefix, writeFigure } from './common.js';
import { learningCurveSvg } from './plot.js';
import { COLORS, figure, lineChart, num, type LineSeries } from './svg.js';

const { l2l } = mg.meta;
type LearnedRule = mg.meta.l2l.LSTMOptimizer | mg.meta.l2l.LearnedHparamsOptimizer;

/** The optimizee families `--task` accepts. */
export const L2L_TASKS = ['quadratic', 'mlp', 'sinusoid'] as const;
/** One of {@link L2L_TASKS}. */
export type L2LTask = (typeof L2L_TASKS)[number];
/** The learned rules `--rule` accepts: the LSTM optimizer, or learned step sizes and momenta. */
export const L2L_RULES = ['lstm', 'hparams'] as const;

/** Usage of `train --algo l2l` (appended to train's usage). */
export const L2L_TRAIN_USAGE = `usage: metagrad train --algo l2l --task <${L2L_TASKS.join('|')}> --out DIR
  [--rule lstm|hparams] [--iterations N] [--meta-batch B] [--meta-lr LR] [--unroll T] [--horizon H]
  [--checkpoint-every S] [--second-order] [--clip NORM] [--hidden 20] [--no-preprocess]
  [--output-scale S] [--seed S] [--device cpu] [--save-every N] [--time-limit SECONDS] [--log-every N] [--json]

examples:
  metagrad train --algo l2l --task quadratic --out runs/l2l-quadratic --iterations 1000
  metagrad train --algo l2l --rule hparams --task mlp --out runs/hp-mlp`;

/** Usage of `eval` on l2l checkpoints (appended to eval's usage). */
export const L2L_EVAL_USAGE = `usage: metagrad eval --checkpoint DIR [--checkpoint DIR2 ...] [--task ${L2L_TASKS.join('|')}] [--episodes E] [--steps H,2H]
  [--tune-episodes N] [--plot FILE] [--seed S] [--device cpu] [--json]
  (an l2l checkpoint: the optimizee task is the one it was trained on; --task may repeat it)

examples:
  metagrad eval --checkpoint runs/l2l-quadratic --checkpoint runs/hp-quadratic --episodes 1000`;

/** DIR/config.json of an l2l run. */
export interface L2LConfig {
  format: 'metagrad-cli/1';
  algo: 'l2l';
  task: L2LTask;
  rule: 'lstm' | 'hparams';
  /** Total iterations asked for. */
  iterations: number;
  /** Iterations done when this config was written. */
  iteration: number;
  /** Optimizee instances per iteration. */
  metaBatch: number;
  /** Adam's learning rate on the rule's weights. */
  metaLr: number;
  /** Steps per truncation. */
  unroll: number;
  /** Steps of an optimizee's training. */
  horizon: number;
  /** Checkpoint segment length (0: plain unrolls). */
  checkpointEvery: number;
  secondOrder: boolean;
  /** Meta-gradient norm clipping (0: none). */
  clipNorm: number;
  hidden: number;
  layers: number;
  preprocess: boolean;
  outputScale: number;
  /** Initial step size and momentum of the hparams rule. */
  initLr: number;
  initMomentum: number;
  seed: number;
  device: 'cpu';
}

/**
 * Per-task defaults (instances per iteration, Adam's rate, the LSTM's output scale), those of the
 * runs in docs/results.md. On the sinusoid net the paper's output scale 0.1 makes the untrained
 * LSTM's updates (about 0.05 per coordinate and step, on 1761 coordinates) blow the loss up and
 * meta-training stalls; 0.01 trains.
 */
const TASK_DEFAULTS: Record<L2LTask, { metaBatch: number; metaLr: number; outputScale: number }> = {
  quadratic: { metaBatch: 32, metaLr: 3e-3, outputScale: 0.1 },
  mlp: { metaBatch: 8, metaLr: 1e-2, outputScale: 0.1 },
  sinusoid: { metaBatch: 2, metaLr: 3e-3, outputScale: 0.01 },
};

const TRAIN_OPTIONS = {
  algo: { type: 'string' },
  task: { type: 'string' },
  out: { type: 'string' },
  rule: { type: 'string' },
  iterations: { type: 'string' },
  'meta-batch': { type: 'string' },
  'meta-lr': { type: 'string' },
  unroll: { type: 'string' },
  horizon: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'second-order': { type: 'boolean' },
  clip: { type: 'string' },
  hidden: { type: 'string' },
  'no-preprocess': { type: 'boolean' },
  'output-scale': { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  'save-every': { type: 'string' },
  'time-limit': { type: 'string' },
  'log-every': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** Options that fix what a checkpoint is; a resumed run may not change them. */
const FIXED: [string, keyof L2LConfig][] = [
  ['task', 'task'], ['rule', 'rule'], ['meta-batch', 'metaBatch'], ['meta-lr', 'metaLr'], ['unroll', 'unroll'], ['horizon', 'horizon'],
  ['checkpoint-every', 'checkpointEvery'], ['second-order', 'secondOrder'], ['clip', 'clipNorm'], ['hidden', 'hidden'],
  ['no-preprocess', 'preprocess'], ['output-scale', 'outputScale'], ['seed', 'seed'],
];

/** Whether a `train` command line asks for `--algo l2l` (train.ts dispatches on it). */
export function isL2lTrain(argv: readonly string[]): boolean {
  return optionValues(argv, 'algo').includes('l2l');
}

/** Whether an `eval` command line names an l2l checkpoint (eval.ts dispatches on it). */
export function isL2lEval(argv: readonly string[]): boolean {
  const [dir] = optionValues(argv, 'checkpoint');
  if (dir === undefined) return false;
  try {
    return (JSON.parse(fs.readFileSync(configPath(dir), 'utf8')) as { algo?: unknown }).algo === 'l2l';
  } catch {
    return false;
  }
}

function configFrom(values: Record<string, string | boolean | undefined>): L2LConfig {
  choiceOpt(values, 'algo', ['l2l'] as const);
  const task = choiceOpt<L2LTask>(values, 'task', L2L_TASKS);
  const rule = choiceOpt(values, 'rule', L2L_RULES, 'lstm');
  const d = TASK_DEFAULTS[task];
  const unroll = intOpt(values, 'unroll', 20);
  const horizon = intOpt(values, 'horizon', 100);
  if (unroll > horizon) throw new UsageError(`--unroll (${unroll}) must not exceed --horizon (${horizon})`);
  return {
    format: 'metagrad-cli/1',
    algo: 'l2l',
    task,
    rule,
    iterations: intOpt(values, 'iterations', 500),
    iteration: 0,
    metaBatch: intOpt(values, 'meta-batch', d.metaBatch),
    metaLr: numOpt(values, 'meta-lr', d.metaLr),
    unroll,
    horizon,
    checkpointEvery: intOpt(values, 'checkpoint-every', 0, 0),
    secondOrder: values['second-order'] === true,
    clipNorm: numOpt(values, 'clip', 0, false),
    hidden: intOpt(values, 'hidden', 20),
    layers: 2,
    preprocess: values['no-preprocess'] !== true,
    outputScale: numOpt(values, 'output-scale', d.outputScale),
    initLr: 0.01,
    initMomentum: 0.9,
    seed: intOpt(values, 'seed', 0, 0),
    device: deviceOpt(values),
  };
}

function readL2LConfig(dir: string): L2LConfig {
  let p = configPath(dir);
  let cfg: L2LConfig;
  try {
    const r = readConfigText(dir);
    p = r.path;
    cfg = JSON.parse(r.text) as L2LConfig;
  } catch (e) {
    throw new Error(`cannot read ${p}: ${(e as Error).message}`);
  }
  if (cfg.format !== 'metagrad-cli/1' || cfg.algo !== 'l2l' || !L2L_TASKS.includes(cfg.task) || !L2L_RULES.includes(cfg.rule)) throw new Error(`${p} is not a metagrad l2l config`);
  return cfg;
}

function buildRule(cfg: L2LConfig, family: mg.meta.l2l.OptimizeeFamily): LearnedRule {
  mg.manualSeed(cfg.seed);
  return cfg.rule === 'lstm'
    ? new l2l.LSTMOptimizer({ hidden: cfg.hidden, layers: cfg.layers, preprocess: cfg.preprocess, outputScale: cfg.outputScale })
    : new l2l.LearnedHparamsOptimizer(family.shapes, { lr: cfg.initLr, momentum: cfg.initMomentum });
}

function saveL2L(dir: string, cfg: L2LConfig, rule: LearnedRule, opt: mg.optim.Adam, iteration: number): void {
  const tensors = new Map<string, mg.Tensor>();
  for (const [k, v] of Object.entries(rule.stateDict())) tensors.set(`rule.${k}`, v);
  saveRun(dir, cfg, tensors, opt, iteration);
}

/** Loads the rule's weights (and Adam's state if `opt`); returns the saved iteration. */
function loadL2L(dir: string, rule: LearnedRule, opt: mg.optim.Adam | null): number {
  return loadRun(dir, opt, (tensors) => {
    try {
      rule.loadStateDict(withPrefix(tensors, 'rule'));
    } catch (e) {
      throw new Error(`${modelPath(dir)}: ${(e as Error).message}`);
    }
  });
}

/** `metagrad train --algo l2l ...`. */
export async function trainL2l(argv: string[], io: CliIO): Promise<number> {
  const { values } = parse(argv, TRAIN_OPTIONS);
  const out = strOpt(values, 'out');
  const json = values.json === true;
  const saveEvery = intOpt(values, 'save-every', 50);
  const logEvery = intOpt(values, 'log-every', 10);
  let cfg = configFrom(values);
  const { resuming } = openRunDir(out);
  if (resuming) {
    const saved = readL2LConfig(out);
    const given = (opt: string, key: keyof L2LConfig) => (opt === 'no-preprocess' ? values[opt] !== undefined && saved.preprocess !== cfg.preprocess : values[opt] !== undefined && saved[key] !== cfg[key]);
    const conflicts = FIXED.filter(([opt, key]) => given(opt, key)).map(([opt, key]) => `--${opt} (${String(cfg[key])}; the checkpoint has ${String(saved[key])})`);
    if (conflicts.length) throw new UsageError(`${out} holds a checkpoint trained with other settings: ${conflicts.join(', ')}; use another --out`);
    cfg = { ...saved, iterations: values.iterations !== undefined ? cfg.iterations : saved.iterations };
  }
  fs.mkdirSync(out, { recursive: true });

  const family = l2l.optimizeeFamily(cfg.task);
  const rule = buildRule(cfg, family);
  const trainer = new l2l.L2LTrainer(rule, family, {
    unroll: cfg.unroll, horizon: cfg.horizon, instances: cfg.metaBatch, metaLr: cfg.metaLr,
    secondOrder: cfg.secondOrder, checkpointEvery: cfg.checkpointEvery, clipNorm: cfg.clipNorm,
  });
  let start = 0;
  try {
    if (resuming) {
      start = loadL2L(out, rule, trainer.optimizer);
      trimMetrics(out, start);
      if (!json) io.stderr.write(`resuming l2l (${cfg.rule}) on ${cfg.task} from ${out} at iteration ${start}/${cfg.iterations}\n`);
    }
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    const loop = runTrainingLoop({
      io, json, out, start, iterations: cfg.iterations, seed: cfg.seed, logEvery, saveEvery, timeLimit: timeLimitOpt(values), metricName: 'loss/step',
      step: () => {
        const r = trainer.iteration();
        return { loss: r.loss, finalLoss: r.finalLoss, skipped: r.skipped };
      },
      sumKeys: ['skipped'],
      save: (done) => saveL2L(out, cfg, rule, trainer.optimizer, done),
    });
    const { lastLoss, iteration: finalIteration } = loop;
    const early = stoppedEarly(loop, cfg.iterations);
    writeFigure(path.join(out, 'learning_curve.svg'), learningCurveSvg(readMetrics(out), `l2l (${cfg.rule}) on ${cfg.task}: mean optimizee loss per step (${finalIteration} iterations)`));
    const seconds = (Date.now() - t0) / 1000;
    const c = process.cpuUsage(cpu0);
    if (json) jsonLine(io, { summary: true, iterations: finalIteration, ...early.json, seconds: Number(seconds.toFixed(3)), cpuSeconds: Number(((c.user + c.system) / 1e6).toFixed(3)), out });
    else io.stdout.write(`trained l2l (${cfg.rule}) on ${cfg.task} to iteration ${finalIteration}${early.text} in ${fmtDuration(seconds)}${Number.isNaN(lastLoss) ? '' : `, last loss per step ${lastLoss.toFixed(4)}`}; checkpoint in ${out}\n`);
    return 0;
  } finally {
    trainer.optimizer.dispose();
    rule.dispose();
  }
}

function readMetrics(dir: string): { iteration: number; loss: number }[] {
  const records: { iteration: number; loss: number }[] = [];
  if (!fs.existsSync(metricsPath(dir))) return records;
  for (const line of fs.readFileSync(metricsPath(dir), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      const r = JSON.parse(line) as { iteration: number; loss: number };
      if (typeof r.iteration === 'number' && typeof r.loss === 'number') records.push(r);
    } catch {
      /* a torn last line */
    }
  }
  return records;
}

const EVAL_OPTIONS = {
  checkpoint: { type: 'string', multiple: true },
  task: { type: 'string' },
  episodes: { type: 'string' },
  steps: { type: 'string' },
  'tune-episodes': { type: 'string' },
  plot: { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** One evaluated optimizer: its label, learning rate (hand-designed) and loss curves. */
interface Curve {
  name: string;
  lr: number | null;
  curves: Float64Array[];
}

/** Held-out instances are drawn (and run) in chunks of this many, to bound memory. */
const EVAL_CHUNK = 100;

/** `metagrad eval --checkpoint DIR` for l2l checkpoints. */
export async function evalL2l(argv: string[], io: CliIO): Promise<number> {
  const { values } = parse(argv, EVAL_OPTIONS);
  const dirs = (values.checkpoint as unknown as string[] | undefined) ?? [];
  if (dirs.length === 0) throw new UsageError('--checkpoint is required');
  deviceOpt(values);
  const episodes = intOpt(values, 'episodes', 100);
  const tuneEpisodes = intOpt(values, 'tune-episodes', 256);
  const cfgs = dirs.map(readL2LConfig);
  const cfg = cfgs[0];
  cfgs.forEach((c, i) => {
    if (c.task !== cfg.task) throw new Error(`eval: ${dirs[i]} was trained on ${c.task} but ${dirs[0]} on ${cfg.task}; compare checkpoints of one task`);
  });
  // The optimizee family is fixed by training (the rule's inputs depend on it): --task may only
  // repeat it.
  if (values.task !== undefined && values.task !== cfg.task) {
    throw new UsageError(`--task: ${dirs[0]} is a learned optimizer trained on '${cfg.task}' optimizees, and an l2l checkpoint is evaluated on the task it was trained on; drop --task, or evaluate a checkpoint trained with 'train --algo l2l --task ${String(values.task)}'`);
  }
  const H = cfg.horizon;
  let steps = [H, 2 * H];
  if (typeof values.steps === 'string') {
    const parts = values.steps.split(',').map((s) => s.trim());
    steps = parts.map(Number);
    if (parts.some((p) => p === '') || steps.some((s) => !Number.isSafeInteger(s) || s < 1)) throw new UsageError(`--steps: expected comma-separated positive integers, got '${values.steps}'`);
    steps = [...new Set(steps)].sort((a, b) => a - b);
  }
  const maxSteps = steps[steps.length - 1];
  const evalSeed = values.seed === undefined ? EVAL_SEED : intOpt(values, 'seed', 0, 0);
  const family = l2l.optimizeeFamily(cfg.task);

  const rules: LearnedRule[] = [];
  try {
    dirs.forEach((dir, i) => {
      if (!fs.existsSync(modelPath(dir))) throw new Error(`no checkpoint in ${dir} (${modelPath(dir)} is missing)`);
      const r = buildRule(cfgs[i], family);
      rules.push(r);
      loadL2L(dir, r, null);
    });
    // Hand-designed baselines: the learning rate by a grid on training optimizees (the stream of
    // training iteration 0 of the first checkpoint's seed), at the trained horizon.
    mg.manualSeed(iterationSeed(cfg.seed, 0));
    const tuneProblem = family.sample(tuneEpisodes, H + 1);
    const hand = ['sgd', 'momentum', 'adam'] as const;
    const tuned = Object.fromEntries(hand.map((h) => [h, l2l.tuneLearningRate((lr) => l2l.handRule(h, lr), tuneProblem, H)])) as Record<(typeof hand)[number], mg.meta.l2l.TuneResult>;
    tuneProblem.dispose();
    // Held-out optimizees, the same for every optimizer.
    const label = (i: number) => (dirs.length > 1 ? `${cfgs[i].rule} (${path.basename(dirs[i])})` : cfgs[i].rule);
    const all: Curve[] = [
      ...rules.map((_, i) => ({ name: `l2l ${label(i)}`, lr: null, curves: [] as Float64Array[] })),
      ...hand.map((h) => ({ name: h === 'momentum' ? 'momentum 0.9' : h, lr: tuned[h].lr, curves: [] as Float64Array[] })),
    ];
    mg.manualSeed(evalSeed);
    for (let done = 0; done < episodes; done += EVAL_CHUNK) {
      const problem = family.sample(Math.min(EVAL_CHUNK, episodes - done), maxSteps + 1);
      try {
        const runs = [...rules, ...hand.map((h) => l2l.handRule(h, tuned[h].lr))].map((r) => l2l.runRule(r, problem, maxSteps));
        runs.forEach((c, k) => {
          if (done === 0) all[k].curves = c;
          else all[k].curves = all[k].curves.map((prev, t) => Float64Array.from([...prev, ...c[t]]));
        });
      } finally {
        problem.dispose();
      }
    }
    // diverged: runs whose loss is not finite or above 100 times their initial loss.
    const diverged = (c: Curve, s: number) => c.curves[s].reduce((k, v, b) => (Number.isFinite(v) && v <= 100 * c.curves[0][b] ? k : k + 1), 0);
    const results = all.flatMap((c) => steps.map((s) => ({ optimizer: c.name, lr: c.lr, steps: s, ...l2l.meanCi95(c.curves[s]), median: l2l.median(c.curves[s]), diverged: diverged(c, s) })));
    // Paired comparison on the same held-out optimizees: each learned rule minus the hand-designed
    // rule with the lowest mean at that step count (mean difference and its 95% CI).
    const handCurves = all.slice(rules.length);
    const paired = all.slice(0, rules.length).flatMap((c) =>
      steps.map((s) => {
        const best = handCurves.reduce((a, b) => (l2l.meanCi95(b.curves[s]).mean < l2l.meanCi95(a.curves[s]).mean ? b : a));
        const d = l2l.meanCi95(c.curves[s].map((v, b) => v - best.curves[s][b]));
        return { optimizer: c.name, versus: best.name, steps: s, meanDiff: d.mean, ci95: d.ci95 };
      }),
    );
    const plotFile = typeof values.plot === 'string' ? values.plot : path.join(dirs[0], 'eval_curves.svg');
    writeFigure(plotFile, curvesSvg(all, H, `${cfg.task}: optimizee loss on ${episodes} held-out instances (mean, 25-75% band)`));
    // JSON has no Infinity: a diverged grid point's loss is null.
    const tunedOut = Object.fromEntries(hand.map((h) => [h, { lr: tuned[h].lr, grid: tuned[h].grid.map((g) => ({ lr: g.lr, loss: Number.isFinite(g.loss) ? g.loss : null })) }]));
    if (values.json === true) {
      for (const r of results) jsonLine(io, r);
      jsonLine(io, { summary: true, task: cfg.task, metric: 'loss', episodes, horizon: H, tuneEpisodes, tuned: tunedOut, paired, plot: plotFile, results });
      return 0;
    }
    const cell = (m: { mean: number; ci95: number }) => `${fmtNum(m.mean)} ± ${fmtNum(m.ci95)}`;
    const rows = all.map((c) => [c.name, c.lr === null ? 'learned' : String(c.lr), ...steps.map((s) => cell(l2l.meanCi95(c.curves[s]))), ...steps.map((s) => fmtNum(l2l.median(c.curves[s])))]);
    const header = ['optimizer', 'lr', ...steps.map((s) => `loss after ${s}`), ...steps.map((s) => `median ${s}`)];
    const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    io.stdout.write(`l2l on ${cfg.task} (trained horizon ${H}): mean loss ± 95% CI over ${episodes} held-out optimizees\n`);
    io.stdout.write(`(hand-designed learning rates: best mean loss on a grid of 1, 2, 5 per decade over ${l2l.LR_GRID[0]}..${l2l.LR_GRID[l2l.LR_GRID.length - 1]} at ${H} steps on ${tuneEpisodes} training optimizees)\n`);
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
    io.stdout.write(`${line(header)}\n`);
    for (const r of rows) io.stdout.write(`${line(r)}\n`);
    for (const p of paired) io.stdout.write(`paired: ${p.optimizer} - ${p.versus} after ${p.steps}: ${fmtNum(p.meanDiff)} ± ${fmtNum(p.ci95)}\n`);
    for (const c of all) {
      const d = diverged(c, maxSteps);
      if (d > 0) io.stdout.write(`note: ${c.name} diverged on ${d} of ${episodes} held-out optimizees by step ${maxSteps} (loss not finite or above 100x its initial loss); medians: ${steps.map((s) => `${fmtNum(l2l.median(c.curves[s]))} after ${s}`).join(', ')}\n`);
    }
    io.stdout.write(`wrote ${plotFile}\n`);
    return 0;
  } finally {
    for (const r of rules) r.dispose();
  }
}

function fmtNum(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);
}

/** The q-quantile of finite values (NaN if none). */
function quantile(xs: Float64Array, q: number): number {
  const s = Array.from(xs).filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}


/**
 * Loss curves against the step on a log scale, one figure: for each optimizer the mean over the
 * instances (line) and the 25-75% quantile band (shaded), and a dashed vertical line at the
 * trained horizon. The y range runs from the smallest value shown up to ten times the largest
 * initial mean (a diverging run leaves the top of the frame instead of squashing the rest).
 */
export function curvesSvg(curves: readonly { name: string; lr: number | null; curves: Float64Array[] }[], horizon: number, title: string): string {
  const steps = curves[0]?.curves.length ?? 1;
  const xs = Array.from({ length: steps }, (_, t) => t);
  const series: LineSeries[] = curves.map((c, k) => ({
    label: c.lr === null ? c.name : `${c.name} (lr ${c.lr})`,
    x: xs,
    y: c.curves.map((v) => l2l.meanCi95(v).mean),
    lo: c.curves.map((v) => quantile(v, 0.25)),
    hi: c.curves.map((v) => quantile(v, 0.75)),
    color: COLORS[k % COLORS.length],
  }));
  const vals = series.flatMap((sr) => [...sr.y, ...sr.lo!, ...sr.hi!]).filter((v) => Number.isFinite(v) && v > 0);
  const start = Math.max(...series.map((sr) => sr.y[0]).filter((v) => Number.isFinite(v) && v > 0), 0);
  let max = vals.length ? Math.max(...vals) : 10;
  if (start > 0) max = Math.min(max, 10 * start);
  const min = vals.length ? Math.max(Math.min(...vals), max * 1e-8) : max / 10;
  return figure({
    title,
    subtitle: `lines: mean over the instances; bands: 25-75% quantiles; dashed: the trained horizon (${horizon} steps)`,
    panels: [
      (r) => {
        let out = lineChart(r, { x: { label: 'optimizer step', min: 0, max: Math.max(steps - 1, 1) }, y: { label: 'loss (log scale)', log: true, min, max }, series, legend: 'outside-right' });
        if (horizon > 0 && horizon < steps - 1) {
          const X = num(r.x + (horizon / (steps - 1)) * r.w);
          out += `<line x1="${X}" y1="${r.y}" x2="${X}" y2="${r.y + r.h}" stroke="#777" stroke-dasharray="5 4"/>\n`;
        }
        return out;
      },
    ],
    panelWidth: 900,
    panelHeight: 440,
    margin: { left: 75, right: 290, top: 20, bottom: 50 },
  });
}
