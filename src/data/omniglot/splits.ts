/**
 * Which characters meta-train and which meta-test, under the two protocols of the literature.
 *
 * MAML protocol ({@link omniglotMamlSplits}; Santoro et al. 2016, Vinyals et al. 2016, Finn et
 * al. 2017): pool the 1,623 characters of `background` and `evaluation`, shuffle them with a fixed
 * seed, meta-train on the first 1,200 and meta-test on the remaining 423; rotations by 90, 180
 * and 270 degrees make more classes (see OmniglotSampler).
 *
 * What cbfinn/maml's data_generator.py does, and how this differs:
 * - it lists `omniglot_resized/<alphabet>/<character>` with `os.listdir` (whose order depends on
 *   the file system, so its split is not the same on every machine), calls `random.seed(1)` and
 *   `random.shuffle`, and takes the first 1,100 for meta-training, the next 100 for validation
 *   and the remaining 423 for testing (`num_train = 1200 - num_val`).
 * - here the list is first sorted (`alphabet/character`, code-point order, as Python's `sorted`),
 *   then shuffled by a re-implementation of Python 3's `random.seed(seed); random.shuffle(list)`
 *   (MT19937 seeded by `init_by_array`, `_randbelow` by rejection on `getrandbits`), so the split
 *   is the same everywhere and equals, in Python,
 *   `chars = sorted(...); random.seed(1); random.shuffle(chars)`.
 *   Then `train = chars[:trainCharacters - valCharacters]`, `val = the next valCharacters`,
 *   `test = chars[trainCharacters:]`: with `valCharacters: 100` these are Finn's 1,100 / 100 / 423.
 *   The default is `valCharacters: 0` (1,200 / 0 / 423).
 * - the split does not depend on `mg.manualSeed` (changing the training seed keeps the split).
 *
 * Lake protocol ({@link omniglotLakeSplits}; Lake et al. 2015): meta-train on the `background`
 * set (30 alphabets), or on `background_small1` / `background_small2` (5 alphabets each) for the
 * "minimal" condition; evaluate on the 20 one-shot runs of all_runs.zip (see lake.ts), whose
 * characters all come from 10 of the 20 `evaluation` alphabets. `test` here lists the
 * `evaluation` characters (if loaded) for episodic evaluation on them.
 */
import type { OmniglotDataset } from './dataset.js';
import { cmp } from './source.js';

/** Character indices (into `dataset.characters`) of each split. */
export interface OmniglotSplits {
  readonly train: readonly number[];
  readonly val: readonly number[];
  readonly test: readonly number[];
}

/** Options of {@link omniglotMamlSplits}. */
export interface OmniglotMamlSplitOptions {
  /** Seed of the (Python-compatible) shuffle. Default 1, as cbfinn/maml. */
  seed?: number;
  /** Characters for meta-training, validation included. Default 1200. */
  trainCharacters?: number;
  /** Characters held out of `trainCharacters` for validation. Default 0 (Finn: 100). */
  valCharacters?: number;
}

/** Options of {@link omniglotLakeSplits}. */
export interface OmniglotLakeSplitOptions {
  /** The set to meta-train on. Default `background`. */
  background?: 'background' | 'background_small1' | 'background_small2';
  /** Characters of it held out for validation (a seeded shuffle picks them). Default 0. */
  valCharacters?: number;
  /** Seed of that shuffle. Default 1. */
  seed?: number;
}

/**
 * Python 3's `random.Random(seed)` (MT19937), as far as `shuffle` needs it: `random.seed(seed)`
 * for a non-negative integer seed, then `getrandbits` and `_randbelow`.
 */
export class PythonRandom {
  private readonly mt = new Uint32Array(624);
  private mti = 625;

  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`PythonRandom: seed must be a non-negative safe integer, got ${seed}`);
    // random.seed(int): the absolute value as 32-bit words, least significant first.
    const key: number[] = [];
    let s = seed;
    do {
      key.push(s % 2 ** 32);
      s = Math.floor(s / 2 ** 32);
    } while (s > 0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < 624; i++) {
      const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, p) + i) >>> 0;
    }
    this.mti = 624;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(p, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= 624) { mt[0] = mt[623]; i = 1; }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const p = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(p, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) { mt[0] = mt[623]; i = 1; }
    }
    mt[0] = 0x80000000;
  }

  /** The next 32-bit output (genrand_uint32). */
  uint32(): number {
    const mt = this.mt;
    if (this.mti >= 624) {
      for (let kk = 0; kk < 624; kk++) {
        const y = (mt[kk] & 0x80000000) | (mt[(kk + 1) % 624] & 0x7fffffff);
        mt[kk] = mt[(kk + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.mti = 0;
    }
    let y = mt[this.mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.getrandbits(k)` for 1 <= k <= 32. */
  getrandbits(k: number): number {
    return this.uint32() >>> (32 - k);
  }

  /** `random._randbelow(n)` for 1 <= n < 2^32: uniform in [0, n). */
  randbelow(n: number): number {
    const k = 32 - Math.clz32(n); // n.bit_length()
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.shuffle(x)` in place. */
  shuffle<T>(x: T[]): T[] {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const t = x[i];
      x[i] = x[j];
      x[j] = t;
    }
    return x;
  }
}

function checkCount(op: string, what: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new Error(`${op}: ${what} must be an integer in [0, ${max}], got ${v}`);
}

/**
 * The MAML protocol's split (see the module comment): all loaded characters, sorted by
 * `alphabet/character`, shuffled as Python's `random.seed(seed); random.shuffle(...)`; the first
 * `trainCharacters - valCharacters` meta-train, the next `valCharacters` validate, the rest
 * meta-test. Load both `background` and `evaluation` (1,623 characters) for the published split.
 */
export function omniglotMamlSplits(dataset: OmniglotDataset, options: OmniglotMamlSplitOptions = {}): OmniglotSplits {
  const op = 'omniglotMamlSplits';
  const { seed = 1, trainCharacters = 1200, valCharacters = 0 } = options;
  const n = dataset.characters.length;
  if (trainCharacters >= n) throw new Error(`${op}: trainCharacters (${trainCharacters}) must be less than the number of characters (${n}; load both background and evaluation for the 1,623 of the MAML protocol)`);
  checkCount(op, 'trainCharacters', trainCharacters, n - 1);
  checkCount(op, 'valCharacters', valCharacters, trainCharacters);
  const named = dataset.characters.map((c) => ({ id: `${c.alphabet}/${c.name}`, index: c.index }));
  named.sort((a, b) => cmp(a.id, b.id));
  for (let i = 1; i < named.length; i++) {
    if (named[i].id === named[i - 1].id) throw new Error(`${op}: character ${named[i].id} is loaded twice (from sets ${dataset.characters[named[i - 1].index].set} and ${dataset.characters[named[i].index].set}); load disjoint sets`);
  }
  new PythonRandom(seed).shuffle(named);
  const idx = named.map((c) => c.index);
  const nt = trainCharacters - valCharacters;
  return { train: idx.slice(0, nt), val: idx.slice(nt, trainCharacters), test: idx.slice(trainCharacters) };
}

/**
 * The Lake protocol's split (see the module comment): meta-train on the characters of
 * `background` (default the full background set; `background_small1` / `background_small2` for
 * the minimal condition), minus `valCharacters` of them picked by a seeded shuffle for
 * validation; `test` is the `evaluation` characters, if that set was loaded.
 */
export function omniglotLakeSplits(dataset: OmniglotDataset, options: OmniglotLakeSplitOptions = {}): OmniglotSplits {
  const op = 'omniglotLakeSplits';
  const { background = 'background', valCharacters = 0, seed = 1 } = options;
  const train = dataset.characters.filter((c) => c.set === background).map((c) => c.index);
  if (train.length === 0) throw new Error(`${op}: the set '${background}' is not loaded (loaded: ${dataset.sets.join(', ') || 'none'})`);
  checkCount(op, 'valCharacters', valCharacters, train.length - 1);
  const held = new Set(new PythonRandom(seed).shuffle(train.slice()).slice(0, valCharacters));
  const test = dataset.characters.filter((c) => c.set === 'evaluation').map((c) => c.index);
  return { train: train.filter((i) => !held.has(i)), val: train.filter((i) => held.has(i)), test };
}
