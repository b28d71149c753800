/**
 * Few-shot image classification episodes for the studies that run conv4 learners (`memory`,
 * `lslr`): real Omniglot episodes when `--data PATH` is given (the MAML protocol: 1,200 training
 * characters with rotations as extra classes, the other 423 for held-out episodes; 28x28), or
 * synthetic image tasks (./image_tasks.ts) otherwise.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as mg from '../../index.js';
import { intOpt, numOpt, UsageError } from '../args.js';
import { imageTaskSampler } from './image_tasks.js';

/** What a study asks for. */
export interface EpisodeOptions {
  /** `--data PATH` (Omniglot folder or zip), or undefined for synthetic tasks. */
  data: string | undefined;
  ways: number;
  shots: number;
  /** Query images per class. */
  query: number;
  /** Side of the synthetic images (Omniglot is always 28). */
  size: number;
  /** Noise standard deviation of the synthetic images. */
  noise: number;
  /** Seed of the synthetic pool. */
  seed: number;
}

/** Episodes to train on and held-out ones, and what they are. */
export interface EpisodeSource {
  /** Meta-training episodes (from the library's seeded generator). */
  train: mg.data.TaskSampler;
  /** Held-out episodes: Omniglot's test characters, or new synthetic tasks of the same pool. */
  heldOut: mg.data.TaskSampler;
  /** Image side. */
  size: number;
  /** One line for markdown and the JSON settings. */
  description: string;
  /** A shorter one for figure subtitles. */
  short: string;
  /** Frees the synthetic pool. */
  dispose(): void;
}

/**
 * Opens the episodes of a study: Omniglot from `opts.data` (a UsageError names the path when it
 * does not exist), or a synthetic pool of 4 * ways classes (prototype + Gaussian noise).
 */
export function openEpisodes(opts: EpisodeOptions): EpisodeSource {
  const { ways, shots, query } = opts;
  if (opts.data !== undefined) {
    const data = path.resolve(opts.data);
    if (!fs.existsSync(data)) throw new UsageError(`--data: ${data} does not exist (a folder with the official Omniglot zips, or one of them)`);
    const ds = mg.data.loadOmniglot(data, { sets: ['background', 'evaluation'] });
    const splits = mg.data.omniglotMamlSplits(ds);
    const sampler = (split: 'train' | 'test') => new mg.data.OmniglotSampler(ds, { ways, shots, queries: query, split, splits, rotations: true });
    return {
      train: sampler('train'),
      heldOut: sampler('test'),
      size: ds.imageSize,
      description: `Omniglot (${data}), MAML protocol, ${ways}-way ${shots}-shot, ${query} query per class, ${ds.imageSize}x${ds.imageSize}`,
      short: `Omniglot ${ways}-way ${shots}-shot, ${query} query/class`,
      dispose: () => {},
    };
  }
  const s = imageTaskSampler({ ways, shots, query, size: opts.size, noise: opts.noise, seed: opts.seed });
  return {
    train: s,
    heldOut: s,
    size: opts.size,
    description: `synthetic image tasks (${4 * ways} random ${opts.size}x${opts.size} prototypes + noise ${opts.noise}), ${ways}-way ${shots}-shot, ${query} query per class`,
    short: `synthetic ${opts.size}x${opts.size} tasks (noise ${opts.noise}), ${ways}-way ${shots}-shot, ${query} query/class`,
    dispose: () => s.pool.dispose(),
  };
}

/** The options of the synthetic tasks (`--image-size`, `--noise`), refused with `--data`. */
export function syntheticOpts(values: Record<string, unknown>, data: string | undefined, defaults: { size: number; noise: number }): { size: number; noise: number } {
  for (const o of ['image-size', 'noise']) if (data !== undefined && values[o] !== undefined) throw new UsageError(`--${o}: applies to the synthetic tasks, not to Omniglot (--data)`);
  return { size: intOpt(values, 'image-size', defaults.size, 16), noise: numOpt(values, 'noise', defaults.noise) };
}
