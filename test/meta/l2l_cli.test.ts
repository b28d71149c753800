// `metagrad train --algo l2l` and `metagrad eval` on l2l checkpoints, driven through run(argv, io)
// with captured output: tiny runs (a few iterations on short horizons).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { run, type CliIO } from '../../src/cli/main.js';

async function cli(argv: string[], isTTY = false) {
  let o = '';
  let e = '';
  const io: CliIO = { stdout: { write: (s: string) => (o += s) }, stderr: { write: (s: string) => (e += s) }, isTTY };
  const code = await run(argv, io);
  return { code, out: o, err: e };
}

const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
const metrics = (dir: string) => jsonLines(fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')) as { iteration: number; loss: number; finalLoss: number }[];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-l2l-cli-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const train = (dir: string, iterations: number, extra: string[] = []) => [
  'train', '--algo', 'l2l', '--task', 'quadratic', '--out', dir, '--iterations', String(iterations),
  '--meta-batch', '4', '--horizon', '10', '--unroll', '5', '--hidden', '6', '--seed', '2', '--log-every', '2', '--save-every', '3', '--json', ...extra,
];

describe('metagrad train --algo l2l', () => {
  test('argument errors exit 2 and name the option', async () => {
    for (const [argv, name] of [
      [['train', '--algo', 'l2l', '--task', 'omniglot', '--out', 'x'], '--task'],
      [['train', '--algo', 'l2l', '--task', 'quadratic', '--out', 'x', '--rule', 'rnn'], '--rule'],
      [['train', '--algo', 'l2l', '--task', 'quadratic', '--out', 'x', '--unroll', '30', '--horizon', '20'], '--unroll'],
      [['train', '--algo', 'l2l', '--task', 'quadratic', '--out', 'x', '--meta-lr', '0'], '--meta-lr'],
      [['train', '--algo', 'l2l', '--task', 'quadratic'], '--out'],
    ] as [string[], string][]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(name);
      expect(r.err).toContain('usage:');
    }
    expect(fs.existsSync('x')).toBe(false);
  });

  test('a tiny run writes the checkpoint, config, metrics, learning curve and a summary line', async () => {
    const dir = path.join(tmp, 'q');
    const r = await cli(train(dir, 4));
    expect(r.code, r.err).toBe(0);
    for (const f of ['model.safetensors', 'config.json', 'metrics.jsonl', 'learning_curve.svg']) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    const lines = jsonLines(r.out);
    expect(lines.at(-1)).toMatchObject({ summary: true, iterations: 4, out: dir });
    expect(metrics(dir).map((m) => m.iteration)).toEqual([2, 4]);
    expect(metrics(dir).every((m) => Number.isFinite(m.loss) && Number.isFinite(m.finalLoss))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'))).toMatchObject({ algo: 'l2l', task: 'quadratic', rule: 'lstm', iteration: 4, horizon: 10, unroll: 5, hidden: 6, secondOrder: false });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('resuming continues and matches an uninterrupted run; changing the rule is refused', async () => {
    const dir = path.join(tmp, 'q');
    const r = await cli(train(dir, 6));
    expect(r.code, r.err).toBe(0);
    expect(jsonLines(r.out)[0].iteration).toBe(6);
    const whole = path.join(tmp, 'q-whole');
    expect((await cli(train(whole, 6))).code).toBe(0);
    const a = metrics(dir);
    const b = metrics(whole);
    expect(a.map((m) => m.iteration)).toEqual([2, 4, 6]);
    b.forEach((m, i) => expect(a[i].loss).toBeCloseTo(m.loss, 5));
    const bad = await cli(train(dir, 8, ['--rule', 'hparams']));
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--rule');
  });

  test('a progress bar on a terminal', async () => {
    const r = await cli(['train', '--algo', 'l2l', '--task', 'quadratic', '--out', path.join(tmp, 'bar'), '--iterations', '2', '--meta-batch', '2', '--horizon', '4', '--unroll', '2', '--hidden', '4'], true);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain('2/2');
    expect(r.out).toContain('iteration 2');
  });

  test.each(['mlp', 'sinusoid'])('%s trains (hparams rule, checkpointed unrolls)', async (task) => {
    const dir = path.join(tmp, task);
    const r = await cli(['train', '--algo', 'l2l', '--task', task, '--rule', 'hparams', '--out', dir, '--iterations', '2', '--meta-batch', '2', '--horizon', '4', '--unroll', '2', '--checkpoint-every', '1', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(metrics(dir).every((m) => Number.isFinite(m.loss))).toBe(true);
  });
});

describe('metagrad eval on l2l checkpoints', () => {
  test('the learned optimizers against tuned SGD, momentum and Adam on the same held-out optimizees', async () => {
    const lstm = path.join(tmp, 'q');
    const hp = path.join(tmp, 'q-hp');
    expect((await cli(['train', '--algo', 'l2l', '--task', 'quadratic', '--rule', 'hparams', '--out', hp, '--iterations', '3', '--meta-batch', '4', '--horizon', '10', '--unroll', '5', '--json'])).code).toBe(0);
    const r = await cli(['eval', '--checkpoint', lstm, '--checkpoint', hp, '--episodes', '12', '--tune-episodes', '6', '--json']);
    expect(r.code, r.err).toBe(0);
    const s = jsonLines(r.out).at(-1)! as {
      summary: boolean; task: string; metric: string; episodes: number; horizon: number; plot: string;
      tuned: Record<string, { lr: number; grid: { lr: number; loss: number | null }[] }>;
      results: { optimizer: string; lr: number | null; steps: number; mean: number; ci95: number }[];
    };
    expect(s).toMatchObject({ summary: true, task: 'quadratic', metric: 'loss', episodes: 12, horizon: 10 });
    expect([...new Set(s.results.map((x) => x.optimizer))]).toEqual(['l2l lstm (q)', 'l2l hparams (q-hp)', 'sgd', 'momentum 0.9', 'adam']);
    expect([...new Set(s.results.map((x) => x.steps))]).toEqual([10, 20]); // the trained horizon and twice it
    for (const x of s.results) expect(Number.isFinite(x.mean) && x.mean > 0 && x.ci95 >= 0).toBe(true);
    // the tuned rate is the grid's best (null: the run diverged), and is the one reported
    for (const h of ['sgd', 'momentum', 'adam']) {
      const best = s.tuned[h].grid.reduce((a, b) => ((b.loss ?? Infinity) < (a.loss ?? Infinity) ? b : a));
      expect(s.tuned[h].lr).toBe(best.lr);
      expect(s.results.find((x) => x.optimizer.startsWith(h))!.lr).toBe(best.lr);
    }
    const svg = fs.readFileSync(s.plot, 'utf8');
    expect(s.plot).toBe(path.join(lstm, 'eval_curves.svg'));
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline/g)!.length).toBe(5);
    expect(svg).not.toContain('NaN');
    // the held-out optimizees are fixed: the same numbers again (table form this time)
    const again = await cli(['eval', '--checkpoint', lstm, '--episodes', '12', '--tune-episodes', '6', '--steps', '10']);
    expect(again.code, again.err).toBe(0);
    const row = again.out.split('\n').find((l) => l.startsWith('l2l lstm'))!;
    const first = s.results.find((x) => x.optimizer.startsWith('l2l lstm') && x.steps === 10)!;
    expect(row).toContain(first.mean.toPrecision(4));
  });

  test('checkpoints of different tasks are refused', async () => {
    const r = await cli(['eval', '--checkpoint', path.join(tmp, 'q'), '--checkpoint', path.join(tmp, 'mlp'), '--episodes', '2']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/trained on mlp but .* on quadratic/);
  });
});
