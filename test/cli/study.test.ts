// `metagrad study`: the command (usage errors, files, JSON lines, seeding) and each study on tiny
// settings, with the studies' building blocks checked against references computed another way.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { disposeTasks, imageTaskSampler } from '../../src/cli/studies/image_tasks.js';
import { measureMemoryCase, type MemoryLearnerConfig } from '../../src/cli/studies/memory.js';
import { readLslrCheckpoint } from '../../src/cli/studies/lslr.js';
import { buildOmniglotLearner, type OmniglotRunConfig } from '../../src/cli/omniglot.js';

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
    for (const s of ['taylor', 'gradient-combinations', 'tails', 'inner-steps', 'hvp-cost', 'memory', 'lslr']) expect(r.out).toContain(s);
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
    [['study', 'memory', '--out', 'x', '--methods', 'maml,nope'], '--methods'],
    [['study', 'memory', '--out', 'x', '--data', 'nowhere/omniglot', '--image-size', '16'], '--image-size'],
    [['study', 'memory', '--out', 'x', '--data', 'nowhere/omniglot'], '--data'],
    [['study', 'lslr', '--out', 'x', '--checkpoint', 'nowhere/run'], '--checkpoint'],
    [['study', 'lslr', '--out', 'x', '--checkpoint', 'nowhere/run', '--iterations', '3'], '--iterations'],
    [['study', 'lslr', '--out', 'x', '--image-size', '8'], '--image-size'],
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
  memory: ['--steps', '1,2', '--filters', '2', '--ways', '2', '--query', '1', '--meta-batch', '1', '--image-size', '16', '--repeats', '1', '--cg-steps', '2'],
  lslr: ['--iterations', '3', '--inner-steps', '2', '--filters', '2', '--ways', '2', '--query', '1', '--meta-batch', '1', '--image-size', '16', '--eval-tasks', '3'],
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

  // hvp-cost and memory measure time and memory, which do not depend on the seed.
  test.skipIf(name === 'hvp-cost' || name === 'memory')('is seeded: the same seed gives the same table, another seed another', async () => {
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

describe('memory and lslr against references', () => {
  const ce = (p: mg.Tensor, y: mg.Tensor) => mg.nn.functional.crossEntropy(p, y);
  const flat = (ts: readonly mg.Tensor[]) => Float32Array.from(ts.flatMap((t) => Array.from(t.data())));
  const maxAbsDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

  test("memory: the measured meta-gradients are mg.meta.MAML's (second and first order), checkpointing changes the memory and not the gradient, iMAML's peak does not grow with the steps", () => {
    const cfg: MemoryLearnerConfig = { ways: 2, filters: 2, imageSize: 16, downsample: 'maxpool', innerLr: 0.3, imamlLr: 0.1, lambda: 2, cgSteps: 2, metaLr: 1e-3 };
    const sampler = imageTaskSampler({ ways: 2, shots: 1, query: 2, size: 16, seed: 1 });
    const tasks = mg.tidy(() => sampler.sample(2));
    const before = mg.memory().cpu.tensors;
    const K = 3;
    const maml = measureMemoryCase('maml', K, cfg, tasks, 1, 9);
    const ckpt = measureMemoryCase('checkpoint', K, cfg, tasks, 1, 9);
    const fomaml = measureMemoryCase('fomaml', K, cfg, tasks, 1, 9);
    const imaml1 = measureMemoryCase('imaml', 1, cfg, tasks, 1, 9);
    const imaml3 = measureMemoryCase('imaml', K, cfg, tasks, 2, 9);
    expect(mg.memory().cpu.tensors).toBe(before);
    for (const [firstOrder, got] of [[false, maml], [true, fomaml]] as const) {
      mg.manualSeed(9);
      const net = new mg.nn.Conv4({ ways: 2, filters: 2, imageSize: 16 });
      const ref = mg.tidy(() => flat(mg.grad(new mg.meta.MAML(net, { innerSteps: K, innerLr: cfg.innerLr, firstOrder, lossFn: ce }).metaLoss(tasks), net.parameters()) as mg.Tensor[]));
      net.dispose();
      expect(maxAbsDiff(got.grad, ref)).toBeLessThan(1e-4 * maxAbs(ref));
    }
    expect(maxAbsDiff(ckpt.grad, maml.grad)).toBeLessThan(1e-5 * maxAbs(maml.grad));
    expect(maxAbsDiff(fomaml.grad, maml.grad)).toBeGreaterThan(1e-3 * maxAbs(maml.grad)); // a different gradient, so the check above can fail
    expect(ckpt.peakMB).toBeLessThan(maml.peakMB);
    expect(Math.abs(imaml3.peakMB - imaml1.peakMB)).toBeLessThan(0.02 * imaml1.peakMB);
    for (const c of [maml, ckpt, fomaml, imaml1, imaml3]) for (const v of [c.peakMB, c.wallMs, c.cpuMs]) expect(v).toBeGreaterThan(0);
    disposeTasks(tasks);
    sampler.pool.dispose();
  });

  const runConfig = (over: Partial<OmniglotRunConfig> = {}): OmniglotRunConfig => ({
    format: 'metagrad-cli/1', task: 'omniglot', algo: 'mamlpp', data: '/nowhere', lakeSet: 'background', iterations: 7, iteration: 7, metaBatch: 2, metaLr: 1e-3,
    innerSteps: 3, innerLr: 0.2, evalSteps: 3, ways: 5, shots: 1, query: 1, firstOrder: false, seed: 0, device: 'cpu', filters: 2, downsample: 'maxpool',
    msl: true, mslEpochs: 10, daEpochs: 0, lslr: true, bnrs: true, bnwb: true, caEpochs: 1, epochIterations: 500, lambda: 2, cgSteps: 5, ...over,
  });

  test('lslr: reads the rates of a MAML++ checkpoint in module order, and the table holds them beside the initial rate', async () => {
    const dir = path.join(tmp, 'lslr-ckpt');
    fs.mkdirSync(dir, { recursive: true });
    const cfg = runConfig();
    const learner = buildOmniglotLearner(cfg);
    const pp = learner.pp!;
    // Known rates, one negative.
    const want = pp.innerLrs.map((_, i) => [0, 1, 2].map((s) => Math.fround(0.05 * (i + 1) - 0.02 * s - (i === 3 && s === 2 ? 0.5 : 0))));
    mg.noGrad(() => pp.innerLrs.forEach((t, i) => t.copy_(mg.tensor(Float32Array.from(want[i]), { shape: [3] }))));
    mg.io.save(path.join(dir, 'model.safetensors'), new Map(Object.entries(learner.stateDict()).map(([k, v]) => [`model.${k}`, v])), { format: 'metagrad-cli/1', iteration: '7' });
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), [1, 2, 3].map((it) => JSON.stringify({ iteration: it, loss: 2 / it, seconds: it })).join('\n') + '\n');
    learner.net.dispose();
    pp.innerLrs.forEach((t) => t.dispose());

    const before = mg.memory().cpu.tensors;
    const got = readLslrCheckpoint(dir);
    expect(mg.memory().cpu.tensors).toBe(before);
    expect(got.names).toEqual([0, 1, 2, 3].flatMap((b) => [`conv${b}.weight`, `conv${b}.bias`]).concat(['head.weight', 'head.bias']));
    expect(got.rates).toEqual(want);
    expect(got.initial).toBe(0.2);
    expect(got.iteration).toBe(7);
    expect(got.curve.map((c) => c.iteration)).toEqual([1, 2, 3]);

    const r = await cli(['study', 'lslr', '--out', path.join(tmp, 'lslr-out'), '--checkpoint', dir, '--json']);
    expect(r.code, r.err).toBe(0);
    const table = (jsonLines(r.out).at(-1) as unknown as { table: Table }).table;
    expect(table.rows.map((row) => row.tensor)).toEqual(got.names);
    expect(table.rows.map((row) => [row.s1, row.s2, row.s3])).toEqual(want);
    expect(table.rows.every((row) => row.initial === 0.2)).toBe(true);
    table.rows.forEach((row, i) => expect(row.meanRatio as number).toBeCloseTo((want[i][0] + want[i][1] + want[i][2]) / 3 / 0.2, 5));
    expect(fs.readFileSync(path.join(tmp, 'lslr-out', 'lslr.md'), 'utf8')).toContain('1 rate is negative');

    // Runs without learned rates are refused, naming the file.
    for (const [over, what] of [[{ algo: 'maml' }, 'mamlpp'], [{ lslr: false }, '--no-lslr']] as const) {
      fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(runConfig(over as Partial<OmniglotRunConfig>)));
      const bad = await cli(['study', 'lslr', '--out', path.join(tmp, 'lslr-bad'), '--checkpoint', dir]);
      expect(bad.code).toBe(2);
      expect(bad.err).toContain(what);
      expect(bad.err).toContain(path.join(dir, 'config.json'));
    }
    // A model file of another network is an error naming it.
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(runConfig({ filters: 3 })));
    const other = await cli(['study', 'lslr', '--out', path.join(tmp, 'lslr-bad'), '--checkpoint', dir]);
    expect(other.code).toBe(1);
    expect(other.err).toContain('model.safetensors');
    expect(fs.existsSync(path.join(tmp, 'lslr-bad'))).toBe(false);
  });

  const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/omniglot');
  const have = fs.existsSync(path.join(DATA, 'images_background_small2.zip')) && fs.existsSync(path.join(DATA, 'images_evaluation.zip'));

  test.skipIf(!have)('on the real Omniglot data: memory with --data, lslr on a checkpoint of metagrad train --algo mamlpp', async () => {
    const m = await cli(['study', 'memory', '--out', path.join(tmp, 'mem-omniglot'), '--data', DATA, '--json', '--steps', '1', '--methods', 'maml,imaml', '--filters', '2', '--ways', '2', '--query', '1', '--meta-batch', '1', '--repeats', '1', '--cg-steps', '2']);
    expect(m.code, m.err).toBe(0);
    const rec = JSON.parse(fs.readFileSync(path.join(tmp, 'mem-omniglot', 'memory.json'), 'utf8'));
    expect(rec.settings.tasks).toContain('Omniglot');
    expect(rec.table.rows.length).toBe(2);

    const run = path.join(tmp, 'pp-run');
    const t = await cli(['train', '--algo', 'mamlpp', '--task', 'omniglot-lake', '--lake-set', 'background_small2', '--data', DATA, '--out', run, '--iterations', '2',
      '--meta-batch', '1', '--filters', '2', '--inner-steps', '2', '--inner-lr', '0.3', '--log-every', '1', '--json']);
    expect(t.code, t.err).toBe(0);
    const r = await cli(['study', 'lslr', '--out', path.join(tmp, 'lslr-omniglot'), '--checkpoint', run, '--json']);
    expect(r.code, r.err).toBe(0);
    const table = (jsonLines(r.out).at(-1) as unknown as { table: Table }).table;
    const { tensors } = mg.io.load(path.join(run, 'model.safetensors'));
    for (const row of table.rows) {
      const ref = Array.from(tensors.get(`model.innerLr.${String(row.tensor)}`)!.data());
      expect([row.s1, row.s2]).toEqual(ref);
      expect(row.initial).toBe(0.3);
    }
    expect(table.rows.length).toBe(10);
    for (const v of tensors.values()) v.dispose();
  });
});
