// The metagrad CLI, driven through run(argv, io) with captured output.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type CliIO } from '../../src/cli/main.js';

function capture(isTTY = false): CliIO & { out: () => string; err: () => string } {
  let o = '';
  let e = '';
  return {
    stdout: { write: (s: string) => (o += s) },
    stderr: { write: (s: string) => (e += s) },
    isTTY,
    out: () => o,
    err: () => e,
  };
}

async function cli(argv: string[], isTTY = false) {
  const io = capture(isTTY);
  const code = await run(argv, io);
  return { code, out: io.out(), err: io.err() };
}

const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const metrics = (dir: string) => jsonLines(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')) as { iteration: number; loss: number }[];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-cli-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('argument errors exit 2 and name the option', () => {
  test.each([
    [['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--bogus'], '--bogus'],
    [['train', '--algo', 'nope', '--task', 'sinusoid', '--out', 'x'], '--algo'],
    [['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--iterations', 'ten'], '--iterations'],
    [['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--meta-lr', '-1'], '--meta-lr'],
    [['train', '--algo', 'maml', '--task', 'imagenet', '--out', 'x'], '--task'],
    [['train', '--algo', 'maml', '--task', 'omniglot', '--out', 'x'], '--data'],
    [['train', '--algo', 'maml', '--task', 'omniglot', '--out', 'x', '--data', '../shared/data/omniglot', '--no-msl'], '--no-msl'],
    [['train', '--algo', 'maml', '--task', 'sinusoid'], '--out'],
    [['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--device', 'tpu'], '--device'],
    [['eval', '--checkpoint', 'x', '--steps', '0,a'], '--steps'],
    [['eval', '--checkpoint', 'x', '--episodes', '0'], '--episodes'],
    [['eval', '--checkpont', 'x'], '--checkpont'],
    [['train', '--algo', 'maml', '--task', 'sinusoid-reptile', '--out', 'x'], '--algo reptile'],
    [['train', '--algo', 'reptile', '--task', 'sinusoid-reptile', '--out', 'x', '--inner-steps', '3'], '--inner-steps'],
    [['train', '--algo', 'maml', '--task', 'sinusoid', '--out', 'x', '--inner-batch', '5'], '--inner-batch'],
    [['compare'], 'DIR'],
    [['compare', 'x', '--steps', '-1'], '--steps'],
  ])('%j', async (argv, name) => {
    const r = await cli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(name);
    expect(r.err).toContain('usage:');
    expect(fs.existsSync('x')).toBe(false);
  });

  test('unknown command and no command', async () => {
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli([])).code).toBe(2);
    expect((await cli(['train', '--help'])).code).toBe(0);
  });

  test('a missing checkpoint is a failure (exit 1), not a usage error', async () => {
    const r = await cli(['eval', '--checkpoint', path.join(tmp, 'nothing-here')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('config.json');
  });
});

describe('train, resume, eval, plot', () => {
  const args = (dir: string, iterations: number) => [
    'train', '--algo', 'maml', '--task', 'sinusoid', '--out', dir, '--iterations', String(iterations),
    '--meta-batch', '2', '--seed', '3', '--log-every', '5', '--save-every', '10', '--json',
  ];

  test('a tiny run writes the checkpoint, config, metrics and a summary line', async () => {
    const dir = path.join(tmp, 'tiny');
    const r = await cli(args(dir, 30));
    expect(r.code, r.err).toBe(0);
    for (const f of ['model.safetensors', 'config.json', 'metrics.jsonl', 'learning_curve.svg', 'fits.svg']) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    const lines = jsonLines(r.out);
    expect(lines.at(-1)).toMatchObject({ summary: true, iterations: 30, out: dir });
    expect(typeof lines.at(-1)!.seconds).toBe('number');
    expect(lines.slice(0, -1).map((l) => l.iteration)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(metrics(dir).map((m) => m.iteration)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(metrics(dir).every((m) => Number.isFinite(m.loss))).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ algo: 'maml', task: 'sinusoid', iteration: 30, metaBatch: 2, seed: 3 });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('training again with more iterations resumes, and matches an uninterrupted run', async () => {
    const dir = path.join(tmp, 'tiny');
    const before = metrics(dir);
    const r = await cli(args(dir, 40));
    expect(r.code, r.err).toBe(0);
    const lines = jsonLines(r.out);
    expect(lines[0].iteration).toBe(35); // continues, does not restart at 5
    expect(lines.at(-1)).toMatchObject({ summary: true, iterations: 40 });
    const after = metrics(dir);
    expect(after.map((m) => m.iteration)).toEqual([5, 10, 15, 20, 25, 30, 35, 40]);
    expect(after.slice(0, before.length)).toEqual(before);
    // Same seed, 40 iterations in one go: same losses (the optimizer state and sampling resume exactly).
    const whole = path.join(tmp, 'whole');
    expect((await cli(args(whole, 40))).code).toBe(0);
    const ref = metrics(whole);
    ref.forEach((m, i) => expect(after[i].loss).toBeCloseTo(m.loss, 4));
  });

  test('--time-limit stops after the iteration that crosses it, saves there, and training again finishes like an uninterrupted run', async () => {
    const dir = path.join(tmp, 'timed');
    const r = await cli([...args(dir, 20), '--time-limit', '1e-6']);
    expect(r.code, r.err).toBe(0);
    const lines = jsonLines(r.out);
    expect(lines.at(-1)).toMatchObject({ summary: true, iterations: 1, timeLimited: true });
    expect(metrics(dir).map((m) => m.iteration)).toEqual([1]);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({ iteration: 1, iterations: 20 });
    const again = await cli(args(dir, 20));
    expect(again.code, again.err).toBe(0);
    expect(jsonLines(again.out).at(-1)).toMatchObject({ summary: true, iterations: 20 });
    expect(jsonLines(again.out).at(-1)!.timeLimited).toBeUndefined();
    const whole = path.join(tmp, 'timed-whole');
    expect((await cli(args(whole, 20))).code).toBe(0);
    const a = metrics(dir).filter((m) => m.iteration % 5 === 0);
    const b = metrics(whole);
    expect(a.map((m) => m.iteration)).toEqual(b.map((m) => m.iteration));
    // The first window of the resumed run averages iterations 2-5 instead of 1-5; the rest are the same windows.
    a.slice(1).forEach((m, i) => expect(m.loss).toBeCloseTo(b[i + 1].loss, 4));
    const bad = await cli([...args(path.join(tmp, 'timed-bad'), 20), '--time-limit', '0']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--time-limit');
  });

  test('--per-task (the per-task loop) and the default task-batched formulation train the same model', async () => {
    for (const algo of ['metasgd', 'anil']) {
      const a = path.join(tmp, `${algo}-batched`);
      const b = path.join(tmp, `${algo}-loop`);
      const base = ['train', '--algo', algo, '--task', 'sinusoid', '--iterations', '20', '--meta-batch', '4', '--log-every', '5', '--seed', '3', '--json'];
      expect((await cli([...base, '--out', a])).code).toBe(0);
      expect((await cli([...base, '--out', b, '--per-task'])).code).toBe(0);
      const [ma, mb] = [metrics(a), metrics(b)];
      expect(ma.length).toBe(4);
      ma.forEach((m, i) => expect(Math.abs(m.loss - mb[i].loss)).toBeLessThan(1e-4 * Math.max(1, mb[i].loss)));
    }
  });

  test('sinusoid-reptile: the OpenAI example (1-64-64-1 tanh, minibatches of 10) trains, lowers the loss, and evaluates', async () => {
    const dir = path.join(tmp, 'openai');
    const r = await cli(['train', '--algo', 'reptile', '--task', 'sinusoid-reptile', '--out', dir, '--iterations', '600', '--log-every', '100', '--seed', '2', '--json']);
    expect(r.code, r.err).toBe(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(cfg).toMatchObject({ task: 'sinusoid-reptile', hidden: [64, 64], activation: 'tanh', innerBatch: 10, innerEpochs: 1, innerSteps: 5, metaLr: 0.1, innerLr: 0.02 });
    const ev = await cli(['eval', '--checkpoint', dir, '--episodes', '60', '--steps', '0,10', '--json']);
    expect(ev.code, ev.err).toBe(0);
    const res = (jsonLines(ev.out).at(-1) as { results: { mean: number }[] }).results;
    expect(res[1].mean).toBeLessThan(res[0].mean);
  });

  test('resuming with a different algorithm is refused', async () => {
    const r = await cli(['train', '--algo', 'reptile', '--task', 'sinusoid', '--out', path.join(tmp, 'tiny'), '--iterations', '50']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--algo');
  });

  test('a progress bar on a terminal, a text line otherwise', async () => {
    const r = await cli(['train', '--algo', 'anil', '--task', 'sinusoid', '--out', path.join(tmp, 'bar'), '--iterations', '5', '--meta-batch', '2'], true);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('5/5');
    expect(r.err).toContain('ETA');
    expect(r.out).toContain('iteration 5');
  });

  test.each(['fomaml', 'reptile', 'metasgd', 'pretrain'])('%s trains and evaluates', async (algo) => {
    const dir = path.join(tmp, algo);
    const t = await cli(['train', '--algo', algo, '--task', 'sinusoid', '--out', dir, '--iterations', '6', '--meta-batch', '2', '--save-every', '4', '--json']);
    expect(t.code, t.err).toBe(0);
    // Resume from the end-of-run checkpoint with Meta-SGD's rates / Reptile's schedule.
    expect((await cli(['train', '--algo', algo, '--task', 'sinusoid', '--out', dir, '--iterations', '8', '--json'])).code).toBe(0);
    const e = await cli(['eval', '--checkpoint', dir, '--episodes', '5', '--steps', '0,2', '--json']);
    expect(e.code, e.err).toBe(0);
    const s = jsonLines(e.out).at(-1)!;
    expect((s.results as { steps: number }[]).map((x) => x.steps)).toEqual([0, 2]);
  });

  test('eval prints the fixed summary line; 10 adaptation steps beat 0 after brief MAML training', async () => {
    const dir = path.join(tmp, 'maml');
    const t = await cli(['train', '--algo', 'maml', '--task', 'sinusoid', '--out', dir, '--iterations', '300', '--meta-batch', '5', '--meta-lr', '0.01', '--json']);
    expect(t.code, t.err).toBe(0);
    const r = await cli(['eval', '--checkpoint', dir, '--steps', '0,1,10', '--episodes', '60', '--json']);
    expect(r.code, r.err).toBe(0);
    const lines = jsonLines(r.out);
    const summary = lines.at(-1)!;
    expect(Object.keys(summary)).toEqual(['summary', 'task', 'metric', 'episodes', 'results']);
    expect(summary).toMatchObject({ summary: true, task: 'sinusoid', metric: 'mse', episodes: 60 });
    const results = summary.results as { steps: number; mean: number; ci95: number }[];
    expect(results.map((x) => x.steps)).toEqual([0, 1, 10]);
    for (const x of results) {
      expect(Object.keys(x)).toEqual(['steps', 'mean', 'ci95']);
      expect(Number.isFinite(x.mean) && x.mean > 0).toBe(true);
      expect(Number.isFinite(x.ci95) && x.ci95 > 0).toBe(true);
    }
    expect(results[2].mean).toBeLessThan(results[0].mean - results[0].ci95);
    // The held-out tasks are fixed: the same numbers again.
    const again = jsonLines((await cli(['eval', '--checkpoint', dir, '--steps', '0,1,10', '--episodes', '60', '--json'])).out).at(-1)!;
    expect(again).toEqual(summary);
    // The table form.
    const table = await cli(['eval', '--checkpoint', dir, '--steps', '0,10', '--episodes', '10']);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/steps\s+mean MSE\s+95% CI/);
    expect(table.out.trim().split('\n')).toHaveLength(4);
  });

  test('pretrain resumes exactly like an uninterrupted run', async () => {
    const a = (dir: string, n: number) => ['train', '--algo', 'pretrain', '--task', 'sinusoid', '--out', dir, '--iterations', String(n), '--meta-batch', '3', '--seed', '4', '--log-every', '5', '--save-every', '10', '--json'];
    const split = path.join(tmp, 'pre-split');
    const whole = path.join(tmp, 'pre-whole');
    expect((await cli(a(split, 20))).code).toBe(0);
    const r = await cli(a(split, 30));
    expect(r.code, r.err).toBe(0);
    expect(jsonLines(r.out)[0].iteration).toBe(25);
    expect((await cli(a(whole, 30))).code).toBe(0);
    const ref = metrics(whole);
    expect(metrics(split).map((m) => m.iteration)).toEqual([5, 10, 15, 20, 25, 30]);
    ref.forEach((m, i) => expect(metrics(split)[i].loss).toBeCloseTo(m.loss, 4));
    expect(JSON.parse(fs.readFileSync(path.join(split, 'config.json'), 'utf8'))).toMatchObject({ algo: 'pretrain', iteration: 30 });
  });

  test('compare prints MAML beside the pre-trained baseline; MAML adapts better after 10 steps', async () => {
    // Same budget as the MAML run above (300 iterations of 5 tasks, Adam at 0.01, seed 0). With
    // seeds 0, 1, 2 MAML's 10-step MSE was 0.39-0.55 times the baseline's on these 60 tasks.
    const pre = path.join(tmp, 'pretrain-300');
    const t = await cli(['train', '--algo', 'pretrain', '--task', 'sinusoid', '--out', pre, '--iterations', '300', '--meta-batch', '5', '--meta-lr', '0.01', '--json']);
    expect(t.code, t.err).toBe(0);
    const maml = path.join(tmp, 'maml');
    const r = await cli(['compare', maml, pre, '--steps', '0,1,5,10', '--episodes', '60', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = jsonLines(r.out).at(-1)! as { runs: { algo: string; results: { steps: number; mean: number; ci95: number }[] }[] };
    expect(s.runs.map((x) => x.algo)).toEqual(['maml', 'pretrain']);
    const [m, p] = s.runs.map((x) => x.results);
    for (const x of [...m, ...p]) expect(Number.isFinite(x.mean) && x.mean > 0 && Number.isFinite(x.ci95)).toBe(true);
    expect(m.map((x) => x.steps)).toEqual([0, 1, 5, 10]);
    // The same held-out tasks as `eval` (columns are eval's numbers).
    const e = jsonLines((await cli(['eval', '--checkpoint', pre, '--steps', '0,1,5,10', '--episodes', '60', '--json'])).out).at(-1)!;
    expect(e.results).toEqual(p);
    expect(m[3].mean).toBeLessThan(0.8 * p[3].mean);
    // The pre-trained model improves with fine-tuning too, but less.
    expect(p[3].mean).toBeLessThan(p[0].mean);
    // The table: a header, a column line and one row per step count.
    const table = await cli(['compare', maml, pre, '--episodes', '10']);
    expect(table.code, table.err).toBe(0);
    const lines = table.out.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/steps\s+maml\s+pretrain/);
    expect(lines[5]).toMatch(/^\s+10\s+\d+\.\d{3} ± \d+\.\d{3}\s+\d+\.\d{3} ± \d+\.\d{3}$/);
  });

  test('plot writes the learning curve and the fits', async () => {
    const dir = path.join(tmp, 'maml');
    const r = await cli(['plot', dir]);
    expect(r.code, r.err).toBe(0);
    for (const f of ['learning_curve.svg', 'fits.svg']) {
      const s = fs.readFileSync(path.join(dir, f), 'utf8');
      expect(s).toContain('<svg');
      expect(s.trim().endsWith('</svg>')).toBe(true);
      expect(s).not.toContain('NaN');
      expect(s).toContain('<polyline');
    }
    const fits = fs.readFileSync(path.join(dir, 'fits.svg'), 'utf8');
    expect(fits.match(/<polyline/g)!.length).toBe(3 * 5); // 3 tasks x (truth + 4 step counts)
    // The PNGs (resvg): real PNG files of the SVGs' aspect ratio.
    for (const f of ['learning_curve.png', 'fits.png']) {
      const b = fs.readFileSync(path.join(dir, f));
      expect(b.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      expect(b.readUInt32BE(16)).toBeGreaterThan(300); // width from the IHDR chunk
    }
    expect((await cli(['plot'])).code).toBe(2);
  });
});
