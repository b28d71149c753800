/**
 * Data-parallel meta-training for `metagrad train --nproc N` / `--distributed`: each rank takes a
 * contiguous share of every iteration's meta-batch and the finished meta-gradients are summed.
 *
 * Note [Data-parallel meta-batches]: every rank seeds the generator from (seed, iteration) as a
 * single-process run does and samples the whole meta-batch, then keeps tasks [lo, hi) of it
 * (lo = floor(r B / N)); so the union of the ranks' tasks is exactly the single-process run's,
 * with the same task seeds, whatever N. Each rank scales its local mean meta-loss by its share
 * (hi - lo) / B before backward, and the gradients are summed over ranks in one bucketed
 * all-reduce: the result is the meta-gradient of the mean over all B tasks, and every rank takes
 * the same optimizer step, so the parameters stay identical (rank 0's are broadcast once at the
 * start). The meta-gradient of MAML is complete after the local second-order backward, so this
 * reduction outside the tape is exact.
 */
import * as mg from '../index.js';
import { UsageError } from './args.js';

export interface DataParallel {
  rank: number;
  worldSize: number;
  /** This rank's tasks [lo, hi) of a meta-batch of `total`. */
  share(total: number): [number, number];
  /** Sums each parameter's `.grad` over ranks, in place, and `loss` (one bucketed all-reduce); returns the summed loss. */
  syncGrads(params: readonly mg.Tensor[], loss: number): number;
  /** Rank 0's value of `flag` (so every rank stops at the same iteration). */
  agree(flag: boolean): boolean;
  /** Rank 0's value of an integer (e.g. the resumed iteration). */
  agreeInt(x: number): number;
  /** Overwrites the tensors with rank 0's. */
  broadcast(ts: readonly mg.Tensor[]): void;
  destroy(): void;
}

/** Joins the process group described by RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT. */
export async function joinFromEnv(): Promise<DataParallel> {
  for (const v of ['RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT']) {
    if (!process.env[v]) throw new UsageError(`--distributed: environment variable ${v} is not set (use --nproc N to launch local ranks, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)`);
  }
  await mg.distributed.init({ backend: 'gloo' });
  const rank = mg.distributed.rank();
  const worldSize = mg.distributed.worldSize();
  const fromRank0 = (x: number) => {
    const t = mg.tensor([x], { dtype: 'float64' });
    mg.distributed.broadcast(t);
    const v = t.item();
    t.dispose();
    return v;
  };
  return {
    rank,
    worldSize,
    share(total) {
      if (total < worldSize) throw new UsageError(`--meta-batch ${total} is smaller than the ${worldSize} ranks: each rank needs at least one task`);
      return [Math.floor((rank * total) / worldSize), Math.floor(((rank + 1) * total) / worldSize)];
    },
    syncGrads(params, loss) {
      // A gradient that is null here may not be null elsewhere: reduce zeros so the buckets agree.
      for (const p of params) if (p.grad === null) p.grad = mg.zerosLike(p);
      // The loss rides in the gradients' bucket (their dtype), so an iteration is one collective.
      const l = mg.tensor([loss], { dtype: params[0].grad!.dtype });
      try {
        mg.distributed.allReduce([...params.map((p) => p.grad!), l]);
        return l.item();
      } finally {
        l.dispose();
      }
    },
    agree: (flag) => fromRank0(flag ? 1 : 0) === 1,
    agreeInt: (x) => fromRank0(x),
    broadcast(ts) {
      mg.distributed.broadcast(ts);
    },
    destroy: () => mg.distributed.destroy(),
  };
}
