/**
 * Synthetic few-shot image classification tasks, for the `memory` and `lslr` studies (when no
 * Omniglot data is given) and the MAML++ / iMAML tests, in the Task format of the Omniglot loader
 * (support.x [N*K, 1, S, S], support.y int32 [N*K] in 0..N-1, query alike). A fixed pool of
 * random "character" prototypes; each task draws N of them, assigns them labels 0..N-1 in random
 * order, and its images are prototype + Gaussian noise. A learner that learns
 * features of the pool adapts faster, so a few meta-iterations visibly help.
 */
import * as mg from '../../index.js';

/** Options of {@link imageTaskSampler}. */
export interface ImageTaskOptions {
  /** Classes per task (N). */
  ways: number;
  /** Support images per class (K). */
  shots: number;
  /** Query images per class. */
  query: number;
  /** Side of the square images. */
  size: number;
  /** Classes in the pool (default 4 * ways). */
  poolSize?: number;
  /** Noise standard deviation (default 0.8). */
  noise?: number;
  /** Default float32. */
  dtype?: 'float32' | 'float64';
  /** Seed of the pool (the constructor reseeds the library's generator with it). Default 0. */
  seed?: number;
}

/**
 * A sampler of synthetic image tasks (draws from the library's seeded generator). The pool is a
 * kept tensor: dispose it (`sampler.pool.dispose()`) when done.
 */
export function imageTaskSampler(opts: ImageTaskOptions): mg.data.TaskSampler & { pool: mg.Tensor } {
  const { ways, shots, query, size, poolSize = 4 * ways, noise = 0.8, dtype = 'float32', seed = 0 } = opts;
  for (const [n, v] of [['ways', ways], ['shots', shots], ['query', query], ['size', size], ['poolSize', poolSize]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`imageTaskSampler: ${n} must be a positive integer, got ${String(v)}`);
  }
  if (ways > poolSize) throw new Error(`imageTaskSampler: ways (${ways}) exceeds the pool of ${poolSize} classes`);
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
