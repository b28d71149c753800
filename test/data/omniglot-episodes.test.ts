/**
 * The N-way K-shot episode sampler. Most tests use a synthetic dataset whose pixel values name
 * their origin (value = drawing id x S^2 + pixel position), so every image of an episode can be
 * traced back to its character, drawing and rotation without the sampler's help. The last block
 * samples the real images_background_small2.zip.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { omniglotDataDir, realDataCacheDir } from './omniglot-helpers.js';

const { OmniglotDataset, OmniglotSampler, omniglotMamlSplits, omniglotLakeSplits, loadOmniglot } = mg.data;

const S = 6;
const S2 = S * S;
const CHARS = 60;
const DRAWINGS = 8;

/** Image of drawing d of character c: pixel p holds (c * DRAWINGS + d) * S2 + p (exact in float32). */
const images = Float32Array.from({ length: CHARS * DRAWINGS * S2 }, (_, i) => i);
const ds = new OmniglotDataset({
  imageSize: S,
  images,
  characters: Array.from({ length: CHARS }, (_, c) => ({ set: c < 40 ? 'background' : 'evaluation', alphabet: `A${c % 5}`, name: `c${String(c).padStart(2, '0')}`, count: DRAWINGS })),
});
const splits = omniglotMamlSplits(ds, { trainCharacters: 40, valCharacters: 8 });

/** Where a pixel value came from. */
function origin(v: number): { character: number; drawing: number; pixel: number } {
  const id = Math.floor(v / S2);
  return { character: Math.floor(id / DRAWINGS), drawing: id % DRAWINGS, pixel: v % S2 };
}

/** The pixel positions of an S x S image rotated k quarter turns counterclockwise (np.rot90). */
function rotatedPositions(k: number): number[] {
  let pos = Array.from({ length: S2 }, (_, p) => p);
  for (let r = 0; r < k; r++) {
    const next = new Array<number>(S2);
    for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) next[i * S + j] = pos[j * S + (S - 1 - i)];
    pos = next;
  }
  return pos;
}
const ROT = [0, 1, 2, 3].map(rotatedPositions);

/** Traces every image of a batch: one character, drawing and rotation per row. */
function trace(x: mg.Tensor): { character: number; drawing: number; rotation: number }[] {
  const v = x.data();
  const rows: { character: number; drawing: number; rotation: number }[] = [];
  for (let r = 0; r < x.shape[0]; r++) {
    const px = Array.from(v.subarray(r * S2, (r + 1) * S2), origin);
    const { character, drawing } = px[0];
    expect(px.every((o) => o.character === character && o.drawing === drawing)).toBe(true);
    const positions = px.map((o) => o.pixel);
    const rotation = ROT.findIndex((want) => want.every((p, i) => p === positions[i]));
    expect(rotation).toBeGreaterThanOrEqual(0);
    rows.push({ character, drawing, rotation });
  }
  return rows;
}

function disposeAll(tasks: mg.data.OmniglotTask[]): void {
  for (const t of tasks) for (const b of [t.support, t.query]) { b.x.dispose(); b.y.dispose(); }
}

describe('OmniglotSampler', () => {
  test('shapes, dtypes, balanced class-major labels; each class is one character and rotation', () => {
    mg.manualSeed(1);
    const sampler = new OmniglotSampler(ds, { ways: 5, shots: 2, queries: 3, splits });
    const tasks = sampler.sample(40);
    for (const t of tasks) {
      expect(t.support.x.shape).toEqual([10, 1, S, S]);
      expect(t.support.x.dtype).toBe('float32');
      expect(t.support.y.shape).toEqual([10]);
      expect(t.support.y.dtype).toBe('int32');
      expect(t.query.x.shape).toEqual([15, 1, S, S]);
      expect(t.query.y.shape).toEqual([15]);
      expect(Array.from(t.support.y.data())).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
      expect(Array.from(t.query.y.data())).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
      const sup = trace(t.support.x);
      const qry = trace(t.query.x);
      const keys = new Set<string>();
      for (let c = 0; c < 5; c++) {
        const rows = [...sup.slice(2 * c, 2 * c + 2), ...qry.slice(3 * c, 3 * c + 3)];
        // One character and one rotation per label, as the task's metadata says...
        expect(new Set(rows.map((r) => `${r.character}/${r.rotation}`)).size).toBe(1);
        expect(rows[0]).toMatchObject(t.classes[c]);
        // ...five different drawings of it (support and query never share one)...
        expect(new Set(rows.map((r) => r.drawing)).size).toBe(5);
        expect(rows.map((r) => r.drawing)).toEqual([...t.supportDrawings.subarray(2 * c, 2 * c + 2), ...t.queryDrawings.subarray(3 * c, 3 * c + 3)]);
        keys.add(`${rows[0].character}/${rows[0].rotation}`);
      }
      // ...and five different classes.
      expect(keys.size).toBe(5);
    }
    disposeAll(tasks);
  });

  test('never mixes splits; covers its split; rotations and labels are spread evenly', () => {
    mg.manualSeed(2);
    const seen = { train: new Set<number>(), val: new Set<number>(), test: new Set<number>() };
    const rotations = [0, 0, 0, 0];
    const firstLabelChar = new Set<number>();
    for (const split of ['train', 'val', 'test'] as const) {
      const sampler = new OmniglotSampler(ds, { ways: 5, shots: 1, queries: 1, split, splits });
      mg.tidy(() => {
        for (const t of sampler.sample(400)) {
          for (const c of t.classes) {
            seen[split].add(c.character);
            if (split === 'train') rotations[c.rotation]++;
          }
          if (split === 'train') firstLabelChar.add(t.classes[0].character);
        }
      });
    }
    expect([...seen.train].sort()).toEqual([...splits.train].sort());
    expect([...seen.val].sort()).toEqual([...splits.val].sort());
    expect([...seen.test].sort()).toEqual([...splits.test].sort());
    // 2,000 draws of a rotation: each of the four near 500 (binomial sd ~19).
    for (const r of rotations) expect(Math.abs(r - 500)).toBeLessThan(100);
    // Label 0 is not tied to a particular class: it lands on many characters.
    expect(firstLabelChar.size).toBeGreaterThan(25);
  });

  test('rotations off: classes are characters, all upright', () => {
    mg.manualSeed(3);
    const sampler = new OmniglotSampler(ds, { ways: 20, shots: 1, split: 'test', splits, rotations: false });
    expect(sampler.numClasses).toBe(20);
    mg.tidy(() => {
      for (const t of sampler.sample(20)) {
        expect(t.classes.every((c) => c.rotation === 0)).toBe(true);
        expect(trace(t.support.x).every((r) => r.rotation === 0)).toBe(true);
        expect(new Set(t.classes.map((c) => c.character)).size).toBe(20);
      }
    });
    expect(new OmniglotSampler(ds, { split: 'test', splits }).numClasses).toBe(80);
  });

  test('mg.manualSeed makes episodes repeatable; another seed gives others', () => {
    const sampler = new OmniglotSampler(ds, { ways: 5, shots: 1, queries: 2, splits });
    const draw = (seed: number) => {
      mg.manualSeed(seed);
      return mg.tidy(() => sampler.sample(10).map((t) => [Array.from(t.support.x.data()), Array.from(t.query.x.data()), t.classes]));
    };
    const a = draw(7);
    // A fresh sampler after the same seed, and the same sampler after intervening draws.
    const other = new OmniglotSampler(ds, { ways: 5, shots: 1, queries: 2, splits });
    mg.manualSeed(7);
    const b = mg.tidy(() => other.sample(10).map((t) => [Array.from(t.support.x.data()), Array.from(t.query.x.data()), t.classes]));
    expect(b).toEqual(a);
    expect(draw(7)).toEqual(a);
    expect(draw(8)).not.toEqual(a);
  });

  test('sampling in tidy leaves mg.memory() at its baseline', () => {
    const sampler = new OmniglotSampler(ds, { ways: 5, shots: 3, queries: 5, splits });
    mg.manualSeed(4);
    const base = mg.memory();
    for (let i = 0; i < 50; i++) mg.tidy(() => { sampler.sample(4); });
    const after = mg.memory();
    expect(after.tensors).toBe(base.tensors);
    expect(after.bytes).toBe(base.bytes);
  });

  test('bad options fail with a clear Error', () => {
    expect(() => new OmniglotSampler(ds, { ways: 0, splits })).toThrow(/OmniglotSampler: ways must be a positive integer, got 0/);
    expect(() => new OmniglotSampler(ds, { ways: 33, split: 'val', splits, rotations: false })).toThrow(/ways \(33\) exceeds the 8 classes of the 'val' split/);
    expect(() => new OmniglotSampler(ds, { shots: 5, queries: 4, splits })).toThrow(/has 8 drawings, fewer than shots \+ queries = 9/);
    expect(() => new OmniglotSampler(ds, { split: 'val', splits: { train: [0], val: [], test: [] } })).toThrow(/the 'val' split has no characters/);
    expect(() => new OmniglotSampler(ds, { splits: { train: [0, 999], val: [], test: [] } })).toThrow(/splits.train holds 999/);
    expect(() => new OmniglotSampler(ds, { split: 'dev' as never, splits })).toThrow(/split must be 'train', 'val' or 'test'/);
    expect(() => new OmniglotSampler(ds)).toThrow(/omniglotMamlSplits: trainCharacters \(1200\)/);
    expect(() => new OmniglotSampler(ds, { splits }).sample(-1)).toThrow(/n must be a non-negative integer/);
  });
});

const dataDir = omniglotDataDir();
describe.skipIf(!dataDir)('episodes of the real images_background_small2.zip', () => {
  test("Lake split of small2 with a validation hold-out: episodes' images are the dataset's drawings", () => {
    const real = loadOmniglot(join(dataDir!, 'images_background_small2.zip'), { cacheDir: realDataCacheDir() });
    const sp = omniglotLakeSplits(real, { background: 'background_small2', valCharacters: 20 });
    expect([sp.train.length, sp.val.length, sp.test.length]).toEqual([136, 20, 0]);
    const sampler = new OmniglotSampler(real, { ways: 20, shots: 1, queries: 5, splits: sp });
    expect(sampler.numClasses).toBe(544);
    mg.manualSeed(11);
    const base = mg.memory().tensors;
    mg.tidy(() => {
      for (const t of sampler.sample(5)) {
        const xs = t.support.x.data();
        const xq = t.query.x.data();
        t.classes.forEach((c, label) => {
          expect(sp.train).toContain(c.character);
          expect(Array.from(xs.subarray(label * 784, (label + 1) * 784))).toEqual(Array.from(real.image(c.character, t.supportDrawings[label], c.rotation)));
          const q = label * 5;
          expect(Array.from(xq.subarray(q * 784, (q + 1) * 784))).toEqual(Array.from(real.image(c.character, t.queryDrawings[q], c.rotation)));
        });
      }
    });
    expect(mg.memory().tensors).toBe(base);
  });
});
