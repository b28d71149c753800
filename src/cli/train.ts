/**
 * `metagrad train`: meta-trains the 1-40-40-1 ReLU net on MAML's sinusoid task, checkpoints to
 * DIR every `--save-every` iterations and at the end, and resumes from DIR.
 *
 * `--algo pretrain` is the MAML paper's baseline: the same network trained with Adam (`--meta-lr`)
 * as ordinary regression on the support and query points of `--meta-batch` fresh tasks per
 * iteration; `eval` fine-tunes it with SGD at `--inner-lr` like the others.
 *
 * Resuming restores the network, Meta-SGD's rates, Adam's moments and step counts, and the
 * iteration count; each iteration seeds the generator from (seed, iteration), so a resumed run
 * samples the same tasks as an uninterrupted one. Reptile keeps no optimizer state (its outer
 * step size depends on the iteration only).
 */
import { plot } from './plot.js';
import { isL2lTrain, L2L_TRAIN_USAGE, trainL2l } from './l2l.js';
import * as fs from 'node:fs';
import * as mg from '../index.js';
import { OMNIGLOT_TRAIN_USAGE, trainOmniglot } from './omniglot.js';
import { joinFromEnv, type DataParallel } from './data_parallel.js';
import { launch } from './launch.js';
import { choiceOpt, deviceOpt, fmtDuration, intOpt, jsonLine, numOpt, parse, peekOption, strOpt, UsageError, type CliIO } from './args.js';
import {
  ALGOS, buildLearner, buildNet, configPath, loadCheckpoint, mamlStep, modelPath, openRunDir, pretrainTasks, readConfig, runTrainingLoop, stoppedEarly, timeLimitOpt, saveCheckpoint, trimMetrics,
  TASKS, type Algo, type RunConfig, type TaskName,
} from './common.js';

/** `train` on the sinusoid tasks. */
export const SINUSOID_TRAIN_USAGE = `usage: metagrad train --algo <${ALGOS.join('|')}> --task <${TASKS.join('|')}> --out DIR
  [--iterations N] [--meta-batch B] [--meta-lr LR] [--inner-steps K] [--inner-lr A]
  [--shots K] [--query Q] [--first-order] [--seed S] [--device cpu] [--save-every N] [--time-limit SECONDS]
  [--log-every N] [--per-task] [--json]
  data parallel (MAML family, --task sinusoid; docs/distributed.md): [--nproc N] [--nnodes M --node-rank K
    --master-addr HOST --master-port PORT] [--distributed (join from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)]
  sinusoid-reptile (the OpenAI Reptile sine example; --algo reptile): [--inner-batch 10] [--inner-epochs 1]
  (--device: the sinusoid tasks run on the CPU only)

examples:
  metagrad train --algo maml --task sinusoid --out runs/maml --iterations 2000 --meta-batch 10
  metagrad train --algo reptile --task sinusoid-reptile --out runs/reptile --time-limit 600`;

export const TRAIN_USAGE = `${SINUSOID_TRAIN_USAGE}

${OMNIGLOT_TRAIN_USAGE}

${L2L_TRAIN_USAGE}`;

const OPTIONS = {
  algo: { type: 'string' },
  task: { type: 'string' },
  out: { type: 'string' },
  iterations: { type: 'string' },
  'meta-batch': { type: 'string' },
  'meta-lr': { type: 'string' },
  'inner-steps': { type: 'string' },
  'inner-lr': { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  'first-order': { type: 'boolean' },
  'per-task': { type: 'boolean' },
  'inner-batch': { type: 'string' },
  'inner-epochs': { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  'save-every': { type: 'string' },
  'time-limit': { type: 'string' },
  'log-every': { type: 'string' },
  json: { type: 'boolean' },
  nproc: { type: 'string' },
  nnodes: { type: 'string' },
  'node-rank': { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
  distributed: { type: 'boolean' },
} as const;

const LAUNCH_OPTIONS = ['nproc', 'nnodes', 'node-rank', 'master-addr', 'master-port'] as const;

/** argv without the launcher's own options (what each rank runs). */
function withoutLaunchOptions(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = LAUNCH_OPTIONS.find((o) => a === `--${o}` || a.startsWith(`--${o}=`));
    if (name === undefined) out.push(a);
    else if (a === `--${name}`) i++; // its value
  }
  return out;
}

/** Options that fix what a checkpoint is; a resumed run may not change them. */
const FIXED: [string, keyof RunConfig][] = [
  ['algo', 'algo'], ['meta-batch', 'metaBatch'], ['meta-lr', 'metaLr'], ['inner-steps', 'innerSteps'], ['inner-lr', 'innerLr'],
  ['shots', 'shots'], ['query', 'query'], ['first-order', 'firstOrder'], ['seed', 'seed'], ['task', 'task'],
  ['inner-batch', 'innerBatch'], ['inner-epochs', 'innerEpochs'],
];

function configFrom(values: Record<string, string | boolean | undefined>): RunConfig {
  const algo = choiceOpt<Algo>(values, 'algo', ALGOS);
  const task = choiceOpt<TaskName>(values, 'task', TASKS);
  const reptile = algo === 'reptile';
  const shots = intOpt(values, 'shots', 10);
  if (task === 'sinusoid-reptile') {
    // The OpenAI Reptile sine example: serial Reptile (one task per outer step), 1-64-64-1 tanh,
    // SGD 0.02 on minibatches of 10 of the 50 points, outer step 0.1 annealed linearly, 30,000
    // iterations.
    if (!reptile) throw new UsageError(`--task sinusoid-reptile: only --algo reptile trains on it (got '${algo}')`);
    for (const o of ['inner-steps', 'first-order', 'query'] as const) {
      if (values[o] !== undefined) throw new UsageError(`--${o} does not apply to --task sinusoid-reptile (the inner loop is one SGD step per minibatch: see --inner-batch, --inner-epochs)`);
    }
    const innerBatch = intOpt(values, 'inner-batch', 10);
    const innerEpochs = intOpt(values, 'inner-epochs', 1);
    return {
      format: 'metagrad-cli/1', task, algo,
      iterations: intOpt(values, 'iterations', 30_000),
      iteration: 0,
      metaBatch: intOpt(values, 'meta-batch', 1),
      metaLr: numOpt(values, 'meta-lr', 0.1),
      innerSteps: Math.ceil(50 / innerBatch) * innerEpochs,
      innerLr: numOpt(values, 'inner-lr', 0.02),
      shots, query: shots, firstOrder: true,
      seed: intOpt(values, 'seed', 0, 0),
      device: deviceOpt(values),
      hidden: [64, 64], activation: 'tanh', innerBatch, innerEpochs,
    };
  }
  for (const o of ['inner-batch', 'inner-epochs'] as const) {
    if (values[o] !== undefined) throw new UsageError(`--${o} applies only to --task sinusoid-reptile`);
  }
  return {
    format: 'metagrad-cli/1',
    task,
    algo,
    iterations: intOpt(values, 'iterations', 10_000),
    iteration: 0,
    metaBatch: intOpt(values, 'meta-batch', reptile ? 1 : 25),
    metaLr: numOpt(values, 'meta-lr', reptile ? 0.1 : 1e-3),
    innerSteps: intOpt(values, 'inner-steps', reptile ? 5 : 1, reptile ? 1 : 0),
    innerLr: numOpt(values, 'inner-lr', reptile ? 0.02 : 0.01),
    shots,
    query: intOpt(values, 'query', shots),
    firstOrder: values['first-order'] === true || algo === 'fomaml',
    seed: intOpt(values, 'seed', 0, 0),
    device: deviceOpt(values),
    hidden: [40, 40],
    activation: 'relu',
  };
}

function dataParallelSupported(cfg: RunConfig): void {
  if (cfg.algo === 'reptile' || cfg.task !== 'sinusoid') throw new UsageError(`--nproc/--distributed: data-parallel training is implemented for the MAML family on --task sinusoid (got --algo ${cfg.algo} --task ${cfg.task})`);
}

export async function train(argv: string[], io: CliIO): Promise<number> {
  const parallel = argv.some((a) => a === '--distributed' || LAUNCH_OPTIONS.some((o) => a === `--${o}` || a.startsWith(`--${o}=`)));
  if (parallel && (isL2lTrain(argv) || peekOption(argv, 'task')?.startsWith('omniglot'))) {
    throw new UsageError('--nproc/--distributed: data-parallel training is implemented for the MAML family on --task sinusoid only (Omniglot and l2l train in one process; mg.distributed works in your own loops)');
  }
  if (isL2lTrain(argv)) return trainL2l(argv, io);
  if (peekOption(argv, 'task')?.startsWith('omniglot')) return trainOmniglot(argv, io);
  const { values } = parse(argv, OPTIONS);
  if (values.nproc !== undefined) {
    if (values.distributed) throw new UsageError('--nproc launches ranks; --distributed is what each of them runs (give one of them)');
    dataParallelSupported(configFrom(values)); // reject bad options once, here, rather than in every rank
    return launch(withoutLaunchOptions(argv), io, {
      nproc: intOpt(values, 'nproc', 1),
      nnodes: intOpt(values, 'nnodes', 1),
      nodeRank: intOpt(values, 'node-rank', 0, 0),
      masterAddr: values['master-addr'] === undefined ? undefined : strOpt(values, 'master-addr'),
      masterPort: values['master-port'] === undefined ? undefined : intOpt(values, 'master-port', 0, 1),
    });
  }
  for (const o of LAUNCH_OPTIONS) if (values[o] !== undefined) throw new UsageError(`--${o} applies only with --nproc`);
  const dp = values.distributed ? await joinFromEnv() : null;
  try {
    return await trainRun(values, io, dp);
  } finally {
    dp?.destroy();
  }
}

async function trainRun(values: Record<string, string | boolean | undefined>, io: CliIO, dp: DataParallel | null): Promise<number> {
  const lead = dp === null || dp.rank === 0;
  const out = strOpt(values, 'out');
  const json = values.json === true;
  const saveEvery = intOpt(values, 'save-every', 500);
  const logEvery = intOpt(values, 'log-every', 10);
  let cfg = configFrom(values);
  if (dp) dataParallelSupported(cfg);
  // Rank 0 owns the run directory (stale temporaries, a fresh metrics file); the others only look.
  const { resuming } = lead ? openRunDir(out) : { resuming: fs.existsSync(modelPath(out)) && fs.existsSync(configPath(out)) };
  if (resuming) {
    const saved = readConfig(out);
    const conflicts = FIXED.filter(([opt, key]) => values[opt] !== undefined && saved[key] !== cfg[key]).map(([opt, key]) => `--${opt} (${String(cfg[key])}; the checkpoint has ${String(saved[key])})`);
    if (conflicts.length) throw new UsageError(`${out} holds a checkpoint trained with other settings: ${conflicts.join(', ')}; use another --out`);
    cfg = { ...saved, iterations: values.iterations !== undefined ? cfg.iterations : saved.iterations };
  }
  if (lead) fs.mkdirSync(out, { recursive: true });

  mg.manualSeed(cfg.seed);
  const net = buildNet(cfg.hidden, cfg.activation);
  const learner = buildLearner(cfg, net);
  const opt = learner.kind === 'maml' ? new mg.optim.Adam(learner.maml.metaParameters(), { lr: cfg.metaLr }) : null;
  let start = 0;
  if (resuming) {
    start = loadCheckpoint(out, net, learner, opt);
    if (learner.kind === 'reptile') learner.reptile.iteration = start;
    if (lead) trimMetrics(out, start); // metrics logged after the checkpoint (an interrupted run)
    if (!json && lead) io.stderr.write(`resuming ${cfg.algo} from ${out} at iteration ${start}/${cfg.iterations}\n`);
  }

  if (dp) {
    // Every rank must resume from the same checkpoint (--out on a shared filesystem), then starts
    // from rank 0's parameters.
    const at0 = dp.agreeInt(start);
    if (at0 !== start) throw new Error(`rank ${dp.rank}: ${out} ${resuming ? `holds iteration ${start}` : 'holds no checkpoint'} but rank 0 resumes at iteration ${at0}: a data-parallel resume needs --out on a filesystem shared by all ranks`);
    dp.broadcast(learner.kind === 'maml' ? learner.maml.metaParameters() : net.parameters());
  }
  const formulation = values['per-task'] === true ? 'loop' : 'batched';
  const sampler = cfg.task === 'sinusoid-reptile' ? new mg.data.ReptileSinusoid({ innerBatch: cfg.innerBatch }) : new mg.data.MamlSinusoid({ shots: cfg.shots, query: cfg.query });
  const t0 = Date.now();
  const loop = runTrainingLoop({
    io, json, out, start, iterations: cfg.iterations, seed: cfg.seed, logEvery, saveEvery, timeLimit: timeLimitOpt(values), metricName: 'meta-loss',
    quiet: !lead,
    ...(dp ? { agree: (stop: boolean) => dp.agree(stop) } : {}),
    step: () => ({
      loss: mg.tidy(() => {
        const sampled = sampler.sample(cfg.metaBatch);
        if (dp) {
          // Note [Data-parallel meta-batches] (data_parallel.ts): this rank's share of the same tasks.
          const [lo, hi] = dp.share(cfg.metaBatch);
          const all = cfg.algo === 'pretrain' ? pretrainTasks(sampled as mg.data.Task[]) : (sampled as mg.data.Task[]);
          const mine = all.slice(lo, hi);
          const weight = mine.length / cfg.metaBatch;
          return mamlStep(cfg, (learner as { maml: mg.meta.MAML }).maml, opt!, mine, formulation, { weight, sync: (ps, l) => dp.syncGrads(ps, l) });
        }
        if (learner.kind === 'reptile') {
          if (cfg.task === 'sinusoid-reptile') {
            const epochs = cfg.innerEpochs ?? 1;
            return learner.reptile.stepBatch((sampled as mg.data.ReptileSinusoidTask[]).map((t) => t.minibatches(cfg.innerBatch, epochs))).loss;
          }
          return learner.reptile.stepBatch(sampled).loss;
        }
        const tasks = cfg.algo === 'pretrain' ? pretrainTasks(sampled) : sampled;
        return mamlStep(cfg, learner.maml, opt!, tasks, formulation);
      }),
    }),
    save: (done) => saveCheckpoint(out, cfg, net, learner, opt, done),
  });
  opt?.dispose?.();
  if (!lead) return 0;
  // The plots of API.md's `train` (also `metagrad plot DIR` on its own), silently: the summary
  // stays the last line of the output.
  const silent = { write: () => true };
  await plot([out], { stdout: silent, stderr: silent });
  const seconds = (Date.now() - t0) / 1000;
  const { lastLoss, iteration: finalIteration } = loop;
  const early = stoppedEarly(loop, cfg.iterations);
  if (json) jsonLine(io, { summary: true, iterations: finalIteration, ...early.json, seconds: Number(seconds.toFixed(3)), out, ...(dp ? { ranks: dp.worldSize } : {}) });
  else io.stdout.write(`trained ${cfg.algo}${dp ? ` on ${dp.worldSize} ranks` : ''} to iteration ${finalIteration}${early.text} in ${fmtDuration(seconds)}${Number.isNaN(lastLoss) ? '' : `, last meta-loss ${lastLoss.toFixed(4)}`}; checkpoint in ${out}\n`);
  return 0;
}
