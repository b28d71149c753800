// `metagrad train --nproc 2`: two local ranks (child processes running dist/cli.js) give the
// single-process run's result for the same total meta-batch and seed, to float tolerance.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildNet } from '../../src/cli/common.js';
import { run } from '../../src/cli/main.js';
import * as mg from '../../src/index.js';
import { gloo } from './helpers.js';

async function cli(argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}
const metrics = (dir: string) => fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { iteration: number; loss: number });

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-dp-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function maxDiff(a: string, b: string): { diff: number; scale: number; keys: number } {
  const A = mg.io.load(path.join(a, 'model.safetensors')).tensors;
  const B = mg.io.load(path.join(b, 'model.safetensors')).tensors;
  expect([...B.keys()].sort()).toEqual([...A.keys()].sort());
  let diff = 0;
  let scale = 0;
  for (const [k, t] of A) {
    const x = t.data();
    const y = B.get(k)!.data();
    for (let i = 0; i < x.length; i++) {
      diff = Math.max(diff, Math.abs(x[i] - y[i]));
      scale = Math.max(scale, Math.abs(x[i]));
    }
  }
  return { diff, scale, keys: A.size };
}

describe.skipIf(!gloo)('metagrad train --nproc 2', () => {
  test.each([
    ['maml', 'batched, meta-batch 5 split 2 + 3', ['--meta-batch', '5']],
    ['metasgd', 'per-task loop, meta-batch 4', ['--meta-batch', '4', '--per-task']],
  ])('%s (%s) equals the single-process run', async (algo, _what, extra) => {
    const common = ['train', '--algo', algo, '--task', 'sinusoid', '--iterations', '12', '--log-every', '4', '--seed', '3', '--json', ...extra];
    const one = path.join(tmp, `${algo}-1`);
    const two = path.join(tmp, `${algo}-2`);
    const r1 = await cli([...common, '--out', one]);
    expect(r1.code).toBe(0);
    const r2 = await cli([...common, '--out', two, '--nproc', '2']);
    expect(r2.err).toBe('');
    expect(r2.code).toBe(0);
    const summary = JSON.parse(r2.out.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(summary).toMatchObject({ summary: true, iterations: 12, ranks: 2, out: two });
    // rank 0 alone wrote the run: one metrics line per log step, the model, the config
    const m1 = metrics(one);
    const m2 = metrics(two);
    expect(m2.map((m) => m.iteration)).toEqual([4, 8, 12]);
    m1.forEach((m, i) => expect(m2[i].loss).toBeCloseTo(m.loss, 5));
    const d = maxDiff(one, two);
    expect(d.scale).toBeGreaterThan(0.1);
    expect(d.diff).toBeLessThan(1e-5);
    // the training moved the parameters far more than the tolerance (so the test can fail)
    mg.manualSeed(3);
    const init = buildNet().stateDict();
    const trained = mg.io.load(path.join(two, 'model.safetensors')).tensors;
    const moved = Math.max(...Object.entries(init).map(([k, t]) => Math.max(...t.data().map((v, i) => Math.abs(v - trained.get(`model.${k}`)!.data()[i])))));
    expect(moved).toBeGreaterThan(1e-3);
  });

  test('a 2-rank run resumed from its checkpoint equals an uninterrupted single-process run', async () => {
    const common = ['train', '--algo', 'maml', '--task', 'sinusoid', '--meta-batch', '4', '--log-every', '3', '--seed', '5', '--json'];
    const one = path.join(tmp, 'resume-1');
    const two = path.join(tmp, 'resume-2');
    expect((await cli([...common, '--iterations', '9', '--out', one])).code).toBe(0);
    expect((await cli([...common, '--iterations', '6', '--out', two, '--nproc', '2'])).code).toBe(0);
    const r = await cli([...common, '--iterations', '9', '--out', two, '--nproc', '2']);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(metrics(two).map((m) => m.iteration)).toEqual([3, 6, 9]);
    expect(maxDiff(one, two).diff).toBeLessThan(1e-5);
  });

  test('--time-limit: every rank stops at rank 0\'s iteration, and the checkpoint is there', async () => {
    const dir = path.join(tmp, 'timed');
    const r = await cli(['train', '--algo', 'fomaml', '--task', 'sinusoid', '--meta-batch', '4', '--iterations', '1000000', '--time-limit', '0.5', '--json', '--out', dir, '--nproc', '2']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out.trim().split('\n').at(-1)!) as { iterations: number; timeLimited: boolean };
    expect(summary.timeLimited).toBe(true);
    expect(summary.iterations).toBeGreaterThan(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).iteration).toBe(summary.iterations);
  });

  test('a rank that fails stops the launch with its exit code and message', async () => {
    const r = await cli(['train', '--algo', 'maml', '--task', 'sinusoid', '--iterations', '2', '--meta-batch', '1', '--out', path.join(tmp, 'bad'), '--nproc', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--meta-batch 1 is smaller than the 2 ranks/);
    expect(r.err).toMatch(/metagrad train: rank \d exited with code 2/);
  });

  test('--nproc rejects what it does not run', async () => {
    const r = await cli(['train', '--algo', 'reptile', '--task', 'sinusoid', '--out', path.join(tmp, 'rep'), '--nproc', '2', '--iterations', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/data-parallel training is implemented for the MAML family/);
    const o = await cli(['train', '--algo', 'maml', '--task', 'omniglot', '--out', path.join(tmp, 'omni'), '--nproc', '2']);
    expect(o.code).toBe(2);
    expect(o.err).toMatch(/--task sinusoid only/);
    const n = await cli(['train', '--algo', 'maml', '--task', 'sinusoid', '--out', path.join(tmp, 'n'), '--node-rank', '1']);
    expect(n.code).toBe(2);
    expect(n.err).toMatch(/--node-rank applies only with --nproc/);
  });
});
