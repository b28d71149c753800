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
import { choiceOpt, deviceOpt, fmtDuration, intOpt, jsonLine, numOpt, parse, peekOption, strOpt, UsageError, type CliIO } from './args.js';
import {
  ALGOS, buildLearner, buildNet, configPath, loadCheckpoint, mamlStep, modelPath, pretrainTasks, readConfig, runTrainingLoop, stoppedEarly, timeLimitOpt, saveCheckpoint, trimMetrics,
  TASKS, type Algo, type RunConfig, type TaskName,
} from './common.js';

/** `train` on the sinusoid tasks. */
export const SINUSOID_TRAIN_USAGE = `usage: metagrad train --algo <${ALGOS.join('|')}> --task <${TASKS.join('|')}> --out DIR
  [--iterations N] [--meta-batch B] [--meta-lr LR] [--inner-steps K] [--inner-lr A]
  [--shots K] [--query Q] [--first-order] [--seed S] [--device cpu] [--save-every N] [--time-limit SECONDS]
  [--log-every N] [--per-task] [--json]
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
} as const;

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

export async function train(argv: string[], io: CliIO): Promise<number> {
  if (isL2lTrain(argv)) return trainL2l(argv, io);
  if (peekOption(argv, 'task')?.startsWith('omniglot')) return trainOmniglot(argv, io);
  const { values } = parse(argv, OPTIONS);
  const out = strOpt(values, 'out');
  const json = values.json === true;
  const saveEvery = intOpt(values, 'save-every', 500);
  const logEvery = intOpt(values, 'log-every', 10);
  let cfg = configFrom(values);
  const resuming = fs.existsSync(modelPath(out)) && fs.existsSync(configPath(out));
  if (resuming) {
    const saved = readConfig(out);
    const conflicts = FIXED.filter(([opt, key]) => values[opt] !== undefined && saved[key] !== cfg[key]).map(([opt, key]) => `--${opt} (${String(cfg[key])}; the checkpoint has ${String(saved[key])})`);
    if (conflicts.length) throw new UsageError(`${out} holds a checkpoint trained with other settings: ${conflicts.join(', ')}; use another --out`);
    cfg = { ...saved, iterations: values.iterations !== undefined ? cfg.iterations : saved.iterations };
  }
  fs.mkdirSync(out, { recursive: true });

  mg.manualSeed(cfg.seed);
  const net = buildNet(cfg.hidden, cfg.activation);
  const learner = buildLearner(cfg, net);
  const opt = learner.kind === 'maml' ? new mg.optim.Adam(learner.maml.metaParameters(), { lr: cfg.metaLr }) : null;
  let start = 0;
  if (resuming) {
    start = loadCheckpoint(out, net, learner, opt);
    if (learner.kind === 'reptile') learner.reptile.iteration = start;
    trimMetrics(out, start); // metrics logged after the checkpoint (an interrupted run)
    if (!json) io.stderr.write(`resuming ${cfg.algo} from ${out} at iteration ${start}/${cfg.iterations}\n`);
  }

  const formulation = values['per-task'] === true ? 'loop' : 'batched';
  const sampler = cfg.task === 'sinusoid-reptile' ? new mg.data.ReptileSinusoid({ innerBatch: cfg.innerBatch }) : new mg.data.MamlSinusoid({ shots: cfg.shots, query: cfg.query });
  const t0 = Date.now();
  const loop = runTrainingLoop({
    io, json, out, start, iterations: cfg.iterations, seed: cfg.seed, logEvery, saveEvery, timeLimit: timeLimitOpt(values), metricName: 'meta-loss',
    step: () => ({
      loss: mg.tidy(() => {
        const sampled = sampler.sample(cfg.metaBatch);
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
  // The plots of API.md's `train` (also `metagrad plot DIR` on its own), silently: the summary
  // stays the last line of the output.
  const silent = { write: () => true };
  await plot([out], { stdout: silent, stderr: silent });
  const seconds = (Date.now() - t0) / 1000;
  const { lastLoss, iteration: finalIteration } = loop;
  const early = stoppedEarly(loop, cfg.iterations);
  if (json) jsonLine(io, { summary: true, iterations: finalIteration, ...early.json, seconds: Number(seconds.toFixed(3)), out });
  else io.stdout.write(`trained ${cfg.algo} to iteration ${finalIteration}${early.text} in ${fmtDuration(seconds)}${Number.isNaN(lastLoss) ? '' : `, last meta-loss ${lastLoss.toFixed(4)}`}; checkpoint in ${out}\n`);
  return 0;
}
