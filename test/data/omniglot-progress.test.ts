// loadOmniglot's onProgress (the CLI's decoding progress bar): reports while a set is decoded, in
// order, ending at the set's drawing count; nothing on a cache hit; a bad callback is refused.
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { syntheticSet, tempDir, writeSetZip } from './omniglot-helpers.js';

const tmp = tempDir('omniglot-progress');
afterAll(() => tmp.cleanup());

describe('loadOmniglot onProgress', () => {
  const bg = syntheticSet('B', 2, 13, 21, 3); // 26 characters x 21 drawings = 546
  const ev = syntheticSet('E', 1, 2, 5, 4); // 10 drawings
  writeSetZip(tmp.dir, 'background', bg);
  writeSetZip(tmp.dir, 'evaluation', ev);
  const cacheDir = join(tmp.dir, 'cache');

  test('decoding reports 0, every 500 drawings and the end, per set; a cache hit reports nothing', () => {
    const calls: { set: string; done: number; total: number }[] = [];
    const ds = mg.data.loadOmniglot(tmp.dir, { cacheDir, onProgress: (p) => calls.push({ ...p }) });
    expect(ds.sources.map((s) => s.cache)).toEqual(['written', 'written']);
    expect(calls).toEqual([
      { set: 'background', done: 0, total: 546 },
      { set: 'background', done: 500, total: 546 },
      { set: 'background', done: 546, total: 546 },
      { set: 'evaluation', done: 0, total: 10 },
      { set: 'evaluation', done: 10, total: 10 },
    ]);
    expect(ds.numImages).toBe(556);
    const again: unknown[] = [];
    const hit = mg.data.loadOmniglot(tmp.dir, { cacheDir, onProgress: (p) => again.push(p) });
    expect(hit.sources.map((s) => s.cache)).toEqual(['hit', 'hit']);
    expect(again).toEqual([]);
    expect(hit.images).toEqual(ds.images);
  });

  test('onProgress must be a function', () => {
    expect(() => mg.data.loadOmniglot(tmp.dir, { cacheDir, onProgress: 3 as unknown as () => void })).toThrow('loadOmniglot: onProgress must be a function');
  });
});
