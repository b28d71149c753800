/**
 * `metagrad compare DIR...`: `eval` for several checkpoints on the same held-out tasks (same
 * seed, shots and episodes), printed as one table: a row per number of adaptation steps, a column
 * per checkpoint (mean query MSE ± 95% CI). E.g. MAML beside the pre-trained baseline.
 */
import * as path from 'node:path';
import { deviceOpt, intOpt, jsonLine, parse, UsageError, type CliIO } from './args.js';
import { evalLearner, restore } from './common.js';
import { evaluateSinusoid, parseSteps, type EvalResult } from './eval.js';

export const COMPARE_USAGE = `usage: metagrad compare DIR [DIR...] [--steps 0,1,5,10] [--episodes E] [--shots K] [--query Q]
  [--seed S] [--device cpu] [--json]
  (sinusoid checkpoints; every one is evaluated on the same held-out tasks)

examples:
  metagrad compare runs/maml runs/pretrain --steps 0,1,10 --episodes 300`;

const OPTIONS = {
  steps: { type: 'string' },
  episodes: { type: 'string' },
  shots: { type: 'string' },
  query: { type: 'string' },
  seed: { type: 'string' },
  device: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function compare(argv: string[], io: CliIO): Promise<number> {
  const { values, positionals: dirs } = parse(argv, OPTIONS, true);
  if (dirs.length === 0) throw new UsageError('expected at least one checkpoint DIR');
  const steps = parseSteps(values.steps as string | undefined);
  const episodes = intOpt(values, 'episodes', 1000);
  deviceOpt(values);
  const seed = values.seed === undefined ? undefined : intOpt(values, 'seed', 0, 0);
  const runs = dirs.map((dir) => ({ dir, ...restore(dir) }));
  // One task distribution for all: the first checkpoint's shots/query unless given.
  const shots = intOpt(values, 'shots', runs[0].cfg.shots);
  const query = intOpt(values, 'query', runs[0].cfg.query);
  const columns: { dir: string; algo: string; results: EvalResult[] }[] = runs.map((r) => ({
    dir: r.dir,
    algo: r.cfg.algo,
    results: evaluateSinusoid(evalLearner(r.learner), { steps, episodes, shots, query, seed }),
  }));
  if (values.json === true) {
    jsonLine(io, { summary: true, task: 'sinusoid', metric: 'mse', episodes, shots, runs: columns });
    return 0;
  }
  const algos = columns.map((c) => c.algo);
  const names = columns.map((c) => (algos.filter((a) => a === c.algo).length > 1 ? `${c.algo} (${path.basename(c.dir)})` : c.algo));
  const cell = (r: EvalResult) => `${r.mean.toFixed(3)} ± ${r.ci95.toFixed(3)}`;
  const width = Math.max(...names.map((n) => n.length), ...columns.flatMap((c) => c.results.map((r) => cell(r).length)));
  io.stdout.write(`query MSE (mean ± 95% CI) over the same ${episodes} held-out tasks (${shots} shots) after fine-tuning with SGD\n`);
  io.stdout.write(`${'steps'.padStart(6)}  ${names.map((n) => n.padStart(width)).join('  ')}\n`);
  steps.forEach((s, i) => {
    io.stdout.write(`${String(s).padStart(6)}  ${columns.map((c) => cell(c.results[i]).padStart(width)).join('  ')}\n`);
  });
  return 0;
}
