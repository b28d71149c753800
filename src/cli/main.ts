/**
 * The `metagrad` command line (dist/cli.js). `run(argv, io)` is the whole program: it returns the
 * exit code (0 done, 1 failed, 2 bad command line) and writes only to `io`, so tests call it
 * directly.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { didYouMean, peekOption, UsageError, type CliIO } from './args.js';
import { BENCH_USAGE, bench } from './bench.js';
import { COMPARE_USAGE, compare } from './compare.js';
import { EVAL_USAGE, evalCommand, SINUSOID_EVAL_USAGE } from './eval.js';
import { L2L_EVAL_USAGE, L2L_TASKS, L2L_TRAIN_USAGE } from './l2l.js';
import { OMNIGLOT_EVAL_USAGE, OMNIGLOT_TRAIN_USAGE } from './omniglot.js';
import { PLOT_USAGE, plot } from './plot.js';
import { STUDY_USAGE, study } from './study.js';
import { STUDIES } from './studies/index.js';
import { SINUSOID_TRAIN_USAGE, TRAIN_USAGE, train } from './train.js';

export type { CliIO } from './args.js';

/**
 * `train --help` and `eval --help` narrow to the task or algorithm named on the command line
 * (`train --task omniglot --help`), else they show every form.
 */
function trainHelp(argv: string[]): string {
  if (peekOption(argv, 'algo') === 'l2l') return L2L_TRAIN_USAGE;
  if (peekOption(argv, 'task')?.startsWith('omniglot')) return OMNIGLOT_TRAIN_USAGE;
  if (peekOption(argv, 'task')?.startsWith('sinusoid')) return SINUSOID_TRAIN_USAGE;
  return TRAIN_USAGE;
}

function evalHelp(argv: string[]): string {
  const task = peekOption(argv, 'task');
  if (task?.startsWith('omniglot')) return OMNIGLOT_EVAL_USAGE;
  if (task?.startsWith('sinusoid')) return SINUSOID_EVAL_USAGE;
  if (task !== undefined && (L2L_TASKS as readonly string[]).includes(task)) return L2L_EVAL_USAGE; // sinusoid went to its own form above
  return EVAL_USAGE;
}

const COMMANDS: Record<string, { run: (argv: string[], io: CliIO) => Promise<number>; usage: string; help?: (argv: string[]) => string; ownHelp?: boolean }> = {
  train: { run: train, usage: TRAIN_USAGE, help: trainHelp },
  eval: { run: evalCommand, usage: EVAL_USAGE, help: evalHelp },
  plot: { run: plot, usage: PLOT_USAGE },
  compare: { run: compare, usage: COMPARE_USAGE },
  study: { run: study, usage: STUDY_USAGE, ownHelp: true },
  bench: { run: bench, usage: BENCH_USAGE },
};

export const USAGE = `usage: metagrad <command> [options]

commands:
  train    meta-train: --task sinusoid (maml, fomaml, reptile, anil, metasgd; pretrain: the
           pre-trained baseline), sinusoid-reptile (reptile), omniglot and omniglot-lake
           (maml, fomaml, mamlpp, imaml), quadratic, mlp and sinusoid with --algo l2l
           (learned optimizers)
  eval     held-out tasks: mean MSE (sinusoid) or accuracy (omniglot) with a 95% CI per number
           of adaptation steps; omniglot-lake: the error rate over Lake's 20 one-shot runs;
           l2l: the learned optimizer beside tuned SGD, momentum and Adam
  compare  eval for several sinusoid checkpoints on the same held-out tasks, as one table
  plot     draw DIR/learning_curve.svg and DIR/fits.svg (sinusoid runs)
  study    one analysis of meta-gradients: a figure, a table and its findings; the studies:
${STUDIES.map((s) => `             ${s.name.padEnd(22)} ${s.summary}`).join('\n')}
  bench    the benchmarks (ours beside PyTorch when python3 imports torch): a table or --json

--device: every command runs on the CPU; 'study hvp-cost' and 'bench --device cuda' also take
cuda (train, eval, compare and plot do not yet, and say so).

examples:
  metagrad train --algo maml --task sinusoid --out runs/maml --iterations 2000
  metagrad eval --checkpoint runs/maml --steps 0,1,10
  metagrad study memory --out runs/studies

run 'metagrad <command> --help' for a command's options.
`;

export async function run(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout).write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (cmd === undefined) {
    const names = Object.keys(COMMANDS);
    io.stderr.write(`metagrad: unknown command '${name}'${didYouMean(name, names)}; the commands are ${names.join(', ')} ('metagrad --help' says more)\n`);
    return 2;
  }
  const dd = rest.indexOf('--');
  const own = dd < 0 ? rest : rest.slice(0, dd);
  if (cmd.ownHelp !== true && (own.includes('--help') || own.includes('-h'))) {
    io.stdout.write(`${(cmd.help ?? (() => cmd.usage))(own)}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`metagrad ${name}: ${e.message}\n${(cmd.help ?? (() => cmd.usage))(own)}\n`);
      return 2;
    }
    io.stderr.write(`metagrad ${name}: ${(e as Error).message ?? String(e)}\n`);
    return 1;
  }
}

function isMain(): boolean {
  if (process.argv[1] === undefined) return false;
  try {
    return fs.realpathSync(process.argv[1]) === fs.realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, isTTY: process.stderr.isTTY === true }).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`metagrad: ${String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
