// `metagrad study`: the command (usage errors, files, JSON lines, seeding) and each study on tiny
// settings, with the studies' building blocks checked against references computed another way.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { parse } from '../../src/cli/args.js';
import { run, type CliIO } from '../../src/cli/main.js';
import { markdownTable } from '../../src/cli/study.js';
import { STUDIES, type Table } from '../../src/cli/studies/index.js';
import { combinedDirection, COMBINATIONS } from '../../src/cli/studies/gradient_combinations.js';
import { mamlMetaLoss, mslWeights } from '../../src/cli/studies/inner_steps.js';
import { measureHvpCase } from '../../src/cli/studies/hvp_cost.js';
import { initMlp, innerLoop, sampleTasks, slicePoints } from '../../src/cli/studies/sinusoid.js';
import { jackknife, polyfit, logLogSlope } from '../../src/cli/studies/stats.js';
import { minibatchStream, tailDirection } from '../../src/cli/studies/tails.js';
import { pngAvailable } from '../../src/cli/svg.js';

function capture(isTTY = false): CliIO & { out: () => string; err: () => string } {
  let o = '';
  let e = '';
  return { stdout: { write: (s: string) => (o += s) }, stderr: { write: (s: string) => (e += s) }, isTTY, out: () => o, err: () => e };
}
async function cli(argv: string[], isTTY = false) {
  const io = capture(isTTY);
  const code = await run(argv, io);
  return { code, out: io.out(), err: io.err() };
}
const jsonLines = (s: string) => s.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-study-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the command line', () => {
  test('--help lists the studies; a study has its own help', async () => {
    const r = await cli(['study', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['taylor', 'gradient-combinations', 'tails', 'inner-steps', 'hvp-cost']) expect(r.out).toContain(s);
    const t = await cli(['study', 'taylor', '--help']);
    expect(t.code).toBe(0);
    expect(t.out).toContain('--draws');
    expect((await cli(['--help'])).out).toContain('study');
  });

  test.each([
    [['study'], 'study name'],
    [['study', 'nope', '--out', 'x'], "unknown study 'nope'"],
    [['study', 'taylor'], '--out'],
    [['study', 'taylor', '--out', 'x', '--bogus'], '--bogus'],
    [['study', 'taylor', '--out', 'x', '--alphas', '0.01,abc'], '--alphas'],
    [['study', 'taylor', '--out', 'x', '--draws', '1'], '--draws'],
    [['study', 'taylor', '--out', 'x', '--device', 'cuda'], '--device'],
    [['study', 'taylor', '--out', 'x', '--alphas', '0.01', '--fit-degree', '2'], '--alphas'],
    [['study', 'tails', '--out', 'x', '--batches', '30', '--train-points', '20'], '--batches'],
    [['study', 'inner-steps', '--out', 'x', '--steps', '0'], '--steps'],
  ])('%j exits 2 naming the problem', async (argv, what) => {
    const r = await cli(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(what);
    expect(fs.existsSync('x')).toBe(false);
  });

  test.skipIf(mg.cuda.isAvailable())('hvp-cost --device cuda without a GPU is a usage error', async () => {
    const r = await cli(['study', 'hvp-cost', '--out', 'x', '--device', 'cuda']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('cuda');
  });

  test('markdown tables', () => {
    const md = markdownTable({ columns: [{ key: 'a', label: 'A' }, { key: 'b', label: 'B', digits: 2 }], rows: [{ a: 'x|y', b: 1.23456 }, { a: 'z', b: null }] });
    expect(md.split('\n')).toEqual(['| A | B |', '| --- | ---: |', '| x\\|y | 1.2 |', '| z |  |']);
  });
});

/** Tiny settings of each study (a few seconds at most). */
const TINY: Record<string, string[]> = {
  taylor: ['--draws', '12', '--chunk', '4', '--max-steps', '3', '--alphas', '0.02,0.01,0.005', '--hidden', '4'],
  'gradient-combinations': ['--iterations', '4', '--meta-batch', '2', '--batch', '3', '--eval-every', '2', '--eval-tasks', '5', '--query', '5', '--seeds', '2', '--hidden', '4'],
  tails: ['--steps', '1,2', '--batches', '2,4', '--train-points', '4', '--iterations', '3', '--meta-batch', '2', '--eval-tasks', '5', '--query', '5', '--hidden', '4'],
  'inner-steps': ['--steps', '1,2', '--iterations', '5', '--meta-batch', '2', '--shots', '3', '--eval-tasks', '5', '--hidden', '4'],
  'hvp-cost': ['--widths', '2,4', '--batches', '1,2', '--rounds', '1', '--min-time', '0', '--device', 'cpu'],
};

describe.each(STUDIES.map((s) => [s.name]))('study %s on tiny settings', (name) => {
  test('writes the figure, the table and the findings; --json ends with the summary; frees its tensors', async () => {
    expect(TINY[name], `no tiny settings for ${name}`).toBeDefined();
    const dir = path.join(tmp, name);
    const before = mg.memory().cpu;
    const r = await cli(['study', name, '--out', dir, '--seed', '3', '--json', ...TINY[name]]);
    expect(r.code, r.err).toBe(0);
    const after = mg.memory().cpu;
    expect(after.tensors).toBe(before.tensors);
    const lines = jsonLines(r.out);
    const summary = lines.at(-1) as unknown as { summary: boolean; study: string; files: string[]; table: Table };
    expect(summary.summary).toBe(true);
    expect(summary.study).toBe(name);
    expect(summary.table.rows.length).toBeGreaterThan(0);
    expect(lines.slice(0, -1).every((l) => l.study === name && typeof l.done === 'number')).toBe(true);
    const base = path.join(dir, name);
    const expected = [`${base}.svg`, ...(pngAvailable() ? [`${base}.png`] : []), `${base}.json`, `${base}.md`];
    expect(summary.files).toEqual(expected);
    for (const f of expected) expect(fs.existsSync(f)).toBe(true);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const svg = fs.readFileSync(`${base}.svg`, 'utf8');
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).not.toContain('NaN');
    if (pngAvailable()) expect([...fs.readFileSync(`${base}.png`).subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const rec = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8'));
    expect(rec).toMatchObject({ format: 'metagrad-study/1', study: name, seed: 3 });
    expect(rec.table).toEqual(summary.table);
    const md = fs.readFileSync(`${base}.md`, 'utf8');
    expect(md).toContain(`metagrad study ${name} --out ${dir}`);
    expect(md).toContain(markdownTable(summary.table));
    expect(md).toContain(`](${name}.${pngAvailable() ? 'png' : 'svg'})`);
  });

  test.skipIf(name === 'hvp-cost')('is seeded: the same seed gives the same table, another seed another', async () => {
    // The study itself, without the files (the command seeds the generator the same way).
    const study = STUDIES.find((s) => s.name === name)!;
    const { values } = parse(TINY[name], study.options);
    const table = async (seed: number) => {
      mg.manualSeed(seed);
      const out = await study.run(values, { seed, progress: () => {} }, undefined);
      // Wall-clock columns aside.
      return out.table.rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'seconds')));
    };
    const a = await table(5);
    expect(await table(5)).toEqual(a);
    expect(await table(6)).not.toEqual(a);
  });
});

test('a progress bar on a terminal, the table on stdout', async () => {
  const r = await cli(['study', 'hvp-cost', '--out', path.join(tmp, 'tty'), ...TINY['hvp-cost']], true);
  expect(r.code, r.err).toBe(0);
  expect(r.err).toContain('ETA');
  expect(r.err).toContain('4/4');
  expect(r.out).toContain('| device |');
  expect(r.out).toContain('wrote ');
});

describe('building blocks against references', () => {
  test('gradient-combinations: g1+g2 is Reptile, (theta - phi_2) / alpha', () => {
    mg.manualSeed(1);
    const params = initMlp([5]);
    mg.tidy(() => {
      const pts = sampleTasks(3, 8);
      const batches = [slicePoints(pts, 0, 4), slicePoints(pts, 4, 8)];
      const lr = 0.05;
      const { grads, phi } = innerLoop(params, batches, lr, 'relu');
      const dir = combinedDirection(grads, COMBINATIONS.find((c) => c.name === 'g1+g2')!.terms, params);
      dir.forEach((d, i) => {
        const ref = params[i].sub(phi[i].mean(0).reshape(params[i].shape)).div(lr);
        expect(d.sub(ref).abs().max().item()).toBeLessThan(1e-4 * (1 + ref.abs().max().item()));
      });
      expect(() => combinedDirection(grads, [3], params)).toThrow(/g3 needs 3 inner steps/);
    });
    params.forEach((p) => p.dispose());
  });

  test('tails: separate-tail full-batch FOMAML is mg.meta.MAML first order (support = training points, query = tail)', () => {
    mg.manualSeed(2);
    const net = new mg.nn.Sequential(new mg.nn.Linear(1, 6), new mg.nn.ReLU(), new mg.nn.Linear(6, 1));
    const params = net.parameters();
    mg.tidy(() => {
      const pts = sampleTasks(1, 9);
      const train = slicePoints(pts, 0, 5);
      const fresh = slicePoints(pts, 5, 9);
      const dir = tailDirection('separate', params, train, fresh, 3, 5, 0.03);
      const maml = new mg.meta.MAML(net, { innerSteps: 3, innerLr: 0.03, firstOrder: true });
      const task = { support: { x: train.x.reshape([5, 1]), y: train.y.reshape([5, 1]) }, query: { x: fresh.x.reshape([4, 1]), y: fresh.y.reshape([4, 1]) } };
      const ref = mg.grad(maml.metaLoss([task]), params) as mg.Tensor[];
      dir.forEach((d, i) => expect(d.sub(ref[i]).abs().max().item()).toBeLessThan(1e-5 * (1 + ref[i].abs().max().item())));
      // A shared tail with full batches is the training set itself.
      expect(tailDirection('shared', params, train, fresh, 1, 5, 0.03).length).toBe(params.length);
    });
  });

  test('tails: the minibatch stream is shuffled passes over the points', () => {
    mg.manualSeed(3);
    const s = minibatchStream(6, 4, 6); // 24 positions = 4 passes
    const flat = s.flat();
    for (let p = 0; p < 4; p++) expect([...flat.slice(6 * p, 6 * p + 6)].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(() => minibatchStream(3, 4, 1)).toThrow(/at least 4 training points/);
  });

  test("inner-steps: MSL weights follow Antoniou et al.'s annealing", () => {
    for (const k of [1, 2, 5]) {
      for (const p of [0, 0.3, 1, 2]) expect(mslWeights(k, p).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(mslWeights(k, 0)).toEqual(Array(k).fill(1 / k));
    }
    const w = mslWeights(5, 1);
    expect(w.slice(0, 4)).toEqual(Array(4).fill(0.03 / 5));
    expect(w[4]).toBeCloseTo(1 - 4 * (0.03 / 5), 12);
  });

  test('inner-steps: the last-step meta-loss and its meta-gradient are mg.meta.batchedMamlMetaLoss', () => {
    mg.manualSeed(4);
    const params = initMlp([5, 5]);
    mg.tidy(() => {
      const pts = sampleTasks(3, 8);
      const support = slicePoints(pts, 0, 4);
      const query = slicePoints(pts, 4, 8);
      const { meta } = mamlMetaLoss(params, support, query, 3, 0.02, null);
      const ref = mg.meta.batchedMamlMetaLoss(params, support, query, { innerSteps: 3, innerLr: 0.02 });
      expect(meta.item()).toBeCloseTo(ref.item(), 6);
      const g = mg.grad(meta, params) as mg.Tensor[];
      const gr = mg.grad(ref, params) as mg.Tensor[];
      g.forEach((t, i) => expect(t.sub(gr[i]).abs().max().item()).toBeLessThan(1e-5 * (1 + gr[i].abs().max().item())));
      // MSL with one step is the plain loss.
      expect(mamlMetaLoss(params, support, query, 1, 0.02, [1]).meta.item()).toBeCloseTo(mg.meta.batchedMamlMetaLoss(params, support, query, { innerSteps: 1, innerLr: 0.02 }).item(), 6);
    });
    params.forEach((p) => p.dispose());
  });

  test('hvp-cost: a case is measured, both modes agree, and nothing is left behind', () => {
    const before = mg.memory().cpu.tensors;
    const c = measureHvpCase('cpu', 3, 2, 1, 0);
    expect(mg.memory().cpu.tensors).toBe(before);
    expect(c.params).toBe(3 * (9 + 3));
    for (const v of [c.gradMs, c.fwdRevMs, c.revRevMs, c.ratioFwdRev, c.ratioRevRev]) expect(v).toBeGreaterThan(0);
    expect(c.disagreement).toBeLessThan(1e-5);
  });

  test('stats: jackknife, polyfit, log-log slope', () => {
    // The jackknife of a mean is the usual standard error of the mean.
    const xs = [1, 4, 2, 8, 5, 7];
    const { estimate, se } = jackknife(xs.map((x) => Float64Array.of(x)), xs.map(() => 1), (m) => [m[0]]);
    const mu = xs.reduce((a, b) => a + b) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mu) ** 2, 0) / (xs.length - 1));
    expect(estimate[0]).toBeCloseTo(mu, 12);
    expect(se[0]).toBeCloseTo(sd / Math.sqrt(xs.length), 12);
    expect(polyfit([0.1, 0.2, 0.3, 0.5], [0.1, 0.2, 0.3, 0.5].map((x) => 2 - 3 * x + 5 * x * x), 2).map((c) => Number(c.toFixed(9)))).toEqual([2, -3, 5]);
    expect(logLogSlope([1, 2, 4], [3, 12, 48])).toBeCloseTo(2, 12);
  });
});
