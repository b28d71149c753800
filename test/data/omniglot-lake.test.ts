/**
 * Lake's one-shot runs: synthetic runs (layout, labels, errors) and the real all_runs.zip (labels
 * read back from class_labels.txt by a separate parser, pixels against decodePngGray + resizeGray,
 * and a nearest-neighbour classifier well above chance, which only holds if the test drawings
 * carry their right labels).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { strToU8, unzipSync, zipSync } from 'fflate';
import { afterAll, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { decodePngGray } from '../../src/data/omniglot/decode.js';
import { resizeGray } from '../../src/data/omniglot/resize.js';
import { drawing, omniglotDataDir, png1bit, tempDir } from './omniglot-helpers.js';

const { loadLakeRuns } = mg.data;
const tmp = tempDir('omniglot-lake');
afterAll(() => tmp.cleanup());

/** A run of C classes: training drawing i is class i; test item j is class answer[j]. */
function runEntries(run: string, answer: number[], seed: number): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const C = answer.length;
  const pad = (i: number) => String(i + 1).padStart(2, '0');
  for (let i = 0; i < C; i++) files[`${run}/training/class${pad(i)}.png`] = png1bit(drawing(seed + i), 105, 105);
  for (let j = 0; j < C; j++) files[`${run}/test/item${pad(j)}.png`] = png1bit(drawing(seed + 50 + j), 105, 105);
  files[`${run}/class_labels.txt`] = strToU8(answer.map((a, j) => `${run}/test/item${pad(j)}.png ${run}/training/class${pad(a)}.png`).join('\r\n') + '\r\n');
  return files;
}

describe('loadLakeRuns (synthetic runs)', () => {
  const entries = { ...runEntries('run01', [2, 0, 1], 1), ...runEntries('run02', [1, 0, 3, 2], 9) };

  test('a zip, a folder holding it, or the unpacked runs: labels from class_labels.txt', () => {
    const d = join(tmp.dir, 'ok');
    mkdirSync(join(d, 'unpacked'), { recursive: true });
    writeFileSync(join(d, 'all_runs.zip'), zipSync(entries));
    for (const [name, bytes] of Object.entries(entries)) {
      mkdirSync(join(d, 'unpacked', name, '..'), { recursive: true });
      writeFileSync(join(d, 'unpacked', name), bytes);
    }
    for (const src of [join(d, 'all_runs.zip'), d, join(d, 'unpacked')]) {
      const lake = loadLakeRuns(src, { imageSize: 14 });
      expect(lake.runs.map((r) => r.name)).toEqual(['run01', 'run02']);
      expect(Array.from(lake.runs[0].trainLabels)).toEqual([0, 1, 2]);
      expect(Array.from(lake.runs[0].testLabels)).toEqual([2, 0, 1]);
      expect(Array.from(lake.runs[1].testLabels)).toEqual([1, 0, 3, 2]);
      const g = drawing(9 + 50 + 2);
      const want = Array.from(resizeGray(g, 105, 105, 14, 14, 'lanczos'), (v) => Math.fround((255 - v) / 255));
      expect(Array.from(lake.runs[1].testImages.subarray(2 * 196, 3 * 196))).toEqual(want);
      const base = mg.memory().tensors;
      mg.tidy(() => {
        const t = lake.task(1);
        expect(t.run).toBe('run02');
        expect(t.support.x.shape).toEqual([4, 1, 14, 14]);
        expect(t.support.y.dtype).toBe('int32');
        expect(Array.from(t.query.y.data())).toEqual([1, 0, 3, 2]);
        expect([...lake.tasks()].length).toBe(2);
      });
      expect(mg.memory().tensors).toBe(base);
      expect(lake.errorRate([[2, 0, 1], [1, 0, 3, 2]])).toBe(0);
      expect(lake.errorRate([[2, 0, 0], [0, 0, 0, 0]])).toBeCloseTo((1 / 3 + 3 / 4) / 2, 12);
    }
  });

  test('malformed runs fail with an Error naming the file', () => {
    const d = join(tmp.dir, 'bad');
    mkdirSync(d, { recursive: true });
    const write = (name: string, files: Record<string, Uint8Array>): string => {
      writeFileSync(join(d, name), zipSync(files));
      return join(d, name);
    };
    const base = runEntries('run01', [1, 0], 3);
    const withLabels = (text: string) => ({ ...base, 'run01/class_labels.txt': strToU8(text) });
    const { 'run01/class_labels.txt': _labels, ...noLabels } = base;
    expect(() => loadLakeRuns(write('a.zip', noLabels))).toThrow(/loadLakeRuns: a\.zip: run01\/class_labels\.txt: missing/);
    expect(() => loadLakeRuns(write('b.zip', withLabels('run01/test/item01.png\n')))).toThrow(/b\.zip: run01\/class_labels\.txt: line 1: expected "<test drawing> <training drawing>"/);
    expect(() => loadLakeRuns(write('c.zip', withLabels('run01/test/item01.png run01/training/class07.png\nrun01/test/item02.png run01/training/class01.png')))).toThrow(/line 1: run01\/training\/class07\.png is not a training drawing of run01/);
    expect(() => loadLakeRuns(write('d.zip', withLabels('run01/test/item01.png run01/training/class02.png')))).toThrow(/run01\/class_labels\.txt: no answer for run01\/test\/item02\.png/);
    expect(() => loadLakeRuns(write('e.zip', { ...base, 'run01/test/item02.png': strToU8('junk') }))).toThrow(/loadLakeRuns: e\.zip: run01\/test\/item02\.png: not a PNG file/);
    expect(() => loadLakeRuns(write('f.zip', { ...base, 'notes/readme.txt': strToU8('x') }))).toThrow(/f\.zip: notes\/readme\.txt: unexpected entry \(expected runNN\/\.\.\.\)/);
    writeFileSync(join(d, 'g.zip'), 'not a zip');
    expect(() => loadLakeRuns(join(d, 'g.zip'))).toThrow(/g\.zip is not a zip archive/);
    mkdirSync(join(d, 'empty'));
    expect(() => loadLakeRuns(join(d, 'empty'))).toThrow(/empty: no all_runs\.zip, all_runs\/ or run01\/ folder in it/);
  });
});

const dataDir = omniglotDataDir();
describe.skipIf(!dataDir)('the real all_runs.zip', () => {
  test('20 runs of 20 classes; labels, pixels; 1-nearest-neighbour on pixels beats chance', () => {
    const zipPath = join(dataDir!, 'all_runs.zip');
    const lake = loadLakeRuns(dataDir!);
    expect(lake.runs.length).toBe(20);
    // class_labels.txt read back independently.
    const raw = unzipSync(new Uint8Array(readFileSync(zipPath)));
    for (const run of lake.runs) {
      expect(run.trainFiles).toEqual(Array.from({ length: 20 }, (_, i) => `${run.name}/training/class${String(i + 1).padStart(2, '0')}.png`));
      expect(run.testFiles).toEqual(Array.from({ length: 20 }, (_, i) => `${run.name}/test/item${String(i + 1).padStart(2, '0')}.png`));
      const text = new TextDecoder().decode(raw[`${run.name}/class_labels.txt`]);
      const want = new Map<string, number>();
      for (const m of text.matchAll(/(\S+\/test\/item\d+\.png)\s+\S+\/training\/class(\d+)\.png/g)) want.set(m[1], Number(m[2]) - 1);
      expect(Array.from(run.testLabels)).toEqual(run.testFiles.map((f) => want.get(f)));
      // Each class has exactly one test drawing in Lake's runs.
      expect([...run.testLabels].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    }
    const f = lake.runs[4].testFiles[7];
    const g = decodePngGray(raw[f], f);
    const px = Array.from(resizeGray(g.data, g.width, g.height, 28, 28, 'lanczos'), (v) => Math.fround((255 - v) / 255));
    expect(Array.from(lake.runs[4].testImages.subarray(7 * 784, 8 * 784))).toEqual(px);
    // 1-NN with Euclidean distance on the 28x28 pixels. Chance is 95% error: 20 of the 400 test
    // drawings right, sd 4.4; wrong labels would keep it there. (1-NN on raw pixels is weak on
    // Omniglot, strokes rarely overlap exactly: about 79% error here.)
    const predictions = lake.runs.map((run) => run.testLabels.map((_, j) => {
      let best = -1, bestD = Infinity;
      for (let i = 0; i < 20; i++) {
        let dist = 0;
        for (let p = 0; p < 784; p++) { const e = run.testImages[j * 784 + p] - run.trainImages[i * 784 + p]; dist += e * e; }
        if (dist < bestD) { bestD = dist; best = i; }
      }
      return best;
    }));
    const err = lake.errorRate(predictions);
    console.log(`[omniglot lake] 1-NN on 28x28 pixels: error rate ${(100 * err).toFixed(1)}% over the 20 runs`);
    expect(err).toBeLessThan(0.88); // >= 49 right: more than 6 sd above chance
  });
});
