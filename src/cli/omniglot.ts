/**
 * `metagrad train|eval --task omniglot|omniglot-lake`: few-shot classification on Omniglot with the
 * conv4 network (`mg.nn.Conv4`) and MAML, first-order MAML, MAML++ or iMAML.
 *
 * - `--task omniglot`: the MAML protocol (1,200 meta-training characters of all 1,623, rotations by
 *   90/180/270 degrees as extra classes, the remaining 423 characters for meta-test), N-way K-shot
 *   episodes; `eval` reports the query accuracy with a 95% CI over E test episodes.
 * - `--task omniglot-lake`: Lake's protocol: meta-train on `images_background` (or a minimal split
 *   with `--lake-set background_small1|background_small2`), evaluate on the 20 within-alphabet
 *   20-way one-shot runs of `all_runs.zip`; `eval` reports the error rate.
 *
 * MAML and first-order MAML run as `mg.meta.MAMLpp` with every MAML++ switch off (shared batch
 * norm, every parameter adapted, one fixed inner rate: plain MAML's meta-gradient, tested in
 * test/meta/mamlpp.test.ts); `--algo mamlpp` turns the switches on, each with its own option for
 * ablations. The data is read from `--data PATH` (a folder with the official zips, or one zip).
 *
 * Checkpoint (DIR/model.safetensors, its metadata holding the config, + DIR/config.json, a copy;
 * Note [One-file checkpoint] in common.ts): the learner's state
 * (`model.<name>`: the network's parameters and batch-norm buffers, MAML++'s `innerLr.<name>`),
 * Adam's state, and the iteration; a run resumes from it with the same episodes as an
 * uninterrupted one (each iteration seeds the generator from (seed, iteration)).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../index.js';
import { choiceOpt, fmtDuration, intOpt, jsonLine, numOpt, parse, strOpt, UsageError, type CliIO } from './args.js';
import { progressBar, type Progress } from './progress.js';
import { configPath, loadRun, openRunDir, readConfigText, modelPath, runTrainingLoop, stoppedEarly, timeLimitOpt, saveRun, trimMetrics, withPrefix } from './common.js';


export const OMNIGLOT_ALGOS = ['maml', 'fomaml', 'mamlpp', 'imaml'] as const;
export type OmniglotAlgo = (typeof OMNIGLOT_ALGOS)[number];
export const OMNIGLOT_TASKS = ['omniglot', 'omniglot-lake'] as const;
export type OmniglotTaskName = (typeof OMNIGLOT_TASKS)[number];
const LAKE_SETS = ['background', 'background_small1', 'background_small2'] as const;

/** DIR/config.json of an Omniglot run. */
export interface OmniglotRunConfig {
  format: 'metagrad-cli/1';
  task: OmniglotTaskName;
  algo: OmniglotAlgo;
  data: string;
  lakeSet: (typeof LAKE_SETS)[number];
  iterations: number;
  iteration: number;
  metaBatch: number;
  metaLr: number;
  innerSteps: number;
  innerLr: number;
  /** Inner steps at evaluation (default: MAML 3 as in Finn et al., else innerSteps). */
  evalSteps: number;
  ways: number;
  shots: number;
  query: number;
  firstOrder: boolean;
  seed: number;
  device: 'cpu';
  filters: number;
  downsample: 'maxpool' | 'stride';
  /** MAML++ switches (all off for maml/fomaml/imaml). */
  msl: boolean;
  mslEpochs: number;
  daEpochs: number;
  lslr: boolean;
  bnrs: boolean;
  bnwb: boolean;
  caEpochs: number;
  epochIterations: number;
  /** iMAML. */
  lambda: number;
  cgSteps: number;
}

export const OMNIGLOT_TRAIN_USAGE = `usage: metagrad train --algo <${OMNIGLOT_ALGOS.join('|')}> --task <omniglot|omniglot-lake> --data PATH --out DIR
  [--ways N] [--shots K] [--query Q] [--iterations N] [--meta-batch B] [--meta-lr LR]
  [--inner-steps K] [--inner-lr A] [--eval-steps S] [--first-order] [--filters F] [--downsample maxpool|stride]
  [--lake-set background|background_small1|background_small2] [--seed S] [--save-every N] [--time-limit SECONDS] [--stop-at N] [--per-task] [--log-every N] [--json]
  MAML++ switches (--algo mamlpp): [--no-msl] [--msl-epochs E] [--da-epochs E] [--no-lslr] [--no-bnrs] [--no-bnwb]
  [--ca-epochs E (0: off)] [--epoch-iterations N]
  iMAML: [--lambda L] [--cg-steps N]
  (--device: the Omniglot tasks run on the CPU only for now)

examples:
  metagrad train --algo mamlpp --task omniglot --data ../shared/data/omniglot --out runs/pp --meta-batch 8 --iterations 300
  metagrad train --algo maml --task omniglot-lake --lake-set background_small1 --data DIR --out runs/lake --time-limit 3600`;

const TRAIN_OPTIONS = {
  algo: { type: 'string' },
  task: { type: 'string' },
  data: { type: 'string' },
  out: { type: 'string' },
  ways: { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  iterations: { type: 'string' },
  'meta-batch': { type: 'string' },
  'meta-lr': { type: 'string' },
  'inner-steps': { type: 'string' },
  'inner-lr': { type: 'string' },
  'eval-steps': { type: 'string' },
  'first-order': { type: 'boolean' },
  filters: { type: 'string' },
  downsample: { type: 'string' },
  'lake-set': { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  'save-every': { type: 'string' },
  'time-limit': { type: 'string' },
  'stop-at': { type: 'string' },
  'per-task': { type: 'boolean' },
  'log-every': { type: 'string' },
  json: { type: 'boolean' },
  'no-msl': { type: 'boolean' },
  'msl-epochs': { type: 'string' },
  'da-epochs': { type: 'string' },
  'no-lslr': { type: 'boolean' },
  'no-bnrs': { type: 'boolean' },
  'no-bnwb': { type: 'boolean' },
  'ca-epochs': { type: 'string' },
  'epoch-iterations': { type: 'string' },
  lambda: { type: 'string' },
  'cg-steps': { type: 'string' },
} as const;

function deviceCpu(values: Record<string, unknown>): 'cpu' {
  const d = choiceOpt(values, 'device', ['cpu', 'cuda'] as const, 'cpu');
  if (d === 'cuda') throw new UsageError("--device: 'cuda' is not wired into the Omniglot commands yet (use cpu)");
  return 'cpu';
}

function configFrom(values: Record<string, string | boolean | undefined>): OmniglotRunConfig {
  const algo = choiceOpt<OmniglotAlgo>(values, 'algo', OMNIGLOT_ALGOS);
  const task = choiceOpt<OmniglotTaskName>(values, 'task', OMNIGLOT_TASKS);
  const data = path.resolve(strOpt(values, 'data'));
  if (!fs.existsSync(data)) throw new UsageError(`--data: ${data} does not exist (a folder with the official Omniglot zips, or one of them)`);
  const pp = algo === 'mamlpp';
  if (!pp) {
    for (const o of ['no-msl', 'msl-epochs', 'da-epochs', 'no-lslr', 'no-bnrs', 'no-bnwb', 'ca-epochs', 'epoch-iterations'] as const) {
      if (values[o] !== undefined) throw new UsageError(`--${o} is a MAML++ switch (--algo mamlpp)`);
    }
  }
  if (algo !== 'imaml') for (const o of ['lambda', 'cg-steps'] as const) if (values[o] !== undefined) throw new UsageError(`--${o} applies to --algo imaml`);
  const lake = task === 'omniglot-lake';
  const ways = intOpt(values, 'ways', lake ? 20 : 5);
  if (lake && ways !== 20) throw new UsageError(`--ways: Lake's one-shot runs are 20-way (got ${ways})`);
  const shots = intOpt(values, 'shots', 1);
  // Finn et al. 2017 (appendix A.1): 5-way trains with 1 step of 0.4 on meta-batches of 32 and
  // tests with 3 steps; 20-way trains and tests with 5 steps of 0.1 on meta-batches of 16.
  const maml = ways >= 20 ? { innerSteps: 5, innerLr: 0.1, metaBatch: 16, evalSteps: 5 } : { innerSteps: 1, innerLr: 0.4, metaBatch: 32, evalSteps: 3 };
  const defaults = {
    maml,
    fomaml: maml,
    mamlpp: { innerSteps: 5, innerLr: 0.1, metaBatch: 16, evalSteps: 5 },
    imaml: { innerSteps: 16, innerLr: 0.1, metaBatch: 32, evalSteps: 16 },
  }[algo];
  const innerSteps = intOpt(values, 'inner-steps', defaults.innerSteps, algo === 'mamlpp' ? 1 : 0);
  const iterations = intOpt(values, 'iterations', 60_000);
  const epochIterations = intOpt(values, 'epoch-iterations', 500);
  return {
    format: 'metagrad-cli/1',
    task,
    algo,
    data,
    lakeSet: choiceOpt(values, 'lake-set', LAKE_SETS, 'background'),
    iterations,
    iteration: 0,
    metaBatch: intOpt(values, 'meta-batch', defaults.metaBatch),
    metaLr: numOpt(values, 'meta-lr', 1e-3),
    innerSteps,
    innerLr: numOpt(values, 'inner-lr', defaults.innerLr),
    evalSteps: intOpt(values, 'eval-steps', values['inner-steps'] !== undefined && algo !== 'maml' && algo !== 'fomaml' ? innerSteps : defaults.evalSteps, 0),
    ways,
    shots,
    query: intOpt(values, 'query', shots),
    firstOrder: values['first-order'] === true || algo === 'fomaml',
    seed: intOpt(values, 'seed', 0, 0),
    device: deviceCpu(values),
    filters: intOpt(values, 'filters', 64),
    downsample: choiceOpt(values, 'downsample', ['maxpool', 'stride'] as const, algo === 'mamlpp' ? 'maxpool' : 'stride'),
    msl: pp && values['no-msl'] !== true,
    mslEpochs: intOpt(values, 'msl-epochs', 10),
    daEpochs: pp ? intOpt(values, 'da-epochs', 0, 0) : 0,
    lslr: pp && values['no-lslr'] !== true,
    bnrs: pp && values['no-bnrs'] !== true,
    bnwb: pp && values['no-bnwb'] !== true,
    caEpochs: pp ? intOpt(values, 'ca-epochs', Math.max(1, Math.ceil(iterations / epochIterations)), 0) : 0,
    epochIterations,
    lambda: numOpt(values, 'lambda', 2),
    cgSteps: intOpt(values, 'cg-steps', 5),
  };
}

/** The network and learner of a config. */
export interface OmniglotLearner {
  net: mg.nn.Conv4;
  /** MAML, FOMAML and MAML++ (switches off for the first two). */
  pp: mg.meta.MAMLpp | null;
  imaml: mg.meta.IMAML | null;
  metaParameters(): mg.Tensor[];
  /** Everything saved in the checkpoint's `model.` namespace. */
  stateDict(): Record<string, mg.Tensor>;
  loadStateDict(d: Record<string, mg.Tensor>): void;
}

/**
 * `perTask`: meta-train with the per-task loop even where the task-batched formulation applies
 * (MAML, FOMAML, and MAML++ without per-step running statistics; same meta-gradient).
 */
export function buildOmniglotLearner(cfg: OmniglotRunConfig, opts: { perTask?: boolean } = {}): OmniglotLearner {
  const pp = cfg.algo === 'mamlpp';
  const net = new mg.nn.Conv4({
    ways: cfg.ways,
    filters: cfg.filters,
    downsample: cfg.downsample,
    bnSteps: pp && (cfg.bnrs || cfg.bnwb) ? cfg.innerSteps : 1,
    perStepBnWeights: pp && cfg.bnwb,
    perStepBnStats: pp && cfg.bnrs,
  });
  if (cfg.algo === 'imaml') {
    const imaml = new mg.meta.IMAML(net, { lambda: cfg.lambda, innerSteps: cfg.innerSteps, innerLr: cfg.innerLr, cgSteps: cfg.cgSteps });
    return {
      net, pp: null, imaml,
      metaParameters: () => imaml.metaParameters(),
      stateDict: () => net.stateDict(),
      loadStateDict: (d) => net.loadStateDict(d),
    };
  }
  const learner = new mg.meta.MAMLpp(net, pp
    ? {
        innerSteps: cfg.innerSteps, innerLr: cfg.innerLr, iterationsPerEpoch: cfg.epochIterations,
        multiStepLoss: cfg.msl, multiStepLossEpochs: cfg.mslEpochs, secondOrder: !cfg.firstOrder, firstOrderEpochs: cfg.daEpochs,
        learnInnerLr: cfg.lslr, cosineAnnealing: cfg.caEpochs > 0 ? { epochs: cfg.caEpochs, etaMin: 1e-5 } : null,
        taskBatched: opts.perTask !== true && !cfg.bnrs,
      }
    : {
        innerSteps: cfg.innerSteps, innerLr: cfg.innerLr, multiStepLoss: false, secondOrder: !cfg.firstOrder, firstOrderEpochs: 0,
        learnInnerLr: false, cosineAnnealing: null, adaptBatchNorm: true, taskBatched: opts.perTask !== true,
      });
  return {
    net, pp: learner, imaml: null,
    metaParameters: () => learner.metaParameters(),
    stateDict: () => learner.stateDict(),
    loadStateDict: (d) => learner.loadStateDict(d),
  };
}

/**
 * `mg.data.loadOmniglot` with a progress bar (and ETA) per set that is decoded (on a terminal; a
 * set read from the cache takes well under a second and shows none), and, on stderr when not
 * `--json`, one line per decoded set saying how long it took and where it was cached.
 */
function loadWithProgress(io: CliIO, json: boolean, data: string, sets: mg.data.OmniglotSetName[]): mg.data.OmniglotDataset {
  let bar: Progress | null = null;
  let t0 = 0;
  const ds = mg.data.loadOmniglot(data, {
    sets,
    onProgress: ({ set, done, total }) => {
      if (done === 0) {
        t0 = Date.now();
        bar = progressBar(json ? { ...io, isTTY: false } : io, total, '', 0, `decoding ${set} (once; cached after)`);
      }
      bar?.update(done, '');
      if (done === total) {
        bar?.stop();
        bar = null;
        if (!json) io.stderr.write(`decoded ${total} drawings of ${set} in ${fmtDuration((Date.now() - t0) / 1000)}\n`);
      }
    },
  });
  for (const s of ds.sources) if (!json && (s.cache === 'written' || s.cache === 'rebuilt')) io.stderr.write(`cached ${s.set} in ${s.cacheFile}\n`);
  return ds;
}

/** The training characters' dataset for a config. */
function loadTrainingSet(io: CliIO, json: boolean, cfg: OmniglotRunConfig): mg.data.OmniglotDataset {
  return loadWithProgress(io, json, cfg.data, cfg.task === 'omniglot-lake' ? [cfg.lakeSet] : ['background', 'evaluation']);
}

function readOmniglotConfig(dir: string): OmniglotRunConfig {
  let p = configPath(dir);
  let cfg: OmniglotRunConfig;
  try {
    const r = readConfigText(dir);
    p = r.path;
    cfg = JSON.parse(r.text) as OmniglotRunConfig;
  } catch (e) {
    throw new Error(`cannot read ${p}: ${(e as Error).message}`);
  }
  if (cfg.format !== 'metagrad-cli/1' || !OMNIGLOT_TASKS.includes(cfg.task) || !OMNIGLOT_ALGOS.includes(cfg.algo)) throw new Error(`${p} is not a metagrad Omniglot run config`);
  return cfg;
}

/** Whether DIR holds an Omniglot run (its config names an Omniglot task). */
export function isOmniglotRun(dir: string): boolean {
  try {
    const t = (JSON.parse(fs.readFileSync(configPath(dir), 'utf8')) as { task?: string }).task;
    return t !== undefined && (OMNIGLOT_TASKS as readonly string[]).includes(t);
  } catch {
    return false;
  }
}

function save(dir: string, cfg: OmniglotRunConfig, learner: OmniglotLearner, opt: mg.optim.Adam, iteration: number): void {
  const tensors = new Map<string, mg.Tensor>();
  for (const [k, v] of Object.entries(learner.stateDict())) tensors.set(`model.${k}`, v);
  saveRun(dir, cfg, tensors, opt, iteration);
}

function load(dir: string, learner: OmniglotLearner, opt: mg.optim.Adam | null): number {
  return loadRun(dir, opt, (tensors) => learner.loadStateDict(Object.fromEntries(withPrefix(tensors, 'model'))));
}

/** Options that fix what a checkpoint is; a resumed run may not change them. */
const FIXED: [string, keyof OmniglotRunConfig][] = [
  ['algo', 'algo'], ['task', 'task'], ['ways', 'ways'], ['shots', 'shots'], ['query', 'query'], ['meta-batch', 'metaBatch'], ['meta-lr', 'metaLr'],
  ['inner-steps', 'innerSteps'], ['inner-lr', 'innerLr'], ['first-order', 'firstOrder'], ['seed', 'seed'], ['filters', 'filters'],
  ['downsample', 'downsample'], ['lake-set', 'lakeSet'],
];

export async function trainOmniglot(argv: string[], io: CliIO): Promise<number> {
  const { values } = parse(argv, TRAIN_OPTIONS);
  const out = strOpt(values, 'out');
  const json = values.json === true;
  const saveEvery = intOpt(values, 'save-every', 100);
  const logEvery = intOpt(values, 'log-every', 10);
  let cfg = configFrom(values);
  const { resuming } = openRunDir(out);
  if (resuming) {
    const saved = readOmniglotConfig(out);
    const conflicts = FIXED.filter(([opt, key]) => values[opt] !== undefined && saved[key] !== cfg[key]).map(([opt, key]) => `--${opt} (${String(cfg[key])}; the checkpoint has ${String(saved[key])})`);
    if (conflicts.length) throw new UsageError(`${out} holds a checkpoint trained with other settings: ${conflicts.join(', ')}; use another --out`);
    cfg = { ...saved, data: cfg.data, iterations: values.iterations !== undefined ? cfg.iterations : saved.iterations };
  }
  const t0 = Date.now();
  const ds = loadTrainingSet(io, json, cfg);
  const loadSeconds = (Date.now() - t0) / 1000;
  const splits = cfg.task === 'omniglot-lake' ? mg.data.omniglotLakeSplits(ds, { background: cfg.lakeSet }) : mg.data.omniglotMamlSplits(ds);
  const sampler = new mg.data.OmniglotSampler(ds, { ways: cfg.ways, shots: cfg.shots, queries: cfg.query, split: 'train', splits, rotations: true });
  fs.mkdirSync(out, { recursive: true });
  mg.manualSeed(cfg.seed);
  const learner = buildOmniglotLearner(cfg, { perTask: values['per-task'] === true });
  const opt = new mg.optim.Adam(learner.metaParameters(), { lr: cfg.metaLr });
  let start = 0;
  if (resuming) {
    start = load(out, learner, opt);
    if (learner.pp) learner.pp.iteration = start;
    trimMetrics(out, start);
    if (!json) io.stderr.write(`resuming ${cfg.algo} from ${out} at iteration ${start}/${cfg.iterations}\n`);
  }
  // --stop-at: end this invocation there (a later `train` resumes) without changing the run's
  // length, which MAML++'s schedules are laid over.
  const stopAt = Math.min(cfg.iterations, intOpt(values, 'stop-at', cfg.iterations));
  const loop = runTrainingLoop({
    io, json, out, start, iterations: stopAt, seed: cfg.seed, logEvery, saveEvery, timeLimit: timeLimitOpt(values), metricName: 'meta-loss',
    step: () => ({
      loss: mg.tidy(() => {
        const tasks = sampler.sample(cfg.metaBatch);
        return learner.pp ? learner.pp.step(tasks, opt) : learner.imaml!.step(tasks, opt);
      }),
    }),
    save: (done) => save(out, cfg, learner, opt, done),
  });
  opt.dispose?.();
  const seconds = (Date.now() - t0) / 1000;
  const { lastLoss, iteration: finalIteration } = loop;
  const early = stoppedEarly(loop, cfg.iterations);
  if (json) jsonLine(io, { summary: true, iterations: finalIteration, ...early.json, seconds: Number(seconds.toFixed(3)), loadSeconds: Number(loadSeconds.toFixed(3)), out });
  else io.stdout.write(`trained ${cfg.algo} on ${cfg.task} to iteration ${finalIteration}${early.text} in ${fmtDuration(seconds)} (data ${fmtDuration(loadSeconds)})${Number.isNaN(lastLoss) ? '' : `, last meta-loss ${lastLoss.toFixed(4)}`}; checkpoint in ${out}\n`);
  return 0;
}

/** Query accuracy of one task after `steps` graph-free adaptation steps. */
function taskAccuracy(learner: OmniglotLearner, task: mg.data.Task, steps: number): number {
  if (learner.pp) {
    const r = learner.pp.evaluateMetrics([task], { steps });
    return r.accuracy!;
  }
  const imaml = learner.imaml!;
  return mg.tidy(() => {
    const phi = imaml.adapt(task.support, { steps });
    return mg.noGrad(() => mg.nn.functional.accuracy(imaml.predict(phi, task.query.x), task.query.y));
  });
}

const EVAL_OPTIONS = {
  checkpoint: { type: 'string' },
  task: { type: 'string' },
  data: { type: 'string' },
  ways: { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  steps: { type: 'string' },
  episodes: { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const OMNIGLOT_EVAL_USAGE = `usage: metagrad eval --checkpoint DIR [--task omniglot|omniglot-lake] [--data PATH]
  [--ways N] [--shots K] [--query Q] [--steps S[,S...]] [--episodes E] [--seed S] [--json]
  (an Omniglot checkpoint; --task omniglot-lake needs a 20-way one; --device: CPU only for now)

examples:
  metagrad eval --checkpoint runs/pp --episodes 200           # 5-way accuracy +- 95% CI
  metagrad eval --checkpoint runs/lake --task omniglot-lake   # error rate over Lake's 20 runs`;

/** Seed of the held-out episodes (no training iteration uses it). */
const OMNIGLOT_EVAL_SEED = 9_007_199_254_740_100;

export async function evalOmniglot(argv: string[], io: CliIO, parseSteps: (s: string | undefined, def: number[]) => number[]): Promise<number> {
  const { values } = parse(argv, EVAL_OPTIONS);
  const dir = strOpt(values, 'checkpoint');
  deviceCpu(values);
  const cfg = readOmniglotConfig(dir);
  if (!fs.existsSync(modelPath(dir))) throw new Error(`no checkpoint in ${dir} (${modelPath(dir)} is missing)`);
  const task = choiceOpt<OmniglotTaskName>(values, 'task', OMNIGLOT_TASKS, cfg.task);
  const data = values.data !== undefined ? path.resolve(strOpt(values, 'data')) : cfg.data;
  const steps = parseSteps(values.steps as string | undefined, [cfg.evalSteps]);
  const seed = values.seed === undefined ? OMNIGLOT_EVAL_SEED : intOpt(values, 'seed', 0, 0);
  mg.manualSeed(cfg.seed);
  const learner = buildOmniglotLearner(cfg);
  load(dir, learner, null);
  const perStep: number[][] = steps.map(() => []);
  const json = values.json === true;
  const t0 = Date.now();
  let loadSeconds: number;
  let bar: Progress;
  // The running mean of the first step count's metric, for the bar.
  const running = () => perStep[0].reduce((a, b) => a + b, 0) / Math.max(1, perStep[0].length);
  let episodes: number;
  if (task === 'omniglot-lake') {
    if (cfg.ways !== 20) throw new UsageError(`--task omniglot-lake needs a 20-way model; ${dir} is ${cfg.ways}-way`);
    const runs = mg.data.loadLakeRuns(data);
    loadSeconds = (Date.now() - t0) / 1000;
    episodes = runs.runs.length;
    bar = progressBar(json ? { ...io, isTTY: false } : io, episodes, `error (${steps[0]} steps)`, 0, "evaluating Lake's runs");
    for (let i = 0; i < episodes; i++) {
      mg.tidy(() => {
        const t = runs.task(i);
        steps.forEach((s, k) => perStep[k].push(1 - taskAccuracy(learner, t, s)));
      });
      bar.update(i + 1, running());
    }
  } else {
    const ways = intOpt(values, 'ways', cfg.ways);
    if (ways !== cfg.ways) throw new UsageError(`--ways: the model has a ${cfg.ways}-way head (got ${ways})`);
    const shots = intOpt(values, 'shots', cfg.shots);
    const query = intOpt(values, 'query', cfg.query);
    episodes = intOpt(values, 'episodes', 1000);
    const ds = loadWithProgress(io, json, data, ['background', 'evaluation']);
    loadSeconds = (Date.now() - t0) / 1000;
    const sampler = new mg.data.OmniglotSampler(ds, { ways, shots, queries: query, split: 'test', splits: mg.data.omniglotMamlSplits(ds), rotations: false });
    mg.manualSeed(seed);
    bar = progressBar(json ? { ...io, isTTY: false } : io, episodes, `accuracy (${steps[0]} steps)`, 0, 'evaluating');
    for (let e = 0; e < episodes; e++) {
      mg.tidy(() => {
        const [t] = sampler.sample(1);
        steps.forEach((s, k) => perStep[k].push(taskAccuracy(learner, t, s)));
      });
      bar.update(e + 1, running());
    }
  }
  bar.stop();
  const evalSeconds = (Date.now() - t0) / 1000 - loadSeconds;
  const metric = task === 'omniglot-lake' ? 'error' : 'accuracy';
  const results = steps.map((s, k) => {
    const xs = perStep[k];
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    return { steps: s, mean, ci95: (1.96 * sd) / Math.sqrt(n) };
  });
  if (values.json === true) {
    for (const r of results) jsonLine(io, r);
    jsonLine(io, { summary: true, task, metric, episodes, results, loadSeconds: Number(loadSeconds.toFixed(3)), seconds: Number(evalSeconds.toFixed(3)) });
  } else {
    io.stdout.write(`${cfg.algo} from ${dir}: ${task === 'omniglot-lake' ? `error rate over Lake's ${episodes} one-shot runs` : `query accuracy over ${episodes} test episodes (${cfg.ways}-way)`}\n`);
    io.stdout.write(`${'steps'.padStart(6)}  ${metric.padStart(10)}  ${'95% CI'.padStart(10)}\n`);
    for (const r of results) io.stdout.write(`${String(r.steps).padStart(6)}  ${(100 * r.mean).toFixed(2).padStart(9)}%  ${`±${(100 * r.ci95).toFixed(2)}`.padStart(9)}%\n`);
    io.stdout.write(`(data loaded in ${fmtDuration(loadSeconds)}, evaluated in ${fmtDuration(evalSeconds)})\n`);
  }
  return 0;
}
