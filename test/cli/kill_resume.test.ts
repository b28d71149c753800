// `metagrad train` (dist/cli.js in a child process) killed with SIGKILL at random moments, then
// resumed: no temporary or truncated file is left, the checkpoint's model and config agree,
// metrics.jsonl holds every iteration exactly once, and the result equals an uninterrupted run.
// Also: stale temporaries are removed on start, a config.json left one checkpoint behind is
// repaired from the checkpoint, checkpoints from before the config moved into the safetensors
// metadata still resume, and a fresh run starts a fresh metrics.jsonl.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { restore } from '../../src/cli/common.js';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'dist/cli.js');
const ITERS = 200;
const trainArgs = (dir: string, iterations = ITERS) => [
  cli, 'train', '--algo', 'maml', '--task', 'sinusoid', '--out', dir, '--iterations', String(iterations),
  '--meta-batch', '2', '--save-every', '1', '--log-every', '1', '--json',
];

/** Runs `train` to the end (synchronously); throws with its stderr on failure. */
function trainToEnd(dir: string, iterations = ITERS): void {
  const r = spawnSync(process.execPath, trainArgs(dir, iterations), { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`train exited with ${r.status}: ${r.stderr}`);
}

/**
 * Starts `train` and SIGKILLs it `extraMs` milliseconds after metrics.jsonl reaches `lines`
 * lines (at once when `lines` is 0); resolves with whether the kill came before the end. Keying
 * the kill to the run's progress keeps it inside the training loop however fast the machine is.
 */
function trainKilledAt(dir: string, lines: number, extraMs: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, trainArgs(dir), { cwd: root, stdio: 'ignore' });
    let timer: NodeJS.Timeout | undefined;
    const kill = () => (timer = setTimeout(() => child.kill('SIGKILL'), extraMs));
    const poll = setInterval(() => {
      let n = 0;
      try {
        n = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').length - 1;
      } catch {
        // not written yet
      }
      if (n >= lines) {
        clearInterval(poll);
        kill();
      }
    }, 2);
    if (lines === 0) {
      clearInterval(poll);
      kill();
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(true);
      else if (code === 0) resolve(false);
      else reject(new Error(`train exited with ${code}`));
    });
  });
}

const tmpFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'));
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const metricIterations = (dir: string) =>
  fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { iteration: number }).iteration);

/** The checkpoint as loaded by mg.io.load (which refuses a truncated file): its iteration, config and tensors' values. */
function checkpoint(dir: string): { iteration: number; config: Record<string, unknown> | null; values: Record<string, number[]> } {
  const { tensors, metadata } = mg.io.load(path.join(dir, 'model.safetensors'));
  const values: Record<string, number[]> = {};
  for (const [k, t] of tensors) {
    values[k] = Array.from(t.data());
    t.dispose();
  }
  return { iteration: Number(metadata.iteration), config: metadata.config === undefined ? null : (JSON.parse(metadata.config) as Record<string, unknown>), values };
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-kill-'));
  expect(fs.existsSync(cli), 'run `npm run build:ts` first').toBe(true);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('train killed with SIGKILL and resumed', () => {
  test('random kills leave a consistent checkpoint; the resumed run equals an uninterrupted one', async () => {
    const whole = path.join(tmp, 'whole');
    trainToEnd(whole);
    const reference = checkpoint(whole);
    expect(reference.iteration).toBe(ITERS);

    const dir = path.join(tmp, 'killed');
    // Seeded kill points: one while the CLI starts (before any checkpoint), then at growing
    // iteration counts plus 0-15 ms, which lands anywhere in an iteration: in the step, the
    // metrics append, or the checkpoint's write, fsync and renames.
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let kills = 0;
    let target = 0;
    for (let k = 0; k < 7; k++) {
      const killed = await trainKilledAt(dir, target, k === 0 ? 150 : rand() * 15);
      target += 10 + Math.floor(rand() * 15);
      if (!killed) break;
      kills++;
      // What a kill leaves: config.json whole if present, the checkpoint whole and agreeing with its config.
      if (fs.existsSync(path.join(dir, 'config.json'))) readJson(path.join(dir, 'config.json'));
      if (fs.existsSync(path.join(dir, 'model.safetensors'))) {
        const c = checkpoint(dir);
        expect(c.config?.iteration).toBe(c.iteration);
      }
      for (const line of fs.existsSync(path.join(dir, 'metrics.jsonl')) ? fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').slice(0, -2) : []) {
        JSON.parse(line); // every line but the one being written is whole
      }
    }
    expect(kills).toBeGreaterThanOrEqual(5); // a run reaching its end before the kill ends the series early
    // A temporary of a process that is gone, as a kill during a write leaves it.
    fs.writeFileSync(path.join(dir, '.model.safetensors.999999999.0123456789ab.tmp'), 'partial');
    fs.writeFileSync(path.join(dir, 'config.json.999999999.1700000000000.tmp'), '{"partial"');
    trainToEnd(dir);

    expect(tmpFiles(dir)).toEqual([]);
    const c = checkpoint(dir);
    expect(c.iteration).toBe(ITERS);
    expect(c.config).toEqual(readJson(path.join(dir, 'config.json')));
    expect(c.config?.iteration).toBe(ITERS);
    expect(metricIterations(dir)).toEqual(Array.from({ length: ITERS }, (_, i) => i + 1));
    // Resume is exact: the same weights and Adam state, bit for bit.
    expect(c.values).toEqual(reference.values);
  }, 180_000);

  test('a config.json one checkpoint behind is rewritten from the checkpoint', () => {
    const dir = path.join(tmp, 'behind');
    trainToEnd(dir, 20);
    const cfgFile = path.join(dir, 'config.json');
    fs.writeFileSync(cfgFile, `${JSON.stringify({ ...readJson(cfgFile), iteration: 19 }, null, 2)}\n`);
    // Readers (eval, plot) take the config that belongs to the checkpoint, not the stale copy.
    const r = restore(dir);
    expect(r.iteration).toBe(20);
    expect(r.cfg.iteration).toBe(20);
    r.net.parameters().forEach((p) => p.dispose());
    trainToEnd(dir, 25);
    expect(readJson(cfgFile).iteration).toBe(25);
    expect(checkpoint(dir).iteration).toBe(25);
    // Iterations 21..25 ran once each, after the checkpoint's 20 (not after config.json's 19).
    expect(metricIterations(dir)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  }, 60_000);

  test('a checkpoint without the config in its metadata (the older format) still resumes', () => {
    const dir = path.join(tmp, 'old');
    trainToEnd(dir, 10);
    const file = path.join(dir, 'model.safetensors');
    const { tensors, metadata } = mg.io.load(file);
    delete metadata.config;
    mg.io.save(file, tensors, metadata);
    for (const t of tensors.values()) t.dispose();
    expect(checkpoint(dir).config).toBeNull();
    trainToEnd(dir, 15);
    const c = checkpoint(dir);
    expect(c.iteration).toBe(15);
    expect(c.config?.iteration).toBe(15);
    expect(metricIterations(dir)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
  }, 60_000);

  test('a fresh run (no checkpoint) starts a fresh metrics.jsonl', () => {
    const dir = path.join(tmp, 'fresh');
    fs.mkdirSync(dir);
    // What a run killed before its first checkpoint leaves.
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), '{"iteration":10,"loss":1}\n{"iteration":20,"loss":1}\n{"itera');
    trainToEnd(dir, 12);
    expect(metricIterations(dir)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  }, 60_000);
});
