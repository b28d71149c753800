/**
 * The `metagrad` command line (dist/cli.js). `run(argv, io)` is the whole program: it returns the
 * exit code (0 done, 1 failed, 2 bad command line) and writes only to `io`, so tests call it
 * directly.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, type CliIO } from './args.js';
import { COMPARE_USAGE, compare } from './compare.js';
import { EVAL_USAGE, evalCommand } from './eval.js';
import { PLOT_USAGE, plot } from './plot.js';
import { STUDY_USAGE, study } from './study.js';
import { TRAIN_USAGE, train } from './train.js';

export type { CliIO } from './args.js';

const COMMANDS: Record<string, { run: (argv: string[], io: CliIO) => Promise<number>; usage: string; ownHelp?: boolean }> = {
  train: { run: train, usage: TRAIN_USAGE },
  eval: { run: evalCommand, usage: EVAL_USAGE },
  plot: { run: plot, usage: PLOT_USAGE },
  compare: { run: compare, usage: COMPARE_USAGE },
  study: { run: study, usage: STUDY_USAGE, ownHelp: true },
};

export const USAGE = `usage: metagrad <command> [options]

commands:
  train    meta-train: --task sinusoid (maml, fomaml, reptile, anil, metasgd; pretrain: the
           pre-trained baseline), sinusoid-reptile (reptile), omniglot and omniglot-lake
           (maml, fomaml, mamlpp, imaml)
  eval     held-out tasks: mean MSE (sinusoid) or accuracy (omniglot) with a 95% CI per number
           of adaptation steps; omniglot-lake: the error rate over Lake's 20 one-shot runs
  compare  eval for several checkpoints on the same held-out tasks, as one table
  plot     draw DIR/learning_curve.svg and DIR/fits.svg
  study    one analysis of meta-gradients (taylor, gradient-combinations, tails, inner-steps,
           hvp-cost): a figure, a table and its findings

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
    io.stderr.write(`metagrad: unknown command '${name}'\n${USAGE}`);
    return 2;
  }
  if (cmd.ownHelp !== true && (rest.includes('--help') || rest.includes('-h'))) {
    io.stdout.write(`${cmd.usage}\n`);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`metagrad ${name}: ${e.message}\n${cmd.usage}\n`);
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
