/**
 * `metagrad train --nproc N`: starts N ranks of the same command as child processes (each with
 * `--distributed` and RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT set), as `torchrun`
 * does. With `--nnodes M --node-rank K --master-addr HOST --master-port PORT`, run once per
 * machine, the ranks of M machines form one group (docs/distributed.md).
 *
 * The global rank 0 writes the checkpoints, metrics and output, passed through to this process's
 * stdout and stderr; the other ranks' stderr is passed through prefixed with `[rank R]`. When one
 * rank fails, the launcher stops the others and exits non-zero, naming the rank.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError, type CliIO } from './args.js';

export interface LaunchOptions {
  nproc: number;
  nnodes: number;
  nodeRank: number;
  masterAddr?: string;
  masterPort?: number;
}

/** dist/cli.js of this package (the children run the built CLI). */
function cliPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'metagrad') {
      const cli = path.join(dir, 'dist', 'cli.js');
      if (!fs.existsSync(cli)) throw new Error(`--nproc: ${cli} is missing; build it with npm run build:ts`);
      return cli;
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error('--nproc: cannot find the metagrad package root');
    dir = up;
  }
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Pipes a child's stream to `w`, line by line, with an optional prefix. */
function pipeLines(from: NodeJS.ReadableStream, w: { write(s: string): unknown }, prefix: string): void {
  let buf = '';
  from.setEncoding('utf8');
  from.on('data', (chunk: string) => {
    if (!prefix) {
      w.write(chunk);
      return;
    }
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      w.write(`${prefix}${buf.slice(0, nl + 1)}`);
      buf = buf.slice(nl + 1);
    }
  });
  from.on('end', () => {
    if (buf) w.write(`${prefix}${buf}\n`);
  });
}

/** Runs `metagrad train <argv> --distributed` as `nproc` local ranks; resolves with the exit code. */
export async function launch(argv: string[], io: CliIO, o: LaunchOptions): Promise<number> {
  if (o.nnodes > 1 && (o.masterAddr === undefined || o.masterPort === undefined)) throw new UsageError('--nnodes > 1 needs --master-addr and --master-port (rank 0\'s machine, reachable from every machine)');
  if (o.nodeRank >= o.nnodes) throw new UsageError(`--node-rank ${o.nodeRank} must be below --nnodes ${o.nnodes}`);
  const masterAddr = o.masterAddr ?? '127.0.0.1';
  const masterPort = o.masterPort ?? (await freePort(masterAddr));
  const worldSize = o.nnodes * o.nproc;
  const cli = cliPath();
  // Two cores and two ranks: one kernel thread each, unless the user chose (MG_NUM_THREADS).
  const threads = process.env.MG_NUM_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / o.nproc)));
  const children: ChildProcess[] = [];
  const terminal = io.isTTY === true && io.stderr === process.stderr;
  const exits = Array.from({ length: o.nproc }, (_, local) => {
    const rank = o.nodeRank * o.nproc + local;
    const child = spawn(process.execPath, [cli, 'train', ...argv, '--distributed'], {
      env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: String(local), MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort), MG_NUM_THREADS: threads },
      // Rank 0 on a terminal draws its progress bar there.
      stdio: ['ignore', 'pipe', rank === 0 && terminal ? 'inherit' : 'pipe'],
    });
    children.push(child);
    pipeLines(child.stdout!, io.stdout, rank === 0 ? '' : `[rank ${rank}] `);
    if (child.stderr) pipeLines(child.stderr, io.stderr, rank === 0 ? '' : `[rank ${rank}] `);
    return new Promise<{ rank: number; code: number }>((resolve) => {
      child.on('error', (e) => {
        io.stderr.write(`metagrad train: rank ${rank} could not start: ${e.message}\n`);
        resolve({ rank, code: 1 });
      });
      child.on('close', (code, signal) => resolve({ rank, code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1) }));
    });
  });
  let failed: { rank: number; code: number } | null = null;
  for (const e of exits) {
    void e.then((r) => {
      if (r.code !== 0 && failed === null) {
        failed = r;
        for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      }
    });
  }
  await Promise.all(exits);
  if (failed !== null) {
    const f = failed as { rank: number; code: number };
    io.stderr.write(`metagrad train: rank ${f.rank} exited with code ${f.code}; the other ranks were stopped\n`);
    return f.code === 2 ? 2 : 1;
  }
  return 0;
}
