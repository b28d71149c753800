/**
 * Task-batched sinusoid machinery shared by the training studies (gradient-combinations, tails,
 * inner-steps): MAML's task family (A ~ U[0.1, 5], phase ~ U[0, pi], x ~ U[-5, 5]) with the tasks
 * of a meta-batch stacked along a leading dimension, an MLP as functional parameters
 * ([W1, b1, ...], see mg.meta.mlpForward), first-order inner loops that return each task's
 * gradient at each step, and evaluation after adaptation.
 */
import * as mg from '../../index.js';
import type { Activation } from '../../meta/batched.js';

type Tensor = mg.Tensor;

/** Points of T tasks: `x`, `y` [T, n, 1]. */
export interface Points {
  x: Tensor;
  y: Tensor;
}

/** T sinusoid tasks with n points each (all from the seeded generator). */
export function sampleTasks(T: number, n: number): Points {
  return mg.tidy(() => {
    const amp = mg.rand([T, 1, 1]).mul(4.9).add(0.1);
    const phase = mg.rand([T, 1, 1]).mul(Math.PI);
    const x = mg.rand([T, n, 1]).mul(10).sub(5);
    return { x, y: x.sub(phase).sin().mul(amp) };
  });
}

/** Points `from`..`to` (exclusive) of every task. */
export function slicePoints(p: Points, from: number, to: number): Points {
  return { x: p.x.slice(1, from, to), y: p.y.slice(1, from, to) };
}

/** The points at positions `idx` of every task. */
export function selectPoints(p: Points, idx: readonly number[]): Points {
  return mg.tidy(() => {
    const i = mg.tensor(Int32Array.from(idx), { shape: [idx.length], dtype: 'int32' });
    return { x: p.x.indexSelect(1, i), y: p.y.indexSelect(1, i) };
  });
}

/** An MLP 1-hidden-1 at PyTorch's Linear initialisation, as kept leaf tensors [W1, b1, ...] (float32). */
export function initMlp(hidden: readonly number[]): Tensor[] {
  const sizes = [1, ...hidden, 1];
  const out: Tensor[] = [];
  for (let i = 0; i < sizes.length - 1; i++) {
    const lin = new mg.nn.Linear(sizes[i], sizes[i + 1]);
    out.push(...lin.parameters());
  }
  return out;
}

/** Names of the MLP's tensors: W1, b1, W2, ... */
export function paramNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${i % 2 === 0 ? 'W' : 'b'}${Math.floor(i / 2) + 1}`);
}

/** Shared parameters as per-task leaves (detached copies; W [T, out, in], b [T, 1, out]). */
export function perTaskLeaves(params: readonly Tensor[], T: number): Tensor[] {
  return mg.noGrad(() => params.map((p) => (p.ndim === 2 ? p.unsqueeze(0).expand([T, ...p.shape]) : p.reshape([1, 1, p.shape[0]]).expand([T, 1, p.shape[0]])).clone())).map((p) => p.requiresGrad_());
}

/** Per-task tensors ([T, ...]) averaged over the tasks, in the shared shapes of `like`. */
export function taskMean(ts: readonly Tensor[], like: readonly Tensor[]): Tensor[] {
  return ts.map((t, i) => t.mean(0).reshape(like[i].shape));
}

/** The sum over tasks of each task's mean squared error of the MLP on `b`. */
export function batchLoss(ps: readonly Tensor[], b: Points, activation: Activation): Tensor {
  return mg.meta.taskMseLoss(mg.meta.mlpForward(ps, b.x, { activation }), b.y).sum();
}

/**
 * A first-order inner loop of plain SGD (rate `lr`) from the shared `params`, one step per batch
 * of `batches`, every task at once. Returns each step's per-task gradients (detached, [T, ...];
 * step i's is taken at phi_{i-1}, phi_0 = params), the gradient on `tail` (if given) at the
 * parameters after the last step, and those parameters (per task).
 */
export function innerLoop(params: readonly Tensor[], batches: readonly Points[], lr: number, activation: Activation, tail?: Points): { grads: Tensor[][]; tailGrad: Tensor[] | null; phi: Tensor[] } {
  const T = batches.length ? batches[0].x.shape[0] : (tail?.x.shape[0] ?? 1);
  let phi = perTaskLeaves(params, T);
  const grads: Tensor[][] = [];
  for (const b of batches) {
    const g = mg.grad(batchLoss(phi, b, activation), phi) as Tensor[];
    grads.push(g);
    phi = mg.noGrad(() => phi.map((p, i) => p.sub(g[i].mul(lr)))).map((p) => p.requiresGrad_());
  }
  const tailGrad = tail ? (mg.grad(batchLoss(phi, tail, activation), phi) as Tensor[]) : null;
  return { grads, tailGrad, phi };
}

/**
 * Per-task query MSE after adapting from `params` with SGD (rate `lr`) on `batches` in turn (a
 * first-order loop, nothing recorded beyond one step). Returns one number per task.
 */
export function adaptedMse(params: readonly Tensor[], batches: readonly Points[], query: Points, lr: number, activation: Activation): number[] {
  return mg.tidy(() => {
    const { phi } = innerLoop(params, batches, lr, activation);
    return Array.from(mg.noGrad(() => mg.meta.taskMseLoss(mg.meta.mlpForward(phi, query.x, { activation }), query.y)).data());
  });
}
