/**
 * `metagrad eval --checkpoint DIR`: mean query MSE over E held-out sinusoid tasks (a fixed seed
 * no training run uses) after each number of adaptation steps, with a 95% confidence interval
 * 1.96 * sd / sqrt(E).
 */
import * as mg from '../index.js';
import { deviceOpt, didYouMean, intOpt, jsonLine, parse, peekOption, strOpt, UsageError, type CliIO } from './args.js';
import { evalOmniglot, isOmniglotRun, OMNIGLOT_EVAL_USAGE } from './omniglot.js';
import { adaptedLosses, EVAL_SEED, evalLearner, restore } from './common.js';
import { evalL2l, isL2lEval, L2L_EVAL_USAGE, L2L_TASKS } from './l2l.js';

/** `eval` of a sinusoid checkpoint. */
export const SINUSOID_EVAL_USAGE = `usage: metagrad eval --checkpoint DIR [--task sinusoid] [--steps 0,1,5,10] [--episodes E]
  [--shots K] [--query Q] [--seed S] [--device cpu] [--json]
  (the kind of checkpoint, sinusoid, Omniglot or l2l, is read from DIR/config.json)

examples:
  metagrad eval --checkpoint runs/maml --steps 0,1,5,10 --episodes 1000`;

export const EVAL_USAGE = `${SINUSOID_EVAL_USAGE}

${OMNIGLOT_EVAL_USAGE}

${L2L_EVAL_USAGE}`;

const OPTIONS = {
  checkpoint: { type: 'string' },
  task: { type: 'string' },
  steps: { type: 'string' },
  episodes: { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export interface EvalResult {
  steps: number;
  mean: number;
  ci95: number;
}

export function parseSteps(s: string | undefined, def: number[] = [0, 1, 5, 10]): number[] {
  if (s === undefined) return def;
  const parts = s.split(',').map((p) => p.trim());
  const out = parts.map((p) => Number(p));
  if (parts.some((p) => p === '') || out.some((n) => !Number.isSafeInteger(n) || n < 0)) {
    throw new UsageError(`--steps: expected comma-separated non-negative integers, got '${s}'`);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** Mean and 95% CI of the query MSE per step count over `episodes` held-out tasks. */
export function evaluateSinusoid(learner: mg.meta.MAML, opts: { steps: number[]; episodes: number; shots: number; query: number; seed?: number }): EvalResult[] {
  const sampler = new mg.data.MamlSinusoid({ shots: opts.shots, query: opts.query });
  mg.manualSeed(opts.seed ?? EVAL_SEED);
  const losses: number[][] = opts.steps.map(() => []);
  for (let e = 0; e < opts.episodes; e++) {
    mg.tidy(() => {
      const [task] = sampler.sample(1);
      adaptedLosses(learner, task, opts.steps).forEach((l, i) => losses[i].push(l));
    });
  }
  return opts.steps.map((steps, i) => {
    const xs = losses[i];
    const n = xs.length;
    const mean = xs.reduce((a, b) => a + b, 0) / n;
    const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
    return { steps, mean, ci95: (1.96 * sd) / Math.sqrt(n) };
  });
}

export async function evalCommand(argv: string[], io: CliIO): Promise<number> {
  if (isL2lEval(argv)) return evalL2l(argv, io);
  const task = peekOption(argv, 'task');
  const ckpt = peekOption(argv, 'checkpoint');
  if (task?.startsWith('omniglot') || (task === undefined && ckpt !== undefined && isOmniglotRun(ckpt))) return evalOmniglot(argv, io, parseSteps);
  const { values } = parse(argv, OPTIONS);
  const dir = strOpt(values, 'checkpoint');
  if (values.task !== undefined && values.task !== 'sinusoid' && values.task !== 'sinusoid-reptile') {
    if ((L2L_TASKS as readonly string[]).includes(String(values.task))) {
      throw new UsageError(`--task ${String(values.task)} is an optimizee family of the learned optimizers: evaluate a checkpoint of 'train --algo l2l --task ${String(values.task)}' (${dir} is not one)`);
    }
    throw new UsageError(`--task: expected sinusoid, omniglot or omniglot-lake, got '${String(values.task)}'${didYouMean(String(values.task), ['sinusoid', 'sinusoid-reptile', 'omniglot', 'omniglot-lake', ...L2L_TASKS])}`);
  }
  const steps = parseSteps(values.steps as string | undefined);
  const episodes = intOpt(values, 'episodes', 1000);
  deviceOpt(values);
  const { cfg, learner } = restore(dir);
  const shots = intOpt(values, 'shots', cfg.shots);
  const query = intOpt(values, 'query', cfg.query);
  const seed = values.seed === undefined ? undefined : intOpt(values, 'seed', 0, 0);
  const results = evaluateSinusoid(evalLearner(learner), { steps, episodes, shots, query, seed });
  if (values.json === true) {
    for (const r of results) jsonLine(io, r);
    jsonLine(io, { summary: true, task: 'sinusoid', metric: 'mse', episodes, results });
  } else {
    io.stdout.write(`${cfg.algo} from ${dir}: query MSE over ${episodes} held-out tasks (${shots} shots)\n`);
    io.stdout.write(`${'steps'.padStart(6)}  ${'mean MSE'.padStart(10)}  ${'95% CI'.padStart(10)}\n`);
    for (const r of results) {
      // A learner whose steps blow up (e.g. Meta-SGD's one-step rates repeated) says so.
      const m = Number.isFinite(r.mean) && r.mean < 1e6 ? r.mean.toFixed(4) : 'diverged';
      const c = Number.isFinite(r.mean) && r.mean < 1e6 ? `±${r.ci95.toFixed(4)}` : '';
      io.stdout.write(`${String(r.steps).padStart(6)}  ${m.padStart(10)}  ${c.padStart(10)}\n`);
    }
  }
  return 0;
}
