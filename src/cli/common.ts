/**
 * What the sinusoid commands share: the run configuration (config.json), the MAML paper's
 * 1-40-40-1 ReLU network, the learners, the checkpoint format and the held-out seeds.
 *
 * Checkpoint (DIR/model.safetensors, written atomically by mg.io.save): the network's tensors
 * under `model.<name>`, Meta-SGD's learned rates under `lrs.<i>`, Adam's buffers under
 * `optim.<param index>.<buffer>`; the metadata holds `iteration`, `optim` (a JSON object with
 * the optimizer's parameter groups and per-parameter step counts) and `config`, the run's
 * configuration with that iteration. Note [One-file checkpoint]: the file is renamed into place in
 * one step, so the model, the optimizer and the config it belongs to change together; a kill at
 * any moment leaves either the previous checkpoint or the new one. DIR/config.json is a readable
 * copy of `config`, written after it: {@link openRunDir} rewrites it from the checkpoint when a kill
 * came between the two (and checkpoints without `config`, from before, still load with it).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../index.js';
import type { OptimizerStateDict, ParamState } from '../optim/optimizer.js';
import { jsonLine, UsageError, type CliIO } from './args.js';
import { progressBar } from './progress.js';
import { svgToPng } from './svg.js';

export const ALGOS = ['maml', 'fomaml', 'reptile', 'anil', 'metasgd', 'pretrain'] as const;
export type Algo = (typeof ALGOS)[number];

export const TASKS = ['sinusoid', 'sinusoid-reptile'] as const;
/**
 * `sinusoid`: MAML's form (K support and K query points, x ~ U[-5, 5], phase U[0, pi]).
 * `sinusoid-reptile`: the OpenAI Reptile sine example's form (phase U[0, 2 pi], 50 evenly spaced
 * x, inner minibatches), with its 1-64-64-1 tanh network; Reptile only.
 */
export type TaskName = (typeof TASKS)[number];

/** DIR/config.json. */
export interface RunConfig {
  format: 'metagrad-cli/1';
  task: TaskName;
  algo: Algo;
  /** Total iterations asked for (the target of the last `train` run). */
  iterations: number;
  /** Iterations done when this config was written. */
  iteration: number;
  metaBatch: number;
  /** Adam's learning rate (Reptile: the outer step size eps0, linearly annealed). */
  metaLr: number;
  innerSteps: number;
  innerLr: number;
  shots: number;
  query: number;
  firstOrder: boolean;
  seed: number;
  device: 'cpu';
  hidden: number[];
  /** Hidden-layer activation (absent in older configs: relu). */
  activation?: 'relu' | 'tanh';
  /** sinusoid-reptile: inner minibatch size and passes over the 50 points per outer step. */
  innerBatch?: number;
  innerEpochs?: number;
}

/** Seeds of the held-out tasks (eval, plot): above 2^52, so never one of the training seeds. */
export const EVAL_SEED = 9_007_199_254_740_000;
export const FITS_SEED = EVAL_SEED + 1;

/** The generator seed of training iteration `it` (sampling is reproducible across resumes). */
export function iterationSeed(seed: number, it: number): number {
  return (seed * 1_000_003 + it + 1) % 2 ** 52;
}

/** The MAML paper's sinusoid regressor: 1-40-40-1 with ReLU (the OpenAI Reptile example: 1-64-64-1 tanh). */
export function buildNet(hidden: readonly number[] = [40, 40], activation: 'relu' | 'tanh' = 'relu'): mg.nn.Sequential {
  const layers: mg.nn.Module<[mg.Tensor], mg.Tensor>[] = [];
  let inF = 1;
  for (const h of hidden) {
    layers.push(new mg.nn.Linear(inF, h), activation === 'tanh' ? new mg.nn.Tanh() : new mg.nn.ReLU());
    inF = h;
  }
  layers.push(new mg.nn.Linear(inF, 1));
  return new mg.nn.Sequential(...layers);
}

/** The learner for meta-training (Reptile) or the MAML-family learner. */
export type Learner = { kind: 'maml'; maml: mg.meta.MAML } | { kind: 'reptile'; reptile: mg.meta.Reptile; evalMaml: mg.meta.MAML };

export function buildLearner(cfg: RunConfig, net: mg.nn.Sequential): Learner {
  const opts = { innerSteps: cfg.innerSteps, innerLr: cfg.innerLr, firstOrder: cfg.firstOrder || cfg.algo === 'fomaml' };
  switch (cfg.algo) {
    case 'maml':
    case 'fomaml':
      return { kind: 'maml', maml: new mg.meta.MAML(net, opts) };
    case 'anil':
      return { kind: 'maml', maml: new mg.meta.ANIL(net, opts) };
    case 'metasgd':
      return { kind: 'maml', maml: new mg.meta.MetaSGD(net, opts) };
    case 'pretrain':
      // The MAML paper's baseline: one model regressed on all tasks jointly. As a MAML learner
      // with no inner step its meta-loss on `pretrainTasks` is the plain MSE on each task's
      // support and query points; evaluation fine-tunes it with SGD at the inner rate.
      return { kind: 'maml', maml: new mg.meta.MAML(net, { innerSteps: 0, innerLr: cfg.innerLr }) };
    case 'reptile':
      return {
        kind: 'reptile',
        reptile: new mg.meta.Reptile(net, { innerSteps: cfg.innerSteps, innerLr: cfg.innerLr, outerLr: cfg.metaLr, iterations: cfg.iterations }),
        // Evaluation of a Reptile initialisation: plain SGD with the inner rate, as in the paper.
        evalMaml: new mg.meta.MAML(net, { innerLr: cfg.innerLr, innerSteps: cfg.innerSteps }),
      };
  }
}

/** The learner used to adapt and evaluate (Reptile: SGD from the initialisation). */
export function evalLearner(l: Learner): mg.meta.MAML {
  return l.kind === 'maml' ? l.maml : l.evalMaml;
}

/**
 * A data-parallel rank's part in {@link mamlStep} (Note [Data-parallel meta-batches] in
 * data_parallel.ts): its local meta-loss is scaled by `weight` (its share of the meta-batch)
 * before backward, and `sync` sums the meta-gradients over ranks before the optimizer step,
 * together with the weighted losses (one collective): mamlStep then returns the global meta-loss.
 */
export interface DataParallelStep {
  weight: number;
  /** Sums the `.grad` of `params` and `loss` over ranks; returns the summed loss. */
  sync(params: readonly mg.Tensor[], loss: number): number;
}

/**
 * One meta-training iteration of a MAML-family learner (maml, fomaml, anil, metasgd, pretrain)
 * on `tasks`: zeroGrad, meta-loss, backward, an optimizer step; returns the meta-loss.
 *
 * `'batched'` (the default of `train`) stacks the tasks along a leading dimension and runs the
 * whole meta-batch as batched matmuls (`mg.meta.batchedMamlMetaLoss`, with Meta-SGD's rates as
 * `innerLrs` and ANIL's head as `adapted`); `'loop'` runs the learner's per-task loop
 * (`learner.step`). Both compute the same meta-loss and meta-gradient (tested to 1e-10 in
 * float64), so a checkpoint does not depend on the choice beyond float rounding.
 */
export function mamlStep(cfg: RunConfig, learner: mg.meta.MAML, opt: mg.optim.Adam, tasks: readonly mg.data.Task[], formulation: 'batched' | 'loop', dp?: DataParallelStep): number {
  if (formulation === 'loop' && !dp) return learner.step(tasks, opt);
  if (formulation === 'loop') {
    opt.zeroGrad();
    const v = mg.tidy(() => {
      const l = learner.metaLoss(tasks).mul(dp!.weight);
      l.backward();
      return l.item();
    });
    const total = dp!.sync(learner.metaParameters(), v);
    opt.step();
    return total;
  }
  const params = learner.module.parameters();
  const opts: mg.meta.BatchedMAMLOptions = {
    innerSteps: learner.innerSteps,
    innerLr: learner.innerLr,
    firstOrder: learner.firstOrder,
    activation: cfg.activation ?? 'relu',
  };
  if (learner instanceof mg.meta.MetaSGD) opts.innerLrs = learner.lrs;
  if (learner instanceof mg.meta.ANIL) {
    const head = new Set(learner.headNames);
    opts.adapted = learner.module.namedParameters().map(([n]) => head.has(n));
  }
  opt.zeroGrad();
  const value = mg.tidy(() => {
    const b = mg.meta.stackTasks(tasks);
    let l = mg.meta.batchedMamlMetaLoss(params, b.support, b.query, opts);
    if (dp) l = l.mul(dp.weight);
    l.backward();
    return l.item();
  });
  const total = dp ? dp.sync(learner.metaParameters(), value) : value;
  opt.step();
  return total;
}

/**
 * The training batch of the pre-trained baseline: each task's support and query points pooled
 * (as both sets), so the unadapted loss is ordinary regression on all of them.
 */
export function pretrainTasks(tasks: readonly mg.data.Task[]): mg.data.Task[] {
  return tasks.map((t) => {
    const all = { x: mg.cat([t.support.x, t.query.x], 0), y: mg.cat([t.support.y, t.query.y], 0) };
    return { support: all, query: all };
  });
}

export function configPath(dir: string): string {
  return path.join(dir, 'config.json');
}
export function modelPath(dir: string): string {
  return path.join(dir, 'model.safetensors');
}
export function metricsPath(dir: string): string {
  return path.join(dir, 'metrics.jsonl');
}

/**
 * Writes a figure: the SVG `file` and, where the PNG rasteriser (resvg) loads, the same figure as a
 * PNG beside it, both atomically. Returns the paths written.
 */
export function writeFigure(file: string, text: string): string[] {
  writeFileAtomic(file, text);
  const png = svgToPng(text);
  if (png === null || !file.endsWith('.svg')) return [file];
  const pngFile = file.replace(/\.svg$/, '.png');
  writeFileAtomic(pngFile, png);
  return [file, pngFile];
}

/** Writes `file` atomically: a temporary file in the same directory, then a rename. */
export function writeFileAtomic(file: string, text: string | Uint8Array): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

/**
 * The text of DIR's run config: the checkpoint's own copy (Note [One-file checkpoint]) when
 * DIR/model.safetensors has one, else DIR/config.json; with the path it came from.
 */
export function readConfigText(dir: string): { text: string; path: string } {
  const model = modelPath(dir);
  if (fs.existsSync(model)) {
    const cfg = mg.io.loadMetadata(model).config;
    if (cfg !== undefined) return { text: cfg, path: `${model} (metadata 'config')` };
  }
  const p = configPath(dir);
  return { text: fs.readFileSync(p, 'utf8'), path: p };
}

/** Names of the temporary files of atomic writes: mg.io.save's and {@link writeFileAtomic}'s. */
const TEMP_FILE = /^(?:\..+\.(\d+)\.[0-9a-f]+|.+\.(\d+)\.\d+)\.tmp$/;

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // nothing of this process is being written yet
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Prepares DIR for a `train` run and says whether it resumes: removes the temporary files that
 * killed runs left behind (those of processes no longer alive), rewrites DIR/config.json from the
 * checkpoint if a kill came between the two renames (Note [One-file checkpoint]), and for a fresh
 * run (no checkpoint) removes DIR/metrics.jsonl, so the new run's metrics are not appended to the
 * records of one that was killed before its first checkpoint.
 */
export function openRunDir(dir: string): { resuming: boolean } {
  if (!fs.existsSync(dir)) return { resuming: false };
  for (const name of fs.readdirSync(dir)) {
    const m = TEMP_FILE.exec(name);
    if (m === null) continue;
    if (!processAlive(Number(m[1] ?? m[2]))) fs.rmSync(path.join(dir, name), { force: true });
  }
  const model = modelPath(dir);
  if (fs.existsSync(model)) {
    const saved = mg.io.loadMetadata(model).config;
    if (saved !== undefined) {
      const text = `${JSON.stringify(JSON.parse(saved), null, 2)}\n`;
      let current: string | null = null;
      try {
        current = fs.readFileSync(configPath(dir), 'utf8');
      } catch {
        // missing: written below
      }
      if (current !== text) writeFileAtomic(configPath(dir), text);
    }
  }
  const resuming = fs.existsSync(model) && fs.existsSync(configPath(dir));
  if (!resuming) fs.rmSync(metricsPath(dir), { force: true });
  return { resuming };
}

export function readConfig(dir: string): RunConfig {
  let cfg: RunConfig;
  let p = configPath(dir);
  try {
    const r = readConfigText(dir);
    p = r.path;
    cfg = JSON.parse(r.text) as RunConfig;
  } catch (e) {
    throw new Error(`cannot read ${p}: ${(e as Error).message}`);
  }
  if (cfg.format !== 'metagrad-cli/1' || !ALGOS.includes(cfg.algo)) throw new Error(`${p} is not a metagrad CLI config`);
  return cfg;
}

/**
 * Writes a run's checkpoint: `tensors` and, if `opt` is given, Adam's buffers (`optim.<param
 * index>.<buffer>`, its scalars and parameter groups in the `optim` metadata) to
 * DIR/model.safetensors (atomically, by mg.io.save), then `cfg` with `iteration` to
 * DIR/config.json (temporary file and rename). Every CLI command that trains uses it.
 */
export function saveRun(dir: string, cfg: object, tensors: Map<string, mg.Tensor>, opt: mg.optim.Adam | null, iteration: number): void {
  const all = new Map(tensors);
  const metadata: Record<string, string> = { format: 'metagrad-cli/1', iteration: String(iteration), config: JSON.stringify({ ...cfg, iteration }) };
  let sd: OptimizerStateDict | null = null;
  if (opt !== null) {
    sd = opt.stateDict();
    const scalars: Record<string, Record<string, number>> = {};
    for (const [pid, st] of Object.entries(sd.state)) {
      for (const [name, v] of Object.entries(st)) {
        if (v instanceof mg.Tensor) all.set(`optim.${pid}.${name}`, v);
        else (scalars[pid] ??= {})[name] = v;
      }
    }
    metadata.optim = JSON.stringify({ paramGroups: sd.paramGroups, scalars });
  }
  try {
    mg.io.save(modelPath(dir), all, metadata);
  } finally {
    if (sd !== null) for (const st of Object.values(sd.state)) for (const v of Object.values(st)) if (v instanceof mg.Tensor) v.dispose();
  }
  // The readable copy (Note [One-file checkpoint]): the same text openRunDir would write.
  writeFileAtomic(configPath(dir), `${JSON.stringify({ ...cfg, iteration }, null, 2)}\n`);
}

/**
 * Reads DIR/model.safetensors written by {@link saveRun}: `use(tensors)` copies what it needs
 * (the tensors are disposed afterwards), Adam's state is restored into `opt` if given; returns
 * the saved iteration.
 */
export function loadRun(dir: string, opt: mg.optim.Adam | null, use: (tensors: Map<string, mg.Tensor>) => void): number {
  const { tensors, metadata } = mg.io.load(modelPath(dir));
  try {
    use(tensors);
    if (opt !== null && metadata.optim !== undefined) {
      const meta = JSON.parse(metadata.optim) as { paramGroups: OptimizerStateDict['paramGroups']; scalars: Record<string, Record<string, number>> };
      const state: Record<number, ParamState> = {};
      for (const [pid, sc] of Object.entries(meta.scalars)) state[Number(pid)] = { ...sc };
      for (const [k, v] of tensors) {
        const m = /^optim\.(\d+)\.(.+)$/.exec(k);
        if (m) (state[Number(m[1])] ??= {})[m[2]] = v;
      }
      opt.loadStateDict({ state, paramGroups: meta.paramGroups });
    }
    const it = Number(metadata.iteration);
    if (!Number.isSafeInteger(it) || it < 0) throw new Error(`${modelPath(dir)}: bad iteration '${metadata.iteration}'`);
    return it;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** The tensors under `prefix.` in a loaded checkpoint, with the prefix removed. */
export function withPrefix(tensors: Map<string, mg.Tensor>, prefix: string): Map<string, mg.Tensor> {
  const out = new Map<string, mg.Tensor>();
  for (const [k, v] of tensors) if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), v);
  return out;
}

/** Drops DIR/metrics.jsonl lines logged after iteration `start` (a run interrupted after its last checkpoint). */
export function trimMetrics(dir: string, start: number): void {
  if (!fs.existsSync(metricsPath(dir))) return;
  const kept = fs.readFileSync(metricsPath(dir), 'utf8').split('\n').filter((l) => {
    if (l.trim() === '') return false;
    try {
      return (JSON.parse(l) as { iteration: number }).iteration <= start;
    } catch {
      return false;
    }
  });
  fs.writeFileSync(metricsPath(dir), kept.map((l) => `${l}\n`).join(''));
}

/** What {@link runTrainingLoop} needs of a command. */
export interface TrainingLoop {
  io: CliIO;
  /** JSON lines on stdout (and no progress bar). */
  json: boolean;
  /** The run's folder (metrics.jsonl is appended to). */
  out: string;
  /** First iteration to run (the checkpoint's on a resume) and the total. */
  start: number;
  iterations: number;
  /** The run's seed: iteration `it` seeds the generator from (seed, it), so a resumed run draws the same data. */
  seed: number;
  logEvery: number;
  saveEvery: number;
  /** The progress bar's label for `loss` (e.g. `'meta-loss'`). */
  metricName: string;
  /** One iteration: its loss and any other numbers to log, averaged over the logging window (summed for `sumKeys`). */
  step(it: number): { loss: number } & Record<string, number>;
  sumKeys?: readonly string[];
  /** Writes the checkpoint at `iteration` done (every `saveEvery`, at the end, and once if nothing was left to run). */
  save(iteration: number): void;
  /**
   * Wall-clock seconds this invocation may train (`--time-limit`): the loop stops after the first
   * iteration that ends past it, logs and saves there, so `train` again resumes from it.
   */
  timeLimit?: number;
  /** A data-parallel rank other than 0: no progress bar, metrics, JSON lines or checkpoints. */
  quiet?: boolean;
  /** Data parallel: makes every rank take rank 0's decision to stop (the time limit). */
  agree?: (stop: boolean) => boolean;
}

/** What {@link runTrainingLoop} reached. */
export interface TrainingLoopResult {
  /** The last iteration's loss (NaN if none ran). */
  lastLoss: number;
  /** Iterations done when the loop ended (`iterations`, or fewer when the time limit stopped it). */
  iteration: number;
  /** Whether `--time-limit` ended the loop early. */
  timeLimited: boolean;
}

/**
 * The loop every `train` command runs: seeded iterations from `start`, the progress bar, a
 * metrics.jsonl record every `logEvery` iterations (with wall and CPU seconds since the loop
 * started; also a JSON line with the ETA under `--json`) and periodic checkpoints, up to
 * `iterations` or the time limit.
 */
export function runTrainingLoop(l: TrainingLoop): TrainingLoopResult {
  const bar = progressBar(l.json || l.quiet ? { ...l.io, isTTY: false } : l.io, l.iterations, l.metricName, l.start, 'training');
  const t0 = Date.now();
  const cpu0 = process.cpuUsage();
  let window: Record<string, number> = {};
  let n = 0;
  let last = NaN;
  let reached = l.start;
  let timeLimited = false;
  for (let it = l.start; it < l.iterations; it++) {
    mg.manualSeed(iterationSeed(l.seed, it));
    const r = l.step(it);
    last = r.loss;
    for (const [k, v] of Object.entries(r)) window[k] = (window[k] ?? 0) + v;
    n++;
    const done = it + 1;
    reached = done;
    timeLimited = l.timeLimit !== undefined && done < l.iterations && (Date.now() - t0) / 1000 >= l.timeLimit;
    if (l.agree && l.timeLimit !== undefined) timeLimited = l.agree(timeLimited);
    if (l.quiet) {
      if (timeLimited) break;
      continue;
    }
    if (done % l.logEvery === 0 || done === l.iterations || (timeLimited && n > 0)) {
      const elapsed = (Date.now() - t0) / 1000;
      const c = process.cpuUsage(cpu0);
      const rec: Record<string, number> = { iteration: done };
      for (const [k, v] of Object.entries(window)) rec[k] = l.sumKeys?.includes(k) ? v : v / n;
      rec.seconds = Number(elapsed.toFixed(3));
      // This process's CPU time: the machine may be shared.
      rec.cpuSeconds = Number(((c.user + c.system) / 1e6).toFixed(3));
      fs.appendFileSync(metricsPath(l.out), `${JSON.stringify(rec)}\n`);
      if (l.json) jsonLine(l.io, { ...rec, eta: Number(((elapsed / (done - l.start)) * (l.iterations - done)).toFixed(1)) });
      window = {};
      n = 0;
    }
    bar.update(done, r.loss);
    if (done % l.saveEvery === 0 || done === l.iterations || timeLimited) l.save(done);
    if (timeLimited) break;
  }
  bar.stop();
  if (l.start >= l.iterations && !l.quiet) l.save(l.start);
  return { lastLoss: last, iteration: reached, timeLimited };
}

/**
 * How a `train` invocation that stopped before the run's `total` iterations (`--time-limit`, or
 * Omniglot's `--stop-at`) says so: extra fields of the JSON summary and the text after "to
 * iteration N". Both empty when the run is complete.
 */
export function stoppedEarly(r: TrainingLoopResult, total: number): { json: Record<string, unknown>; text: string } {
  if (r.iteration >= total) return { json: {}, text: '' };
  return {
    json: { of: total, ...(r.timeLimited ? { timeLimited: true } : {}) },
    text: ` of ${total} (${r.timeLimited ? '--time-limit reached' : '--stop-at'}; train again to resume)`,
  };
}

/** `--time-limit SECONDS` (wall clock for this invocation), or undefined. */
export function timeLimitOpt(values: Record<string, string | boolean | undefined>): number | undefined {
  const v = values['time-limit'];
  if (v === undefined) return undefined;
  const s = Number(v);
  if (typeof v !== 'string' || !Number.isFinite(s) || s <= 0) throw new UsageError(`--time-limit: expected a positive number of seconds (got ${String(v)})`);
  return s;
}

/** Saves the model (and Meta-SGD's rates and Adam's state) then config.json. */
export function saveCheckpoint(dir: string, cfg: RunConfig, net: mg.nn.Module, learner: Learner, opt: mg.optim.Adam | null, iteration: number): void {
  const tensors = new Map<string, mg.Tensor>();
  for (const [k, v] of Object.entries(net.stateDict())) tensors.set(`model.${k}`, v);
  if (learner.kind === 'maml' && learner.maml instanceof mg.meta.MetaSGD) learner.maml.lrs.forEach((t, i) => tensors.set(`lrs.${i}`, t));
  saveRun(dir, cfg, tensors, opt, iteration);
}

/** Loads a checkpoint into `net` (and the learner's rates, and `opt` if given); returns the saved iteration. */
export function loadCheckpoint(dir: string, net: mg.nn.Module, learner: Learner, opt: mg.optim.Adam | null): number {
  return loadRun(dir, opt, (tensors) => {
    net.loadStateDict(withPrefix(tensors, 'model'));
    if (learner.kind === 'maml' && learner.maml instanceof mg.meta.MetaSGD) {
      learner.maml.lrs.forEach((t, i) => {
        const v = tensors.get(`lrs.${i}`);
        if (v === undefined) throw new Error(`${modelPath(dir)}: missing lrs.${i}`);
        mg.noGrad(() => mg.copy_(t, v));
      });
    }
  });
}

/** Restores a trained network and its learner from DIR (for eval and plot). */
export function restore(dir: string): { cfg: RunConfig; net: mg.nn.Sequential; learner: Learner; iteration: number } {
  const cfg = readConfig(dir);
  if (!fs.existsSync(modelPath(dir))) throw new Error(`no checkpoint in ${dir} (${modelPath(dir)} is missing)`);
  mg.manualSeed(cfg.seed);
  const net = buildNet(cfg.hidden, cfg.activation);
  const learner = buildLearner(cfg, net);
  const iteration = loadCheckpoint(dir, net, learner, null);
  return { cfg, net, learner, iteration };
}

/**
 * Query MSE after each number of adaptation steps in `steps` (ascending), for one task; the
 * adaptation continues from one count to the next. Frees everything it makes.
 */
export function adaptedLosses(learner: mg.meta.MAML, task: mg.data.Task, steps: readonly number[]): number[] {
  const out: number[] = [];
  mg.tidy(() => {
    let params = learner.initialParameters();
    let done = 0;
    for (const s of steps) {
      params = learner.adapt(task.support, params, s - done, { mode: 'eval' });
      done = s;
      out.push(mg.noGrad(() => learner.loss(params, task.query).item()));
    }
  });
  return out;
}
