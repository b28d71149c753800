/**
 * Loading Omniglot: from a zip, a folder of zips, an unpacked folder; the binary cache (hit,
 * damaged and rebuilt, unwritable, off); damaged or unexpected archives. Synthetic sets written to
 * a temp dir; the reference pixels are computed from the generated drawings with resizeGray (itself
 * checked against Pillow in omniglot-decode.test.ts). The last block reads the real
 * images_background_small2.zip (cached between runs in realDataCacheDir()) and compares with
 * Pillow's values.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';
import { afterAll, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { resizeGray } from '../../src/data/omniglot/resize.js';
import {
  omniglotDataDir, realDataCacheDir, setEntries, syntheticSet, tempDir, writeSetDir, writeSetZip, type SynthCharacter,
} from './omniglot-helpers.js';

const { loadOmniglot } = mg.data;
const tmp = tempDir('omniglot-load');
afterAll(() => tmp.cleanup());
let n = 0;
const fresh = (): string => {
  const d = join(tmp.dir, `case${++n}`);
  mkdirSync(d, { recursive: true });
  return d;
};

const bg = syntheticSet('B', 2, 3, 4, 1); // 6 characters x 4 drawings
const ev = syntheticSet('E', 1, 2, 4, 2); // 2 characters x 4 drawings

/** Expected images of a synthetic set: 1 - resize(gray) / 255, character after character. */
function expected(chars: SynthCharacter[], size = 28, filter: mg.data.ResizeFilter = 'lanczos'): Float32Array {
  const out: number[] = [];
  for (const c of chars) for (const g of c.gray) for (const v of resizeGray(g, 105, 105, size, size, filter)) out.push((255 - v) / 255);
  return Float32Array.from(out);
}

function namesOf(ds: mg.data.OmniglotDataset): string[] {
  return ds.characters.map((c) => `${c.set}:${c.alphabet}/${c.name}:${c.count}`);
}
const names = (set: string, chars: SynthCharacter[]) => chars.map((c) => `${set}:${c.alphabet}/${c.character}:${c.gray.length}`);

describe('loadOmniglot sources', () => {
  test('a zip: characters, drawings and pixels; the second load reads the cache', () => {
    const d = fresh();
    const zip = writeSetZip(d, 'background', bg);
    const cacheDir = join(d, 'cache');
    const a = loadOmniglot(zip, { cacheDir });
    expect(namesOf(a)).toEqual(names('background', bg));
    expect(a.numImages).toBe(24);
    expect(a.imageSize).toBe(28);
    expect(a.characters.map((c) => c.offset)).toEqual([0, 4, 8, 12, 16, 20]);
    expect(a.character(bg[4].alphabet, bg[4].character)).toBe(a.characters[4]);
    expect(a.character(bg[4].alphabet, bg[4].character, 'evaluation')).toBeUndefined();
    expect(a.alphabets()).toEqual([bg[0].alphabet, bg[3].alphabet]);
    expect(Array.from(a.images)).toEqual(Array.from(expected(bg)));
    expect(a.sources).toMatchObject([{ set: 'background', kind: 'zip', path: zip, cache: 'written' }]);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.bin'))).toHaveLength(1);
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.tmp'))).toHaveLength(0);
    const b = loadOmniglot(zip, { cacheDir });
    expect(b.sources[0].cache).toBe('hit');
    expect(namesOf(b)).toEqual(namesOf(a));
    expect(Array.from(b.images)).toEqual(Array.from(a.images));
  });

  test('a folder holding the zips: background then evaluation by default, or the sets asked for', () => {
    const d = fresh();
    writeSetZip(d, 'background', bg);
    writeSetZip(d, 'evaluation', ev);
    const cacheDir = join(d, 'cache');
    const both = loadOmniglot(d, { cacheDir });
    expect(namesOf(both)).toEqual([...names('background', bg), ...names('evaluation', ev)]);
    expect(Array.from(both.images)).toEqual([...expected(bg), ...expected(ev)]);
    expect(both.sets).toEqual(['background', 'evaluation']);
    const evOnly = loadOmniglot(d, { cacheDir, sets: ['evaluation'] });
    expect(namesOf(evOnly)).toEqual(names('evaluation', ev));
    expect(evOnly.sources[0].cache).toBe('hit');
    expect(() => loadOmniglot(d, { cacheDir, sets: ['background_small1'] })).toThrow(/loadOmniglot: .*missing images_background_small1\.zip/);
  });

  test('unpacked folders (the set folder itself, or its parent) give the same data as the zip', () => {
    const d = fresh();
    const setDir = writeSetDir(d, 'background', bg);
    writeSetDir(d, 'evaluation', ev);
    const cacheDir = join(d, 'cache');
    const one = loadOmniglot(setDir, { cacheDir });
    expect(one.sources).toMatchObject([{ set: 'background', kind: 'dir', cache: 'written' }]);
    expect(namesOf(one)).toEqual(names('background', bg));
    expect(Array.from(one.images)).toEqual(Array.from(expected(bg)));
    const both = loadOmniglot(d, { cacheDir });
    expect(both.sources.map((s) => [s.kind, s.cache])).toEqual([['dir', 'hit'], ['dir', 'written']]);
    expect(Array.from(both.images)).toEqual([...expected(bg), ...expected(ev)]);
    // Touching a drawing changes the folder's key: a new cache file.
    const f = join(setDir, bg[0].alphabet, bg[0].character, '01.png');
    const t = statSync(f).mtime;
    utimesSync(f, t, new Date(t.getTime() + 5000));
    expect(loadOmniglot(setDir, { cacheDir }).sources[0].cache).toBe('written');
  });

  test('imageSize and resize options', () => {
    const d = fresh();
    const zip = writeSetZip(d, 'evaluation', ev);
    const a = loadOmniglot(zip, { cacheDir: join(d, 'c'), imageSize: 14, resize: 'box' });
    expect(a.imageSize).toBe(14);
    expect(a.resize).toBe('box');
    expect(Array.from(a.images)).toEqual(Array.from(expected(ev, 14, 'box')));
    const b = loadOmniglot(zip, { cacheDir: join(d, 'c'), imageSize: 14, resize: 'nearest' });
    expect(b.sources[0].cache).toBe('written'); // another size or filter is another cache file
    expect(Array.from(b.images)).toEqual(Array.from(expected(ev, 14, 'nearest')));
    expect(new Set(b.images).size).toBe(2); // nearest keeps the drawings binary
  });

  test('image(), drawings() and rotations', () => {
    const d = fresh();
    const ds = loadOmniglot(writeSetZip(d, 'evaluation', ev), { cache: false });
    const s = 28;
    const raw = ds.images.subarray(5 * s * s, 6 * s * s); // character 1, drawing 1
    // np.rot90(img, k): out[i][j] = in[j][s-1-i] for k = 1, applied k times.
    const rot = (img: Float32Array): Float32Array => {
      const o = new Float32Array(s * s);
      for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) o[i * s + j] = img[j * s + (s - 1 - i)];
      return o;
    };
    let want: Float32Array = Float32Array.from(raw);
    for (let k = 0; k < 4; k++) {
      expect(Array.from(ds.image(1, 1, k))).toEqual(Array.from(want));
      want = rot(want);
    }
    const base = mg.memory().tensors;
    const t = ds.drawings(1, 2);
    expect(t.shape).toEqual([4, 1, 28, 28]);
    expect(Array.from(t.data().subarray(s * s, 2 * s * s))).toEqual(Array.from(ds.image(1, 1, 2)));
    t.dispose();
    expect(mg.memory().tensors).toBe(base);
    expect(() => ds.image(2, 0)).toThrow(/character 2 out of range/);
    expect(() => ds.image(0, 4)).toThrow(/drawing 4 out of range/);
    expect(() => ds.image(0, 0, 4)).toThrow(/rotation must be 0, 1, 2 or 3/);
  });
});

describe('loadOmniglot cache', () => {
  const d = fresh();
  const zip = writeSetZip(d, 'evaluation', ev);
  const cacheDir = join(d, 'cache');
  const first = loadOmniglot(zip, { cacheDir });
  const file = first.sources[0].cacheFile!;
  const good = readFileSync(file);

  test.each([
    ['truncated', () => writeFileSync(file, good.subarray(0, good.length - 100)), /truncated/],
    ['cut inside the header', () => writeFileSync(file, good.subarray(0, 20)), /truncated/],
    ['a flipped pixel byte', () => { const b = Buffer.from(good); b[b.length - 10] ^= 0x5a; writeFileSync(file, b); }, /SHA-256/],
    ['garbage', () => writeFileSync(file, 'not a cache'), /not a metagrad Omniglot cache/],
    ['empty', () => writeFileSync(file, ''), /not a metagrad Omniglot cache/],
  ])('%s cache file: detected and rebuilt', (_name, damage, problem) => {
    damage();
    const ds = loadOmniglot(zip, { cacheDir });
    expect(ds.sources[0].cache).toBe('rebuilt');
    expect(ds.sources[0].cacheProblem).toMatch(problem);
    expect(Array.from(ds.images)).toEqual(Array.from(first.images));
    expect(readFileSync(file).equals(good)).toBe(true);
    expect(loadOmniglot(zip, { cacheDir }).sources[0].cache).toBe('hit');
  });

  test('a changed archive gets a new cache file', () => {
    const d2 = fresh();
    const z = writeSetZip(d2, 'evaluation', ev);
    expect(loadOmniglot(z, { cacheDir }).sources[0].cache).toBe('written');
    const other = syntheticSet('E', 1, 2, 4, 99);
    writeSetZip(d2, 'evaluation', other);
    const t = statSync(z).mtime;
    utimesSync(z, t, new Date(t.getTime() + 5000)); // sure to differ even within one mtime tick
    const ds = loadOmniglot(z, { cacheDir });
    expect(ds.sources[0].cache).toBe('written');
    expect(Array.from(ds.images)).toEqual(Array.from(expected(other)));
  });

  test('cache: false, and a cache folder that cannot be written (a warning, the data still loads)', async () => {
    expect(loadOmniglot(zip, { cache: false }).sources[0]).toMatchObject({ cache: 'off' });
    const blocker = join(d, 'a-file');
    writeFileSync(blocker, 'x');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const ds = loadOmniglot(zip, { cacheDir: join(blocker, 'sub') });
      expect(ds.sources[0].cache).toBe('unwritable');
      expect(ds.sources[0].cacheProblem).toMatch(/cannot write the cache .*a-file/);
      expect(Array.from(ds.images)).toEqual(Array.from(first.images));
      await new Promise((done) => setTimeout(done, 20)); // warnings arrive on a later tick
      expect(warnings.some((w) => /continuing without a cache/.test(w))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('loadOmniglot: damaged or unexpected sources fail with an Error naming the file', () => {
  const d = fresh();
  const opts = { cacheDir: join(d, 'cache') };
  const zipOf = (name: string, files: Record<string, Uint8Array>): string => {
    const p = join(d, name);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, zipSync(files));
    return p;
  };
  const good = setEntries('background', bg.slice(0, 2));

  test('not a zip', () => {
    const p = join(d, 'x1', 'images_background.zip');
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, 'this is not a zip file');
    expect(() => loadOmniglot(p, opts)).toThrow(/loadOmniglot: .*x1\/images_background\.zip is not a zip archive/);
  });

  test('a truncated zip', () => {
    const p = zipOf('x2/images_background.zip', good);
    writeFileSync(p, readFileSync(p).subarray(0, 2000));
    expect(() => loadOmniglot(p, opts)).toThrow(/loadOmniglot: .*x2\/images_background\.zip: damaged zip archive/);
  });

  test('a bad PNG inside', () => {
    const files = { ...good };
    const name = Object.keys(files)[3];
    files[name] = files[name].slice(0, 40); // cut inside IHDR/IDAT
    const p = zipOf('x3/images_background.zip', files);
    expect(() => loadOmniglot(p, opts)).toThrow(new RegExp(`loadOmniglot: images_background\\.zip: ${name.replace(/[.()]/g, '\\$&')}: bad PNG`));
    files[name] = new TextEncoder().encode('GIF89a...');
    const p2 = zipOf('x4/images_background.zip', files);
    expect(() => loadOmniglot(p2, opts)).toThrow(/images_background\.zip: .*: not a PNG file/);
  });

  test('a flipped byte inside a PNG (chunk CRC)', () => {
    const files = { ...good };
    const name = Object.keys(files)[0];
    const b = files[name].slice();
    b[b.length - 20] ^= 0xff; // inside IDAT
    files[name] = b;
    expect(() => loadOmniglot(zipOf('x5/images_background.zip', files), opts)).toThrow(/images_background\.zip: .*01\.png: bad PNG/);
  });

  test('an unexpected layout', () => {
    const flat = { 'images_background/Alpha/01.png': good[Object.keys(good)[0]] };
    expect(() => loadOmniglot(zipOf('x6/images_background.zip', flat), opts)).toThrow(/unexpected entry images_background\/Alpha\/01\.png \(expected images_background\/<alphabet>\/<character>\/<drawing>\.png\)/);
    const other = { 'something/Alpha/c1/01.png': good[Object.keys(good)[0]] };
    expect(() => loadOmniglot(zipOf('x7/images_background.zip', other), opts)).toThrow(/x7\/images_background\.zip: top folder something\/ is not an Omniglot image set/);
    const txt = { ...good, 'images_background/Alpha/c1/notes.txt': new Uint8Array(3) };
    expect(() => loadOmniglot(zipOf('x8/images_background.zip', txt), opts)).toThrow(/unexpected entry images_background\/Alpha\/c1\/notes\.txt/);
    expect(() => loadOmniglot(zipOf('x9/images_background.zip', {}), opts)).toThrow(/x9\/images_background\.zip: no drawings in the archive/);
    const mixed = { ...good, 'images_evaluation/A/c/01.png': good[Object.keys(good)[0]] };
    expect(() => loadOmniglot(zipOf('x10/images_background.zip', mixed), opts)).toThrow(/unexpected entry images_evaluation\/A\/c\/01\.png \(everything should be under images_background\/\)/);
  });

  test('unpacked folders with missing pieces', () => {
    const root = join(d, 'x11');
    const setDir = writeSetDir(root, 'background', bg.slice(0, 2));
    mkdirSync(join(setDir, 'EmptyAlphabet'));
    expect(() => loadOmniglot(setDir, opts)).toThrow(/x11\/images_background\/EmptyAlphabet: alphabet folder without character folders/);
    rmSync(join(setDir, 'EmptyAlphabet'), { recursive: true });
    mkdirSync(join(setDir, bg[0].alphabet, 'character99'));
    expect(() => loadOmniglot(setDir, opts)).toThrow(/character99: character folder without drawings/);
  });

  test('wrong paths and options', () => {
    expect(() => loadOmniglot(join(d, 'nope'), opts)).toThrow(/loadOmniglot: cannot read .*nope/);
    expect(() => loadOmniglot(fresh(), opts)).toThrow(/missing images_background\.zip .* and images_evaluation\.zip .*; found: nothing/);
    const z = zipOf('x12/images_background.zip', good);
    expect(() => loadOmniglot(z, { ...opts, sets: ['evaluation'] })).toThrow(/holds the set 'background', not one of the requested sets \(evaluation\)/);
    expect(() => loadOmniglot(z, { ...opts, imageSize: 0 })).toThrow(/imageSize must be an integer/);
    expect(() => loadOmniglot(z, { ...opts, resize: 'cubic' as never })).toThrow(/unknown resize filter cubic/);
    expect(() => loadOmniglot(z, { ...opts, sets: ['training' as never] })).toThrow(/unknown set training/);
  });
});

const dataDir = omniglotDataDir();
describe.skipIf(!dataDir)('the real images_background_small2.zip', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const fixture = JSON.parse(readFileSync(join(here, 'fixtures/omniglot_pil.json'), 'utf8'));

  test("156 characters of 20 drawings; pixels are 1 - Pillow's LANCZOS / 255; the cache round-trips", () => {
    const cacheDir = realDataCacheDir();
    const ds = loadOmniglot(join(dataDir!, 'images_background_small2.zip'), { cacheDir });
    expect(ds.characters.length).toBe(156);
    expect(ds.characters.every((c) => c.count === 20 && c.set === 'background_small2')).toBe(true);
    expect(ds.alphabets().length).toBe(5);
    // The fixture's first sorted files are the first drawings of the first character.
    expect(`${ds.characters[0].alphabet}/${ds.characters[0].name}`).toBe(fixture.real[0].name.split('/').slice(1, 3).join('/'));
    fixture.real.forEach((r: { lanczos: string }, i: number) => {
      const want = Array.from(Buffer.from(r.lanczos, 'base64'), (v) => Math.fround((255 - v) / 255));
      expect(Array.from(ds.image(0, i))).toEqual(want);
    });
    const again = loadOmniglot(join(dataDir!, 'images_background_small2.zip'), { cacheDir });
    expect(again.sources[0].cache).toBe('hit');
    expect(Buffer.from(again.images.buffer).equals(Buffer.from(ds.images.buffer))).toBe(true);
  });
});
