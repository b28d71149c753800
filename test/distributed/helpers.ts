/** Launching test ranks as child processes (test/distributed/fixtures/worker.mjs). */
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as mg from '../../src/index.js';

export const gloo = mg.distributed.isAvailable('gloo');
if (!gloo) console.log('test/distributed: skipped, the addon was built without Gloo (Debian: apt-get install libgloo-dev, then npm run build:native)');

/** A TCP port free on the loopback interface now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'worker.mjs');

/** Runs `world` ranks of `script args`; resolves with each rank's exit code and parsed JSON lines. */
export function runRanks(world: number, script: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }[]> {
  return Promise.all(
    Array.from({ length: world }, (_, rank) =>
      new Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, [script, ...args], {
          env: { ...process.env, RANK: String(rank), WORLD_SIZE: String(world), MG_NUM_THREADS: '1', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => {
          clearTimeout(timer);
          const lines = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
          resolve({ code, lines, stderr: err });
        });
      }),
    ),
  );
}
