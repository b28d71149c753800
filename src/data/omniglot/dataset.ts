/**
 * The decoded Omniglot images: every drawing of the loaded sets in one Float32Array, indexed by
 * character, and {@link loadOmniglot}, which fills it from the official zips or their unpacked
 * folders, through a binary cache.
 *
 * Pixel convention: values in [0, 1] with ink = 1 and background = 0, i.e. `1 - L / 255` of the
 * 8-bit gray image Pillow would give. This is cbfinn/maml's `1.0 - image` ("invert") and
 * learn2learn's `1.0 - x`; torchmeta and torchvision keep the raw values (ink = 0). With ink = 1
 * the zero padding of a convolution matches the background.
 */
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { tensor } from '../../tensor/creation.js';
import type { Device } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';
import { cacheFile, readCache, writeCache, type DecodedSet } from './cache.js';
import { decodePngGray } from './decode.js';
import { resizeGray, RESIZE_FILTERS, type ResizeFilter } from './resize.js';
import { findSources, listSet, OMNIGLOT_SETS, type OmniglotSetName, type SetListing, type SetSource } from './source.js';

/** One character (a class before rotation): its drawings are images `offset .. offset + count - 1`. */
export interface OmniglotCharacter {
  /** Position in `dataset.characters`. */
  readonly index: number;
  /** The image set it comes from: `background`, `evaluation`, ... */
  readonly set: string;
  /** Alphabet folder name, e.g. `Greek`. */
  readonly alphabet: string;
  /** Character folder name, e.g. `character01`. */
  readonly name: string;
  /** Index of its first drawing in the dataset's images. */
  readonly offset: number;
  /** Number of drawings (20 in Omniglot). */
  readonly count: number;
}

/** How one image set was obtained. */
export interface OmniglotSourceInfo {
  readonly set: string;
  readonly kind: 'zip' | 'dir';
  /** The zip file or `images_<set>` folder. */
  readonly path: string;
  /**
   * `hit`: read from the cache; `written`: decoded and cached; `rebuilt`: the cache file was
   * damaged or stale (see `cacheProblem`), decoded and cached again; `unwritable`: decoded, the
   * cache could not be written (see `cacheProblem`); `off`: decoded, caching disabled.
   */
  readonly cache: 'hit' | 'written' | 'rebuilt' | 'unwritable' | 'off';
  readonly cacheFile?: string;
  readonly cacheProblem?: string;
}

/** What {@link OmniglotDataset}'s constructor takes (for data made in memory, e.g. in tests). */
export interface OmniglotDatasetInit {
  imageSize: number;
  /** `images x imageSize^2` values, ink = 1. */
  images: Float32Array;
  /** In image order: character i owns the next `count` images. */
  characters: readonly { set: string; alphabet: string; name: string; count: number }[];
  resize?: ResizeFilter;
  sources?: readonly OmniglotSourceInfo[];
}

/** Options of {@link loadOmniglot}. */
export interface LoadOmniglotOptions {
  /**
   * The image sets to load when `source` is a folder holding several: default
   * `['background', 'evaluation']` (all 1,623 characters, the MAML protocol). For Lake's
   * protocol load `['background']`, `['background_small1']` or `['background_small2']`
   * (and `'evaluation'` if episodes on the evaluation alphabets are wanted).
   */
  sets?: readonly OmniglotSetName[];
  /** Side of the square images. Default 28. */
  imageSize?: number;
  /** Resampling filter from 105x105 (see resize.ts). Default `lanczos`, antialiased, as Pillow's LANCZOS. */
  resize?: ResizeFilter;
  /** Use the binary cache. Default true. */
  cache?: boolean;
  /** Folder of the cache files. Default `<os.tmpdir()>/metagrad/omniglot`. */
  cacheDir?: string;
  /**
   * Called while a set is decoded (not when it is read from the cache): after every 500 drawings
   * and at the end of the set, with the set's name, the drawings done and the set's total. For
   * progress bars; it may not throw.
   */
  onProgress?: (p: { set: string; done: number; total: number }) => void;
}

/**
 * Copies the `size x size` image at `src` in `from` into `to` at `at`, rotated by `k` quarter
 * turns counterclockwise, as `np.rot90(img, k)` and `tf.image.rot90` (out[i][j] = in[j][n-1-i]
 * for k = 1). A half turn is a reversed copy; quarter turns read columns.
 */
export function copyRotated(to: Float32Array, at: number, from: Float32Array, src: number, size: number, k: number): void {
  const s2 = size * size;
  const n1 = size - 1;
  if (k === 0) {
    to.set(from.subarray(src, src + s2), at);
  } else if (k === 2) {
    to.set(from.subarray(src, src + s2), at);
    to.subarray(at, at + s2).reverse();
  } else if (k === 1) {
    // out[i][j] = in[j][n-1-i]: output row i is input column n-1-i, top to bottom.
    for (let i = 0; i < size; i++) {
      const col = src + n1 - i;
      const row = at + i * size;
      for (let j = 0; j < size; j++) to[row + j] = from[col + j * size];
    }
  } else {
    // out[i][j] = in[n-1-j][i]: output row i is input column i, bottom to top.
    for (let i = 0; i < size; i++) {
      const col = src + n1 * size + i;
      const row = at + i * size;
      for (let j = 0; j < size; j++) to[row + j] = from[col - j * size];
    }
  }
}

function checkRotation(op: string, k: number): void {
  if (k !== 0 && k !== 1 && k !== 2 && k !== 3) throw new Error(`${op}: rotation must be 0, 1, 2 or 3 (quarter turns counterclockwise), got ${k}`);
}

/**
 * Decoded Omniglot drawings: `images` holds every drawing (`imageSize x imageSize` floats each,
 * ink = 1) character after character; `characters` indexes them. Made by {@link loadOmniglot}.
 */
export class OmniglotDataset {
  readonly imageSize: number;
  readonly resize: ResizeFilter | undefined;
  /** All drawings, `numImages x imageSize^2`, values in [0, 1], ink = 1. */
  readonly images: Float32Array;
  readonly characters: readonly OmniglotCharacter[];
  readonly sources: readonly OmniglotSourceInfo[];

  constructor(init: OmniglotDatasetInit) {
    const op = 'OmniglotDataset';
    const { imageSize, images, characters } = init;
    if (!Number.isInteger(imageSize) || imageSize < 1) throw new Error(`${op}: imageSize must be a positive integer, got ${imageSize}`);
    if (!(images instanceof Float32Array)) throw new Error(`${op}: images must be a Float32Array`);
    const s2 = imageSize * imageSize;
    let offset = 0;
    this.characters = characters.map((c, index) => {
      if (!Number.isInteger(c.count) || c.count < 1) throw new Error(`${op}: character ${c.alphabet}/${c.name} has ${c.count} drawings`);
      const ch = Object.freeze({ index, set: c.set, alphabet: c.alphabet, name: c.name, offset, count: c.count });
      offset += c.count;
      return ch;
    });
    if (images.length !== offset * s2) {
      throw new Error(`${op}: ${images.length} values for ${offset} drawings of ${imageSize}x${imageSize} (expected ${offset * s2})`);
    }
    this.imageSize = imageSize;
    this.images = images;
    this.resize = init.resize;
    this.sources = init.sources ?? [];
  }

  /** Number of drawings. */
  get numImages(): number {
    return this.images.length / (this.imageSize * this.imageSize);
  }

  /** The image sets present, in load order. */
  get sets(): string[] {
    return [...new Set(this.characters.map((c) => c.set))];
  }

  /**
   * The character `name` (e.g. `character07`) of `alphabet` (e.g. `Greek`), from `set` if given
   * (the small background sets repeat characters of `background`); undefined if absent.
   */
  character(alphabet: string, name: string, set?: string): OmniglotCharacter | undefined {
    return this.characters.find((c) => c.alphabet === alphabet && c.name === name && (set === undefined || c.set === set));
  }

  /** The alphabets, in load order. */
  alphabets(): string[] {
    return [...new Set(this.characters.map((c) => c.alphabet))];
  }

  /**
   * Drawing `drawing` of character `character` rotated by `rotation` quarter turns
   * counterclockwise: a new `imageSize^2` Float32Array.
   */
  image(character: number, drawing: number, rotation = 0): Float32Array {
    const op = 'OmniglotDataset.image';
    const c = this.characters[character];
    if (!c) throw new Error(`${op}: character ${character} out of range [0, ${this.characters.length})`);
    if (!Number.isInteger(drawing) || drawing < 0 || drawing >= c.count) throw new Error(`${op}: drawing ${drawing} out of range [0, ${c.count}) for ${c.alphabet}/${c.name}`);
    checkRotation(op, rotation);
    const s2 = this.imageSize * this.imageSize;
    const out = new Float32Array(s2);
    copyRotated(out, 0, this.images, (c.offset + drawing) * s2, this.imageSize, rotation);
    return out;
  }

  /** All drawings of a character (rotated by `rotation` quarter turns) as a `[count, 1, S, S]` tensor. */
  drawings(character: number, rotation = 0, options: { device?: Device } = {}): Tensor {
    const c = this.characters[character];
    if (!c) throw new Error(`OmniglotDataset.drawings: character ${character} out of range [0, ${this.characters.length})`);
    checkRotation('OmniglotDataset.drawings', rotation);
    const s2 = this.imageSize * this.imageSize;
    const out = new Float32Array(c.count * s2);
    for (let d = 0; d < c.count; d++) out.set(this.image(character, d, rotation), d * s2);
    return tensor(out, { shape: [c.count, 1, this.imageSize, this.imageSize], device: options.device });
  }
}

/** 8-bit ink intensity to float: v / 255. */
const TO_FLOAT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** out[i] = px[i] / 255 (a loop of its own over two plain views: several times faster than inline). */
function toFloat(out: Float32Array, px: Uint8Array): void {
  const n = px.length;
  for (let i = 0; i < n; i++) out[i] = TO_FLOAT[px[i]];
}

/** Decodes and resizes every drawing of a set into ink intensities (255 - L). */
function decodeSet(op: string, listing: SetListing, size: number, filter: ResizeFilter, onProgress?: LoadOmniglotOptions['onProgress']): DecodedSet {
  const s2 = size * size;
  const total = listing.characters.reduce((s, c) => s + c.files.length, 0);
  const pixels = new Uint8Array(total * s2);
  let at = 0;
  let done = 0;
  onProgress?.({ set: listing.set, done: 0, total });
  for (const c of listing.characters) {
    for (const f of c.files) {
      let g;
      try {
        g = decodePngGray(listing.read(f), listing.where(f));
      } catch (e) {
        throw new Error(`${op}: ${(e as Error).message}`, { cause: e });
      }
      const r = resizeGray(g.data, g.width, g.height, size, size, filter);
      for (let p = 0; p < s2; p++) pixels[at + p] = 255 - r[p];
      at += s2;
      if (++done % 500 === 0 && done < total) onProgress?.({ set: listing.set, done, total });
    }
  }
  onProgress?.({ set: listing.set, done: total, total });
  return { set: listing.set, imageSize: size, filter, characters: listing.characters.map((c) => [c.alphabet, c.character, c.files.length]), pixels };
}

/** The default cache folder: `<os.tmpdir()>/metagrad/omniglot`. */
export function defaultOmniglotCacheDir(): string {
  return nodePath.join(os.tmpdir(), 'metagrad', 'omniglot');
}

function loadSet(op: string, src: SetSource, size: number, filter: ResizeFilter, cacheDir: string | undefined, onProgress: LoadOmniglotOptions['onProgress']): { data: DecodedSet; info: OmniglotSourceInfo } {
  const base = { kind: src.kind, path: src.path };
  if (cacheDir === undefined) {
    const data = decodeSet(op, listSet(op, src), size, filter, onProgress);
    return { data, info: { ...base, set: data.set, cache: 'off' } };
  }
  const file = cacheFile(cacheDir, src.path, src.key, size, filter);
  const got = readCache(file, src.key, size, filter);
  if (typeof got === 'object') return { data: got, info: { ...base, set: got.set, cache: 'hit', cacheFile: file } };
  const data = decodeSet(op, listSet(op, src), size, filter, onProgress);
  try {
    writeCache(file, src.key, data);
  } catch (e) {
    const problem = (e as Error).message;
    process.emitWarning(`${op}: ${problem}; continuing without a cache`);
    return { data, info: { ...base, set: data.set, cache: 'unwritable', cacheFile: file, cacheProblem: problem } };
  }
  return typeof got === 'string'
    ? { data, info: { ...base, set: data.set, cache: 'rebuilt', cacheFile: file, cacheProblem: got } }
    : { data, info: { ...base, set: data.set, cache: 'written', cacheFile: file } };
}

/**
 * Loads Omniglot drawings, decoded, resized to `imageSize` (default 28) and scaled to [0, 1] with
 * ink = 1.
 *
 * `source` is one of the official zips (`images_background.zip`, ...), an unpacked set folder
 * (`images_background/`, holding `<alphabet>/<character>/<drawing>.png`), or a folder holding
 * either for each set in `options.sets` (default background and evaluation: 1,623 characters).
 * Characters are sorted by set (in `sets` order), alphabet and character name; drawings by file
 * name.
 *
 * The first load of a set decodes it (about 0.4 ms of CPU per drawing: 1.3 s for a small
 * background set, 14 s for background + evaluation) and writes a binary cache (see cache.ts) in
 * `options.cacheDir`; later loads read the cache (0.25 s of CPU for all 32,460 drawings). A
 * damaged or truncated cache is detected and rebuilt. A damaged or unexpected source (not a zip,
 * wrong layout, missing set, bad PNG) fails with an Error naming the file and the problem.
 *
 * ```ts
 * const ds = mg.data.loadOmniglot('/data/omniglot');            // background + evaluation
 * const small = mg.data.loadOmniglot('/data/omniglot/images_background_small1.zip');
 * ```
 */
export function loadOmniglot(source: string, options: LoadOmniglotOptions = {}): OmniglotDataset {
  const op = 'loadOmniglot';
  const { sets, imageSize = 28, resize = 'lanczos', cache = true, onProgress } = options;
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new Error(`${op}: onProgress must be a function`);
  if (!Number.isInteger(imageSize) || imageSize < 1 || imageSize > 1024) throw new Error(`${op}: imageSize must be an integer in [1, 1024], got ${imageSize}`);
  if (!RESIZE_FILTERS.includes(resize)) throw new Error(`${op}: unknown resize filter ${String(resize)} (use ${RESIZE_FILTERS.join(', ')})`);
  if (sets !== undefined) {
    if (!Array.isArray(sets) || sets.length === 0) throw new Error(`${op}: sets must be a non-empty array of ${OMNIGLOT_SETS.join(', ')}`);
    for (const s of sets) if (!OMNIGLOT_SETS.includes(s)) throw new Error(`${op}: unknown set ${String(s)} (use ${OMNIGLOT_SETS.join(', ')})`);
    if (new Set(sets).size !== sets.length) throw new Error(`${op}: sets lists a set twice (${sets.join(', ')})`);
  }
  const cacheDir = cache ? nodePath.resolve(options.cacheDir ?? defaultOmniglotCacheDir()) : undefined;
  const loaded = findSources(op, source, sets).map((src) => loadSet(op, src, imageSize, resize, cacheDir, onProgress));
  for (const { info } of loaded) {
    if (sets && !sets.includes(info.set as OmniglotSetName)) throw new Error(`${op}: ${info.path} holds the set '${info.set}', not one of the requested sets (${sets.join(', ')})`);
  }
  const total = loaded.reduce((s, l) => s + l.data.pixels.length, 0);
  const images = new Float32Array(total);
  let at = 0;
  const characters: OmniglotDatasetInit['characters'][number][] = [];
  for (const { data } of loaded) {
    toFloat(images.subarray(at, at + data.pixels.length), data.pixels);
    at += data.pixels.length;
    for (const [alphabet, name, count] of data.characters) characters.push({ set: data.set, alphabet, name, count });
  }
  return new OmniglotDataset({ imageSize, images, characters, resize, sources: loaded.map((l) => l.info) });
}
