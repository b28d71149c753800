/** Shared by the Omniglot tests: where the real data is, and small synthetic archives in a temp dir. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encode } from 'fast-png';
import { zipSync } from 'fflate';
import { prng } from '../helpers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** ../shared/data/omniglot next to the repository, or undefined (with a visible note) if absent. */
export function omniglotDataDir(): string | undefined {
  const dir = resolve(repoRoot, '../shared/data/omniglot');
  if (existsSync(resolve(dir, 'images_background_small2.zip'))) return dir;
  console.warn(`[omniglot tests] ${dir} not found: the tests on the real Omniglot data are skipped`);
  return undefined;
}

/**
 * The cache folder of the tests on the real data, kept between runs so that only the first run on
 * a machine decodes the PNGs (the cache is keyed by the zip's size and mtime, and checked).
 */
export function realDataCacheDir(): string {
  return join(tmpdir(), 'metagrad-test-cache', 'omniglot');
}

/** A fresh temporary folder; `cleanup()` removes it. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `metagrad-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A 105x105 "drawing": white (255) with a few black (0) strokes of a random walk. */
export function drawing(seed: number, size = 105): Uint8Array {
  const r = prng(seed);
  const g = new Uint8Array(size * size).fill(255);
  let y = Math.floor(size / 2), x = Math.floor(size / 2);
  for (let s = 0; s < 150; s++) {
    y = Math.min(size - 4, Math.max(3, y + Math.floor(r() * 5) - 2));
    x = Math.min(size - 4, Math.max(3, x + Math.floor(r() * 5) - 2));
    for (let dy = -2; dy <= 2; dy++) for (let dx = -2; dx <= 2; dx++) g[(y + dy) * size + x + dx] = 0;
  }
  return g;
}

/** A 1-bit grayscale PNG (the official format) of a 0/255 image. */
export function png1bit(gray: Uint8Array, width: number, height: number): Uint8Array {
  const stride = Math.ceil(width / 8);
  const packed = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) if (gray[y * width + x] >= 128) packed[y * stride + (x >> 3)] |= 0x80 >> (x & 7);
  }
  return encode({ width, height, depth: 1, channels: 1, data: packed });
}

/** One synthetic character: its drawings (gray, 105x105) and their PNGs. */
export interface SynthCharacter {
  alphabet: string;
  character: string;
  gray: Uint8Array[];
  png: Uint8Array[];
}

/**
 * A synthetic image set: `alphabets` alphabets (named `<prefix>Alpha<i>`) of `chars` characters
 * of `drawings` drawings, in name order.
 */
export function syntheticSet(prefix: string, alphabets: number, chars: number, drawings: number, seed = 1): SynthCharacter[] {
  const out: SynthCharacter[] = [];
  let s = seed * 100003;
  for (let a = 0; a < alphabets; a++) {
    for (let c = 0; c < chars; c++) {
      const gray = Array.from({ length: drawings }, () => drawing(++s));
      out.push({
        alphabet: `${prefix}Alpha${a}`,
        character: `character${String(c + 1).padStart(2, '0')}`,
        gray,
        png: gray.map((g) => png1bit(g, 105, 105)),
      });
    }
  }
  return out;
}

/** The entries of `images_<set>.zip`: `images_<set>/<alphabet>/<character>/<NN>.png`. */
export function setEntries(set: string, chars: SynthCharacter[]): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  for (const c of chars) c.png.forEach((p, i) => { files[`images_${set}/${c.alphabet}/${c.character}/${String(i + 1).padStart(2, '0')}.png`] = p; });
  return files;
}

/** Writes `images_<set>.zip` in `dir`; returns its path. */
export function writeSetZip(dir: string, set: string, chars: SynthCharacter[]): string {
  const path = join(dir, `images_${set}.zip`);
  writeFileSync(path, zipSync(setEntries(set, chars), { level: 6 }));
  return path;
}

/** Writes the unpacked folder `images_<set>/` in `dir`; returns its path. */
export function writeSetDir(dir: string, set: string, chars: SynthCharacter[]): string {
  for (const [name, bytes] of Object.entries(setEntries(set, chars))) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  return join(dir, `images_${set}`);
}
