// `metagrad train|eval --task omniglot-lake` on the real data (a minimal background split, a tiny
// conv4): training writes a checkpoint and resumes exactly; eval runs Lake's 20 one-shot runs.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type CliIO } from '../../src/cli/main.js';

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/omniglot');
const have = fs.existsSync(path.join(DATA, 'all_runs.zip')) && fs.existsSync(path.join(DATA, 'images_background_small2.zip'));
if (!have) console.log(`test/cli/omniglot: skipped, no Omniglot data at ${DATA}`);

async function cli(argv: string[]) {
  let o = '';
  let e = '';
  const io: CliIO = { stdout: { write: (s: string) => (o += s) }, stderr: { write: (s: string) => (e += s) }, isTTY: false };
  const code = await run(argv, io);
  return { code, out: o, err: e };
}
const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-omniglot-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe.skipIf(!have)('omniglot CLI', () => {
  const base = (algo: string, out: string, iterations: number) => [
    'train', '--algo', algo, '--task', 'omniglot-lake', '--lake-set', 'background_small2', '--data', DATA, '--out', out,
    '--iterations', String(iterations), '--meta-batch', '2', '--filters', '4', '--log-every', '2', '--save-every', '2', '--seed', '5', '--json',
  ];

  test('MAML trains, resumes like an uninterrupted run, and evaluates on the 20 Lake runs', async () => {
    const a = path.join(tmp, 'maml');
    expect((await cli(base('maml', a, 2))).code).toBe(0);
    const r = await cli(base('maml', a, 4));
    expect(r.code, r.err).toBe(0);
    expect(jsonLines(r.out)[0].iteration).toBe(4);
    const whole = path.join(tmp, 'maml-whole');
    expect((await cli(base('maml', whole, 4))).code).toBe(0);
    const m = (d: string) => jsonLines(fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')).map((x) => x.loss as number);
    const [ma, mb] = [m(a), m(whole)];
    expect(ma.length).toBe(2);
    ma.forEach((v, i) => expect(v).toBeCloseTo(mb[i], 4));
    const cfg = JSON.parse(fs.readFileSync(path.join(a, 'config.json'), 'utf8'));
    // Finn et al.'s 20-way setting: 5 steps of 0.1 in training and at test, meta-batch 16 (here 2: given).
    expect(cfg).toMatchObject({ task: 'omniglot-lake', algo: 'maml', ways: 20, shots: 1, innerSteps: 5, innerLr: 0.1, evalSteps: 5, metaBatch: 2, msl: false, lslr: false });
    const ev = await cli(['eval', '--checkpoint', a, '--steps', '0,1', '--json']);
    expect(ev.code, ev.err).toBe(0);
    const s = jsonLines(ev.out).at(-1)!;
    expect(s).toMatchObject({ summary: true, task: 'omniglot-lake', metric: 'error', episodes: 20 });
    for (const x of s.results as { mean: number }[]) expect(x.mean).toBeGreaterThanOrEqual(0), expect(x.mean).toBeLessThanOrEqual(1);
  });

  test.each([
    ['mamlpp', ['--inner-steps', '2', '--epoch-iterations', '1', '--da-epochs', '1', '--no-bnrs']],
    ['imaml', ['--inner-steps', '2', '--cg-steps', '2', '--lambda', '1']],
  ])('%s trains a few iterations and checkpoints', async (algo, extra) => {
    const d = path.join(tmp, algo);
    const r = await cli([...base(algo, d, 2), ...extra]);
    expect(r.code, r.err).toBe(0);
    expect(fs.existsSync(path.join(d, 'model.safetensors'))).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    if (algo === 'mamlpp') expect(cfg).toMatchObject({ msl: true, lslr: true, bnrs: false, bnwb: true, daEpochs: 1, innerSteps: 2 });
    else expect(cfg).toMatchObject({ lambda: 1, cgSteps: 2 });
    const ev = await cli(['eval', '--checkpoint', d, '--steps', '1', '--json']);
    expect(ev.code, ev.err).toBe(0);
  });

  test('--stop-at ends the invocation early without changing the run length; training again resumes from it', async () => {
    const d = path.join(tmp, 'stop-at');
    const r = await cli([...base('maml', d, 6), '--stop-at', '2']);
    expect(r.code, r.err).toBe(0);
    expect(jsonLines(r.out).at(-1)).toMatchObject({ summary: true, iterations: 2, of: 6 });
    expect(JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'))).toMatchObject({ iteration: 2, iterations: 6 });
    const r2 = await cli([...base('maml', d, 6), '--stop-at', '4']);
    expect(jsonLines(r2.out)[0].iteration).toBe(4);
    expect(jsonLines(r2.out).at(-1)).toMatchObject({ iterations: 4, of: 6 });
    // Defaults of 5-way MAML are Finn et al.'s 5-way ones.
    const f = path.join(tmp, 'five');
    const r5 = await cli(['train', '--algo', 'maml', '--task', 'omniglot', '--data', DATA, '--out', f, '--filters', '4', '--stop-at', '1', '--meta-batch', '2', '--json']);
    expect(r5.code, r5.err).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(f, 'config.json'), 'utf8'))).toMatchObject({ ways: 5, innerSteps: 1, innerLr: 0.4, evalSteps: 3, iterations: 60000, iteration: 1 });
  });

  test('the task-batched default and --per-task train the same model (MAML, and MAML++ without per-step statistics)', async () => {
    for (const [algo, extra] of [['maml', []], ['mamlpp', ['--no-bnrs', '--inner-steps', '2']]] as const) {
      const a = path.join(tmp, `${algo}-batched`);
      const b = path.join(tmp, `${algo}-loop`);
      expect((await cli([...base(algo, a, 4), ...extra])).code).toBe(0);
      expect((await cli([...base(algo, b, 4), ...extra, '--per-task'])).code).toBe(0);
      const m = (d: string) => jsonLines(fs.readFileSync(path.join(d, 'metrics.jsonl'), 'utf8')).map((x) => x.loss as number);
      const [ma, mb] = [m(a), m(b)];
      expect(ma.length).toBe(2);
      ma.forEach((v, i) => expect(Math.abs(v - mb[i])).toBeLessThan(1e-4 * Math.abs(mb[i])));
    }
  });

  test('bad options name themselves', async () => {
    const r = await cli(['train', '--algo', 'maml', '--task', 'omniglot-lake', '--data', DATA, '--out', path.join(tmp, 'x'), '--ways', '5']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--ways');
    const m = await cli(['train', '--algo', 'maml', '--task', 'omniglot', '--data', path.join(tmp, 'nope'), '--out', path.join(tmp, 'y')]);
    expect(m.code).toBe(2);
    expect(m.err).toContain('--data');
  });
});
