/**
 * Lake et al.'s (2015) one-shot classification benchmark: the 20 within-alphabet runs of
 * `all_runs.zip` (github.com/brendenlake/omniglot, `python/one-shot-classification/`).
 *
 * Layout: `runNN/training/classMM.png` (20 drawings, one per class), `runNN/test/itemMM.png`
 * (20 drawings to classify, one per class, by other people), and `runNN/class_labels.txt`, one
 * line per test item, `runNN/test/itemMM.png runNN/training/classKK.png`, naming the training
 * drawing of the correct class. Each run's 20 characters come from one alphabet of the
 * `evaluation` set (10 alphabets, two runs each); the drawings are 105x105 1-bit PNGs, the same
 * files as in images_evaluation, and are decoded and resized like the training data (any PNG
 * format and size is accepted). Lake's demo_classification.py sorts the training files, scores
 * the error rate of each run and reports the mean over the 20 runs ({@link LakeRuns.errorRate}).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { tensor } from '../../tensor/creation.js';
import type { Device } from '../../tensor/dtype.js';
import type { Task } from '../task.js';
import { decodePngGray } from './decode.js';
import { resizeGray, RESIZE_FILTERS, type ResizeFilter } from './resize.js';
import { cmp } from './source.js';
import { isJunk, readZip } from './zip.js';

/** One run, decoded: `imageSize^2` floats per drawing, ink = 1. */
export interface LakeRun {
  /** `run01` ... `run20`. */
  readonly name: string;
  /** The training drawings, one per class, in the order of `trainFiles` (sorted: class01, class02, ...). */
  readonly trainImages: Float32Array;
  /** 0..C-1: training drawing i is class i. */
  readonly trainLabels: Int32Array;
  /** The test drawings, in the order of `testFiles` (sorted: item01, item02, ...). */
  readonly testImages: Float32Array;
  /** The correct class of each test drawing (from class_labels.txt). */
  readonly testLabels: Int32Array;
  readonly trainFiles: readonly string[];
  readonly testFiles: readonly string[];
}

/** A run as a task: `support` = the training drawings `[C, 1, S, S]` with labels 0..C-1, `query` = the test drawings with their true labels. */
export interface LakeTask extends Task {
  readonly run: string;
}

/** Options of {@link loadLakeRuns}: use the same as for the training data. */
export interface LoadLakeRunsOptions {
  /** Default 28. */
  imageSize?: number;
  /** Default `lanczos`. */
  resize?: ResizeFilter;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The 20 one-shot runs, decoded. Made by {@link loadLakeRuns}. */
export class LakeRuns {
  readonly imageSize: number;
  readonly runs: readonly LakeRun[];

  constructor(imageSize: number, runs: readonly LakeRun[]) {
    this.imageSize = imageSize;
    this.runs = runs;
  }

  /** Run `i` (0-based) as tensors: new tensors, dispose them (or use `mg.tidy`). */
  task(i: number, options: { device?: Device } = {}): LakeTask {
    const r = this.runs[i];
    if (!r) throw new Error(`LakeRuns.task: run ${i} out of range [0, ${this.runs.length})`);
    const s = this.imageSize;
    const { device } = options;
    return {
      run: r.name,
      support: { x: tensor(r.trainImages, { shape: [r.trainLabels.length, 1, s, s], device }), y: tensor(r.trainLabels, { shape: [r.trainLabels.length], device }) },
      query: { x: tensor(r.testImages, { shape: [r.testLabels.length, 1, s, s], device }), y: tensor(r.testLabels, { shape: [r.testLabels.length], device }) },
    };
  }

  /** Every run as a task, lazily (each task's tensors are new). */
  *tasks(options: { device?: Device } = {}): Generator<LakeTask> {
    for (let i = 0; i < this.runs.length; i++) yield this.task(i, options);
  }

  /**
   * The benchmark's score: the mean over runs of each run's error rate, given the predicted class
   * of every test drawing of every run (`predictions[run][item]`).
   */
  errorRate(predictions: readonly ArrayLike<number>[]): number {
    if (predictions.length !== this.runs.length) throw new Error(`LakeRuns.errorRate: ${predictions.length} runs of predictions for ${this.runs.length} runs`);
    let sum = 0;
    this.runs.forEach((r, i) => {
      const p = predictions[i];
      if (p.length !== r.testLabels.length) throw new Error(`LakeRuns.errorRate: ${r.name}: ${p.length} predictions for ${r.testLabels.length} test drawings`);
      let wrong = 0;
      for (let j = 0; j < p.length; j++) if (p[j] !== r.testLabels[j]) wrong++;
      sum += wrong / p.length;
    });
    return sum / this.runs.length;
  }
}

/** Reads files by their path relative to the runs' root (`run01/...`). */
interface RunFiles {
  names: string[];
  read(name: string): Uint8Array;
  where(name: string): string;
}

function fromZip(op: string, file: string): RunFiles {
  const entries = readZip(file, op);
  // Accept the official layout (runNN/ at the top) and one extra top folder (all_runs/runNN/).
  const names = [...entries.keys()];
  const top = names.length > 0 && names.every((n) => n.split('/')[0] === names[0].split('/')[0]) && !/^run\d+$/.test(names[0].split('/')[0]) ? `${names[0].split('/')[0]}/` : '';
  const base = nodePath.basename(file);
  return {
    names: names.map((n) => n.slice(top.length)),
    read: (n) => entries.get(top + n)!,
    where: (n) => `${base}: ${top}${n}`,
  };
}

function fromDir(op: string, dir: string): RunFiles {
  const names: string[] = [];
  const walk = (rel: string): void => {
    let list: fs.Dirent[];
    try {
      list = fs.readdirSync(nodePath.join(dir, rel), { withFileTypes: true });
    } catch (e) {
      throw new Error(`${op}: cannot read ${nodePath.join(dir, rel)}: ${describe(e)}`, { cause: e });
    }
    for (const d of list) {
      if (isJunk(d.name)) continue;
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else names.push(r);
    }
  };
  walk('');
  return {
    names,
    read: (n) => {
      try {
        return fs.readFileSync(nodePath.join(dir, n));
      } catch (e) {
        throw new Error(`${op}: cannot read ${nodePath.join(dir, n)}: ${describe(e)}`, { cause: e });
      }
    },
    where: (n) => nodePath.join(dir, n),
  };
}

function findRuns(op: string, source: string): { files: RunFiles; path: string } {
  if (typeof source !== 'string' || source.length === 0) throw new Error(`${op}: the source must be a path (all_runs.zip or a folder), got ${String(source)}`);
  const path = nodePath.resolve(source);
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (e) {
    throw new Error(`${op}: cannot read ${path}: ${describe(e)}`, { cause: e });
  }
  if (st.isFile()) return { files: fromZip(op, path), path };
  for (const n of ['all_runs.zip', 'all_runs']) {
    const p = nodePath.join(path, n);
    if (fs.existsSync(p)) return findRuns(op, p);
  }
  if (fs.readdirSync(path).some((n) => /^run\d+$/.test(n))) return { files: fromDir(op, path), path };
  throw new Error(`${op}: ${path}: no all_runs.zip, all_runs/ or run01/ folder in it`);
}

/**
 * Loads Lake's 20 one-shot classification runs from `all_runs.zip`, a folder holding it (or the
 * unpacked `all_runs/`), or the unpacked folder itself. The drawings are decoded, resized and
 * scaled like {@link loadOmniglot}'s (ink = 1), so pass the same `imageSize` and `resize`.
 * A malformed run (missing file, a class_labels.txt line that does not parse or names a missing
 * drawing, a bad PNG) fails with an Error naming the file.
 *
 * ```ts
 * const lake = mg.data.loadLakeRuns('/data/omniglot');
 * for (const task of lake.tasks()) { ... predict task.query.x's classes from task.support ... }
 * ```
 */
export function loadLakeRuns(source: string, options: LoadLakeRunsOptions = {}): LakeRuns {
  const op = 'loadLakeRuns';
  const { imageSize = 28, resize = 'lanczos' } = options;
  if (!Number.isInteger(imageSize) || imageSize < 1 || imageSize > 1024) throw new Error(`${op}: imageSize must be an integer in [1, 1024], got ${imageSize}`);
  if (!RESIZE_FILTERS.includes(resize)) throw new Error(`${op}: unknown resize filter ${String(resize)} (use ${RESIZE_FILTERS.join(', ')})`);
  const { files, path } = findRuns(op, source);
  const byRun = new Map<string, string[]>();
  for (const n of files.names) {
    const run = n.split('/')[0];
    if (!/^run\d+$/.test(run)) throw new Error(`${op}: ${files.where(n)}: unexpected entry (expected runNN/...)`);
    let l = byRun.get(run);
    if (!l) byRun.set(run, (l = []));
    l.push(n);
  }
  if (byRun.size === 0) throw new Error(`${op}: ${path}: no runs in it`);
  const s2 = imageSize * imageSize;
  const decodeAll = (list: string[]): Float32Array => {
    const out = new Float32Array(list.length * s2);
    list.forEach((n, i) => {
      let g;
      try {
        g = decodePngGray(files.read(n), files.where(n));
      } catch (e) {
        throw new Error(`${op}: ${describe(e)}`, { cause: e });
      }
      const r = resizeGray(g.data, g.width, g.height, imageSize, imageSize, resize);
      for (let p = 0; p < s2; p++) out[i * s2 + p] = (255 - r[p]) / 255;
    });
    return out;
  };
  const runs: LakeRun[] = [];
  for (const run of [...byRun.keys()].sort(cmp)) {
    const names = byRun.get(run)!;
    const labelsFile = `${run}/class_labels.txt`;
    if (!names.includes(labelsFile)) throw new Error(`${op}: ${files.where(labelsFile)}: missing`);
    const trainFiles = names.filter((n) => n.startsWith(`${run}/training/`)).sort(cmp);
    const testFiles = names.filter((n) => n.startsWith(`${run}/test/`)).sort(cmp);
    if (trainFiles.length === 0) throw new Error(`${op}: ${files.where(`${run}/training/`)}: no training drawings`);
    const lines = Buffer.from(files.read(labelsFile)).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
    const answer = new Map<string, number>();
    lines.forEach((line, i) => {
      const parts = line.split(/\s+/);
      const where = `${files.where(labelsFile)}: line ${i + 1}`;
      if (parts.length !== 2) throw new Error(`${op}: ${where}: expected "<test drawing> <training drawing>", got ${JSON.stringify(line)}`);
      const [test, train] = parts;
      const label = trainFiles.indexOf(train);
      if (!testFiles.includes(test)) throw new Error(`${op}: ${where}: ${test} is not a test drawing of ${run}`);
      if (label < 0) throw new Error(`${op}: ${where}: ${train} is not a training drawing of ${run}`);
      if (answer.has(test)) throw new Error(`${op}: ${where}: ${test} is labelled twice`);
      answer.set(test, label);
    });
    const unlabelled = testFiles.filter((t) => !answer.has(t));
    if (unlabelled.length > 0) throw new Error(`${op}: ${files.where(labelsFile)}: no answer for ${unlabelled.join(', ')}`);
    runs.push({
      name: run,
      trainImages: decodeAll(trainFiles),
      trainLabels: Int32Array.from(trainFiles, (_, i) => i),
      testImages: decodeAll(testFiles),
      testLabels: Int32Array.from(testFiles, (t) => answer.get(t)!),
      trainFiles,
      testFiles,
    });
  }
  return new LakeRuns(imageSize, runs);
}
