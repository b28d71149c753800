/**
 * Synthetic few-shot image classification tasks for the MAML++ / iMAML tests (the Task format of
 * the Omniglot loader: support.x [N*K, 1, S, S], support.y int32 [N*K] in 0..N-1, query alike).
 * A fixed pool of random "character" prototypes; each task draws N of them, assigns them labels
 * 0..N-1 in random order, and its images are prototype + Gaussian noise. A learner that learns
 * features of the pool adapts faster, so a few meta-iterations visibly help.
 */
import * as mg from '../../src/index.js';

export interface ImageTaskOptions {
  ways: number;
  shots: number;
  query: number;
  size: number;
  /** Classes in the pool (default 4 * ways). */
  poolSize?: number;
  /** Noise standard deviation (default 0.8). */
  noise?: number;
  dtype?: 'float32' | 'float64';
  seed?: number;
}

/** A sampler of synthetic image tasks (draws from the library's seeded generator). */
export function imageTaskSampler(opts: ImageTaskOptions): mg.data.TaskSampler & { pool: mg.Tensor } {
  const { ways, shots, query, size, poolSize = 4 * ways, noise = 0.8, dtype = 'float32', seed = 0 } = opts;
  mg.manualSeed(seed);
  const pool = mg.keep(mg.randn([poolSize, 1, size, size], { dtype }));
  const sample = (n: number): mg.data.Task[] =>
    Array.from({ length: n }, () =>
      mg.tidy(() => {
        const classes = mg.data.permutation(poolSize).slice(0, ways);
        const protos = mg.indexSelect(pool, 0, mg.tensor(Int32Array.from(classes), { shape: [ways], dtype: 'int32' }));
        const batch = (k: number): mg.data.Batch => {
          const y = mg.tensor(Int32Array.from({ length: ways * k }, (_, i) => i % ways), { shape: [ways * k], dtype: 'int32' });
          const x = mg.indexSelect(protos, 0, y).add(mg.randn([ways * k, 1, size, size], { dtype }).mul(noise));
          return { x, y };
        };
        return { support: batch(shots), query: batch(query) };
      }),
    );
  return { pool, sample };
}

/** Disposes the tensors of tasks. */
export function disposeTasks(tasks: readonly mg.data.Task[]): void {
  for (const t of tasks) for (const b of [t.support, t.query]) (b.x.dispose(), b.y.dispose());
}
