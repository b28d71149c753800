/**
 * The MAML and Lake splits. The Python-compatible shuffle is checked against permutations that
 * Python 3 wrote (fixtures/omniglot_pil.json, `random.seed(s); random.shuffle(list(range(n)))`),
 * and the MAML split of the real 1,623 characters against Python's
 * `random.seed(1); random.shuffle(sorted(names))`.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { findSources, listSet } from '../../src/data/omniglot/source.js';
import { omniglotDataDir } from './omniglot-helpers.js';

const { OmniglotDataset, PythonRandom, omniglotMamlSplits, omniglotLakeSplits } = mg.data;
const here = dirname(fileURLToPath(import.meta.url));
const fixture = JSON.parse(readFileSync(join(here, 'fixtures/omniglot_pil.json'), 'utf8'));

/** A dataset of named characters with one 1x1 image each (splits only look at the names). */
function named(chars: { set: string; alphabet: string; name: string }[]): mg.data.OmniglotDataset {
  return new OmniglotDataset({ imageSize: 1, images: new Float32Array(chars.length), characters: chars.map((c) => ({ ...c, count: 1 })) });
}

function synthetic(sets: Record<string, number>): mg.data.OmniglotDataset {
  const chars: { set: string; alphabet: string; name: string }[] = [];
  for (const [set, n] of Object.entries(sets)) {
    for (let i = 0; i < n; i++) chars.push({ set, alphabet: `${set}-A${i % 7}`, name: `character${String(i).padStart(3, '0')}` });
  }
  return named(chars);
}

describe('PythonRandom', () => {
  for (const { seed, n, perm } of fixture.shuffle as { seed: number; n: number; perm: number[] }[]) {
    test(`random.seed(${seed}); random.shuffle(range(${n})) as Python 3 does`, () => {
      expect(new PythonRandom(seed).shuffle(Array.from({ length: n }, (_, i) => i))).toEqual(perm);
    });
  }
});

describe('omniglotMamlSplits', () => {
  const ds = synthetic({ background: 300, evaluation: 200 });

  test('a partition of all characters: train, val, test sizes; test is the same with or without val', () => {
    const a = omniglotMamlSplits(ds, { trainCharacters: 400 });
    expect([a.train.length, a.val.length, a.test.length]).toEqual([400, 0, 100]);
    const b = omniglotMamlSplits(ds, { trainCharacters: 400, valCharacters: 40 });
    expect([b.train.length, b.val.length, b.test.length]).toEqual([360, 40, 100]);
    expect(b.test).toEqual(a.test);
    expect([...b.train, ...b.val]).toEqual(a.train);
    expect([...b.train, ...b.val, ...b.test].sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  test('the order is Python\'s shuffle of the sorted names, independent of the load order', () => {
    const a = omniglotMamlSplits(ds, { trainCharacters: 400 });
    const id = (d: mg.data.OmniglotDataset, i: number) => `${d.characters[i].alphabet}/${d.characters[i].name}`;
    const sorted = ds.characters.map((_, i) => id(ds, i)).sort();
    const want = new PythonRandom(1).shuffle(sorted.slice());
    expect([...a.train, ...a.test].map((i) => id(ds, i))).toEqual(want);
    // The same characters loaded in another order give the same split, by name.
    const reversed = named([...ds.characters].reverse().map((c) => ({ set: c.set, alphabet: c.alphabet, name: c.name })));
    const r = omniglotMamlSplits(reversed, { trainCharacters: 400 });
    expect(r.train.map((i) => id(reversed, i))).toEqual(a.train.map((i) => id(ds, i)));
    // Another seed, another split; mg.manualSeed plays no part.
    mg.manualSeed(5);
    const s2 = omniglotMamlSplits(ds, { trainCharacters: 400, seed: 2 });
    mg.manualSeed(6);
    expect(omniglotMamlSplits(ds, { trainCharacters: 400, seed: 2 })).toEqual(s2);
    expect(s2.test).not.toEqual(a.test);
  });

  test('errors', () => {
    expect(() => omniglotMamlSplits(ds)).toThrow(/trainCharacters \(1200\) must be less than the number of characters \(500/);
    expect(() => omniglotMamlSplits(ds, { trainCharacters: 100, valCharacters: 101 })).toThrow(/valCharacters must be an integer in \[0, 100\]/);
    const dup = named([{ set: 'background', alphabet: 'A', name: 'c1' }, { set: 'background_small1', alphabet: 'A', name: 'c1' }, { set: 'x', alphabet: 'B', name: 'c' }]);
    expect(() => omniglotMamlSplits(dup, { trainCharacters: 1 })).toThrow(/A\/c1 is loaded twice \(from sets background and background_small1\)/);
  });
});

describe('omniglotLakeSplits', () => {
  test('train on the background set (minus val), test on evaluation', () => {
    const ds = synthetic({ background_small1: 30, evaluation: 20, background: 50 });
    const bySet = (s: string) => ds.characters.filter((c) => c.set === s).map((c) => c.index);
    const a = omniglotLakeSplits(ds, { background: 'background_small1' });
    expect(a).toEqual({ train: bySet('background_small1'), val: [], test: bySet('evaluation') });
    const b = omniglotLakeSplits(ds, { valCharacters: 10 });
    expect(b.val.length).toBe(10);
    expect([...b.train, ...b.val].sort((x, y) => x - y)).toEqual(bySet('background'));
    expect(b.test).toEqual(bySet('evaluation'));
    expect(() => omniglotLakeSplits(ds, { background: 'background_small2' })).toThrow(/the set 'background_small2' is not loaded \(loaded: background_small1, evaluation, background\)/);
  });
});

const dataDir = omniglotDataDir();
describe.skipIf(!dataDir || !fixture.mamlSplit)('the MAML split of the real 1,623 characters', () => {
  test("equals Python's random.seed(1); random.shuffle(sorted(names)); 1,200 / 423 (Finn's val: 1,100 / 100 / 423)", () => {
    // Only the names matter: list the two zips and build a dataset of 1x1 placeholders.
    const chars = findSources('test', dataDir!).flatMap((src) => {
      const l = listSet('test', src);
      return l.characters.map((c) => ({ set: l.set, alphabet: c.alphabet, name: c.character }));
    });
    expect(chars.length).toBe(1623);
    const ds = named(chars);
    const id = (i: number) => `${ds.characters[i].alphabet}/${ds.characters[i].name}`;
    const s = omniglotMamlSplits(ds);
    expect([s.train.length, s.val.length, s.test.length]).toEqual([1200, 0, 423]);
    const m = fixture.mamlSplit;
    expect(s.train.slice(0, 5).map(id)).toEqual(m.first);
    expect(s.train.slice(1100, 1105).map(id)).toEqual(m.at1100);
    expect(s.test.slice(0, 5).map(id)).toEqual(m.at1200);
    expect(s.test.slice(-5).map(id)).toEqual(m.last);
    const finn = omniglotMamlSplits(ds, { valCharacters: 100 });
    expect([finn.train.length, finn.val.length, finn.test.length]).toEqual([1100, 100, 423]);
    expect(finn.val.slice(0, 5).map(id)).toEqual(m.at1100);
  });
});
