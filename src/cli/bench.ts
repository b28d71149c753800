/**
 * `metagrad bench [name...]`: the benchmarks of bench/ (shipped in the package), each our kernels
 * beside the same workload in PyTorch when `/usr/bin/python3` (or `$METAGRAD_PYTHON`) imports torch,
 * printed as a table of times and speed-ups, or JSON lines with `--json`. Each benchmark runs as its
 * own Node process (bench/<name>.mjs), so one's memory and threads do not disturb the next.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { didYouMean, parse, UsageError, type CliIO } from './args.js';

export const BENCH_USAGE = `usage: metagrad bench [NAME...] [--json] [--device cpu|cuda] [--tf32] [--list] [-- BENCHMARK FLAGS]
  Runs the benchmarks of the package's bench/ folder (all of them without NAME), ours against PyTorch
  measured in the same run when python3 imports torch (else our side only). --json: one JSON object
  per row ({"bench", "case", "ours", "torch", "unit", "ratio"}); --device cuda: the GPU benchmarks
  (skipped, with a note, without a GPU); --list: the benchmark names; flags after -- go to each
  benchmark as they are (e.g. memory's --speed-only).

examples:
  metagrad bench matmul overhead        # two benchmarks, a table each
  metagrad bench hvp --json > hvp.jsonl`;

const OPTIONS = {
  json: { type: 'boolean' },
  device: { type: 'string' },
  tf32: { type: 'boolean' },
  list: { type: 'boolean' },
} as const;

/** The package's root: the nearest folder above this file whose package.json names metagrad. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'metagrad') return dir;
    } catch {
      /* no package.json here */
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('cannot find the metagrad package root (its package.json)');
    dir = up;
  }
}

/** The folder of the benchmarks and their names (bench/<name>.mjs, less the shared run.mjs and lib.mjs). */
export function benchmarks(): { dir: string; names: string[] } {
  const dir = path.join(packageRoot(), 'bench');
  if (!fs.existsSync(path.join(dir, 'lib.mjs'))) throw new Error(`${dir} is missing: this copy of metagrad ships no benchmarks`);
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.mjs') && f !== 'run.mjs' && f !== 'lib.mjs').map((f) => f.slice(0, -4)).sort();
  return { dir, names };
}

function runOne(file: string, args: string[], io: CliIO): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (b: Buffer) => io.stdout.write(b.toString()));
    child.stderr.on('data', (b: Buffer) => io.stderr.write(b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
}

export async function bench(argv: string[], io: CliIO): Promise<number> {
  const dd = argv.indexOf('--');
  const passThrough = dd < 0 ? [] : argv.slice(dd + 1); // a benchmark's own flags, e.g. memory's --speed-only
  const { values, positionals } = parse(dd < 0 ? argv : argv.slice(0, dd), OPTIONS, true);
  const { dir, names } = benchmarks();
  if (values.list === true) {
    io.stdout.write(`${names.join('\n')}\n`);
    return 0;
  }
  for (const n of positionals) if (!names.includes(n)) throw new UsageError(`unknown benchmark '${n}'${didYouMean(n, names)}; the benchmarks are ${names.join(', ')}`);
  const device = values.device;
  if (device !== undefined && device !== 'cpu' && device !== 'cuda') throw new UsageError(`--device: expected cpu or cuda, got '${String(device)}'`);
  const flags = [...(values.json === true ? ['--json'] : []), ...(device !== undefined ? ['--device', String(device)] : []), ...(values.tf32 === true ? ['--tf32'] : []), ...passThrough];
  for (const n of positionals.length ? positionals : names) {
    const code = await runOne(path.join(dir, `${n}.mjs`), flags, io);
    if (code !== 0) throw new Error(`benchmark ${n} failed (exit code ${code})`);
  }
  return 0;
}
