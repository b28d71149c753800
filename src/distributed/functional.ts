/**
 * `mg.distributed.functional`: collectives that are ops of the tape, so gradients (of any order)
 * flow through them, as `torch.distributed.nn.functional` does.
 *
 * With `y = allReduce(x_r)` (the sum over ranks r of each rank's `x_r`) and a loss `L = sum_r
 * L_r(y)` spread over the ranks, `dL/dx_r = sum_r' dL_r'/dy`: the vjp of an all-reduce is the
 * all-reduce of the incoming gradients, written with this same differentiable op, so the backward
 * pass is itself differentiable (ARCHITECTURE.md rule 1). The mean form is `1/N` of both. The jvp
 * is the all-reduce of the tangents (the op is linear). Every rank must run the backward pass
 * through the same all-reduces in the same order, as for any collective.
 */
import { record, withGradMode } from '../autograd/record.js';
import { zerosLike } from '../tensor/creation.js';
import { Tensor } from '../tensor/tensor.js';
import { allReduce as allReduceInPlace, type CollectiveOptions, type ReduceOp } from './index.js';

/**
 * The sum (or mean) of `x` over all ranks, as a new tensor recorded on the tape: its gradient
 * is the same reduction of the gradients arriving at the result on every rank.
 */
export function allReduce(x: Tensor, opts: { op?: ReduceOp } & CollectiveOptions = {}): Tensor {
  if (!(x instanceof Tensor)) throw new Error('distributed.functional.allReduce: expected a tensor');
  const y = withGradMode(false, () => x.clone());
  try {
    allReduceInPlace(y, opts);
  } catch (e) {
    y.dispose();
    throw e;
  }
  return record(
    y,
    'distributed.allReduce',
    [x],
    (g) => [allReduce(g, opts)],
    // A missing tangent is still reduced (as zeros): every rank must take part in the call.
    (t) => allReduce(t[0] ?? zerosLike(x), opts),
  );
}
