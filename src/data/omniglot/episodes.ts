/**
 * N-way K-shot Omniglot episodes: the {@link TaskSampler} that MAML-family training and
 * evaluation consume.
 *
 * A class is a (character, rotation) pair: with `rotations` on (the default, as in the MAML
 * protocol), each character of the split gives 4 classes, its drawings rotated by 0, 90, 180 and
 * 270 degrees counterclockwise (Santoro et al. 2016, Vinyals et al. 2016: 1,200 x 4 = 4,800
 * meta-training classes). An episode draws N distinct classes uniformly from the split's classes;
 * the order in which they are drawn gives the labels 0..N-1 (a fresh random permutation each
 * episode). For each class it draws K + Q distinct drawings of its character: the first K are
 * the support set, the other Q the query set.
 *
 * cbfinn/maml draws N distinct characters and then a rotation for each (one multinomial draw per
 * class per task). Both give every (character, rotation) class the same chance; they differ only
 * in that here one episode can hold two rotations of the same character (rarely: with 1,200
 * characters and N = 5, in about 1 episode in 160). Rotations apply in every split (cbfinn/maml
 * rotates at test time too).
 *
 * Randomness comes from the library's seeded generator (`mg.rand`), one draw per `sample(n)`
 * call, so `mg.manualSeed(s)` makes the episodes repeatable; the sampler keeps no random state.
 */
import { rand, tensor } from '../../tensor/creation.js';
import type { Device } from '../../tensor/dtype.js';
import type { Task, TaskSampler } from '../task.js';
import { copyRotated, type OmniglotDataset } from './dataset.js';
import { omniglotMamlSplits, type OmniglotSplits } from './splits.js';

/** One class of an episode: a character (index into `dataset.characters`) and a rotation. */
export interface OmniglotClass {
  readonly character: number;
  /** Quarter turns counterclockwise, 0..3. */
  readonly rotation: number;
}

/**
 * An Omniglot episode: `support.x` `[N*K, 1, S, S]` float32, `support.y` `[N*K]` int32 labels
 * 0..N-1 (class-major: rows c*K .. c*K+K-1 have label c), `query` likewise with Q per class.
 * The tensors are new: dispose them, or sample inside `mg.tidy`.
 */
export interface OmniglotTask extends Task {
  /** The class behind each label. */
  readonly classes: readonly OmniglotClass[];
  /** For each support row, the drawing (0..count-1) of its class's character. */
  readonly supportDrawings: Int32Array;
  /** For each query row, the drawing of its class's character. */
  readonly queryDrawings: Int32Array;
}

/** Options of {@link OmniglotSampler}. */
export interface OmniglotSamplerOptions {
  /** Classes per episode (N). Default 5. */
  ways?: number;
  /** Support drawings per class (K). Default 1. */
  shots?: number;
  /** Query drawings per class (Q). Default `shots` (cbfinn/maml: K support + K query). */
  queries?: number;
  /** Which characters: `train`, `val` or `test` of `splits`. Default `train`. */
  split?: 'train' | 'val' | 'test';
  /** Default `omniglotMamlSplits(dataset)` (1,200 meta-train characters, seed 1). */
  splits?: OmniglotSplits;
  /** Rotations by 90, 180, 270 degrees as extra classes. Default true. */
  rotations?: boolean;
  /** Device of the tensors. Default `cpu`. */
  device?: Device;
}

function checkPositiveInt(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`OmniglotSampler: ${what} must be a positive integer, got ${n}`);
}

/**
 * Draws `k` distinct values of [0, n) in random order from uniforms `u[at..at+k)` (a partial
 * Fisher-Yates shuffle on a sparse map, so the cost is O(k), not O(n)).
 */
function distinct(n: number, k: number, u: Float64Array, at: number, out: Int32Array): void {
  const swapped = new Map<number, number>();
  for (let i = 0; i < k; i++) {
    const j = i + Math.min(Math.floor(u[at + i] * (n - i)), n - i - 1);
    const vi = swapped.get(i) ?? i;
    const vj = swapped.get(j) ?? j;
    out[i] = vj;
    swapped.set(j, vi);
  }
}

/**
 * Seeded N-way K-shot episodes of Omniglot (see the module comment for exactly what is drawn).
 *
 * ```ts
 * const ds = mg.data.loadOmniglot('/data/omniglot');
 * const train = new mg.data.OmniglotSampler(ds, { ways: 5, shots: 1, queries: 15 });
 * const test = new mg.data.OmniglotSampler(ds, { ways: 5, shots: 1, queries: 15, split: 'test' });
 * mg.manualSeed(0);
 * const tasks = train.sample(32);   // Task[]: support.x [5,1,28,28], support.y [5] int32, ...
 * ```
 */
export class OmniglotSampler implements TaskSampler {
  readonly dataset: OmniglotDataset;
  readonly ways: number;
  readonly shots: number;
  readonly queries: number;
  readonly split: 'train' | 'val' | 'test';
  readonly rotations: boolean;
  readonly device: Device;
  /** The characters of the split. */
  readonly characters: readonly number[];
  /** Number of classes to draw from: characters x 4 with rotations, else characters. */
  readonly numClasses: number;

  constructor(dataset: OmniglotDataset, options: OmniglotSamplerOptions = {}) {
    const op = 'OmniglotSampler';
    const { ways = 5, shots = 1, queries = shots, split = 'train', rotations = true, device = 'cpu' } = options;
    checkPositiveInt('ways', ways);
    checkPositiveInt('shots', shots);
    checkPositiveInt('queries', queries);
    if (split !== 'train' && split !== 'val' && split !== 'test') throw new Error(`${op}: split must be 'train', 'val' or 'test', got ${String(split)}`);
    const splits = options.splits ?? omniglotMamlSplits(dataset);
    const chars = splits[split];
    if (!Array.isArray(chars)) throw new Error(`${op}: splits.${split} must be an array of character indices`);
    if (chars.length === 0) throw new Error(`${op}: the '${split}' split has no characters${split === 'val' ? ' (ask the split function for valCharacters)' : ''}`);
    const seen = new Set<number>();
    const need = shots + queries;
    for (const c of chars) {
      const ch = dataset.characters[c];
      if (!ch) throw new Error(`${op}: splits.${split} holds ${c}, not a character index in [0, ${dataset.characters.length})`);
      if (seen.has(c)) throw new Error(`${op}: splits.${split} lists character ${c} twice`);
      seen.add(c);
      if (ch.count < need) throw new Error(`${op}: ${ch.alphabet}/${ch.name} has ${ch.count} drawings, fewer than shots + queries = ${need}`);
    }
    const numClasses = chars.length * (rotations ? 4 : 1);
    if (ways > numClasses) throw new Error(`${op}: ways (${ways}) exceeds the ${numClasses} classes of the '${split}' split`);
    this.dataset = dataset;
    this.ways = ways;
    this.shots = shots;
    this.queries = queries;
    this.split = split;
    this.rotations = rotations;
    this.device = device;
    this.characters = chars.slice();
    this.numClasses = numClasses;
  }

  /** The class with number `i` in [0, numClasses): character `characters[i >> 2]`, rotation `i & 3` (with rotations). */
  classAt(i: number): OmniglotClass {
    return this.rotations ? { character: this.characters[i >> 2], rotation: i & 3 } : { character: this.characters[i], rotation: 0 };
  }

  /** `n` fresh episodes (see the class comment). */
  sample(n: number): OmniglotTask[] {
    if (!Number.isInteger(n) || n < 0) throw new Error(`OmniglotSampler.sample: n must be a non-negative integer, got ${n}`);
    if (n === 0) return [];
    const { ways, shots, queries } = this;
    const perClass = shots + queries;
    const perTask = ways + ways * perClass;
    const r = rand([n * perTask], { dtype: 'float64' });
    const u = r.data() as Float64Array;
    r.dispose();
    const tasks: OmniglotTask[] = [];
    for (let t = 0; t < n; t++) tasks.push(this.build(u, t * perTask));
    return tasks;
  }

  /** One episode from uniforms `u[at .. at + ways * (1 + shots + queries))`. */
  private build(u: Float64Array, at: number): OmniglotTask {
    const { ways, shots, queries, dataset } = this;
    const size = dataset.imageSize;
    const s2 = size * size;
    const perClass = shots + queries;
    const picked = new Int32Array(ways);
    distinct(this.numClasses, ways, u, at, picked);
    const xs = new Float32Array(ways * shots * s2);
    const xq = new Float32Array(ways * queries * s2);
    const ys = new Int32Array(ways * shots);
    const yq = new Int32Array(ways * queries);
    const ds = new Int32Array(ways * shots);
    const dq = new Int32Array(ways * queries);
    const draw = new Int32Array(perClass);
    const classes: OmniglotClass[] = [];
    const images = dataset.images;
    for (let c = 0; c < ways; c++) {
      const cls = this.classAt(picked[c]);
      classes.push(cls);
      const ch = dataset.characters[cls.character];
      distinct(ch.count, perClass, u, at + ways + c * perClass, draw);
      for (let i = 0; i < perClass; i++) {
        const support = i < shots;
        const row = support ? c * shots + i : c * queries + (i - shots);
        copyRotated(support ? xs : xq, row * s2, images, (ch.offset + draw[i]) * s2, size, cls.rotation);
        (support ? ys : yq)[row] = c;
        (support ? ds : dq)[row] = draw[i];
      }
    }
    const device = this.device;
    return {
      support: { x: tensor(xs, { shape: [ways * shots, 1, size, size], device }), y: tensor(ys, { shape: [ways * shots], device }) },
      query: { x: tensor(xq, { shape: [ways * queries, 1, size, size], device }), y: tensor(yq, { shape: [ways * queries], device }) },
      classes,
      supportDrawings: ds,
      queryDrawings: dq,
    };
  }
}
