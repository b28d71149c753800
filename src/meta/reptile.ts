/**
 * Reptile (Nichol, Achiam and Schulman 2018, "On First-Order Meta-Learning Algorithms").
 *
 * For each task: adapt a detached copy phi of the parameters theta with a few steps of SGD (or
 * Adam) on the task's data, then move theta towards phi in place:
 *   serial:  theta <- theta + eps_i (phi - theta)
 *   batched: theta <- theta + eps_i mean_k (phi_k - theta)
 * with the OpenAI sine example's linearly annealed outer step size
 *   eps_i = eps0 (1 - i / iterations)
 * (constant eps0 when `iterations` is not given). No second-order terms: the inner loop runs on
 * detached tensors and the update is written with `copy_` under `noGrad`.
 */
import { grad, noGrad } from '../autograd/engine.js';
import type { Batch, Task } from '../data/task.js';
import { functionalCall } from '../nn/functional_call.js';
import { mseLoss } from '../nn/functional.js';
import type { Module } from '../nn/module.js';
import { copy_ } from '../ops/inplace.js';
import { tidy } from '../tensor/memory.js';
import type { Tensor } from '../tensor/tensor.js';

export interface ReptileOptions {
  /** Inner steps on `task.support` when a Task is given (a list of batches gives one step per batch). Default 5. */
  innerSteps?: number;
  /** Inner learning rate alpha. Default 0.02 (the OpenAI sine example). */
  innerLr?: number;
  /** The inner optimizer. Default 'sgd'. */
  innerOptimizer?: 'sgd' | 'adam';
  /** Adam's betas for the inner loop. Default [0, 0.999] (Reptile's choice: no momentum). */
  adamBetas?: readonly [number, number];
  /** Adam's epsilon. Default 1e-8. */
  adamEps?: number;
  /** Outer step size eps0. Default 0.1 (the OpenAI sine example). */
  outerLr?: number;
  /** Anneal the outer step size linearly to 0 over this many outer steps. Default: no annealing. */
  iterations?: number;
  /** The task loss. Default mean squared error. */
  loss?: (prediction: Tensor, target: Tensor) => Tensor;
}

/** A task (its support set is used `innerSteps` times) or an explicit list of inner batches (one step each). */
export type ReptileData = Task | readonly Batch[];

export interface ReptileStepResult {
  /** The outer step size used. */
  stepSize: number;
  /** The loss before adaptation (first inner step), averaged over the tasks of the step. */
  loss: number;
}

function isBatchList(d: ReptileData): d is readonly Batch[] {
  return Array.isArray(d);
}

/** Reptile over a module's parameters. */
export class Reptile {
  readonly model: Module<[Tensor], Tensor>;
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly innerOptimizer: 'sgd' | 'adam';
  readonly adamBetas: readonly [number, number];
  readonly adamEps: number;
  readonly outerLr: number;
  readonly iterations: number | undefined;
  readonly loss: (prediction: Tensor, target: Tensor) => Tensor;
  /** Outer steps taken so far (the i of the annealing schedule). */
  iteration = 0;

  constructor(model: Module<[Tensor], Tensor>, opts: ReptileOptions = {}) {
    const {
      innerSteps = 5, innerLr = 0.02, innerOptimizer = 'sgd', adamBetas = [0, 0.999], adamEps = 1e-8,
      outerLr = 0.1, iterations, loss = (p: Tensor, t: Tensor) => mseLoss(p, t),
    } = opts;
    if (!Number.isInteger(innerSteps) || innerSteps < 0) throw new Error(`Reptile: innerSteps must be a non-negative integer, got ${innerSteps}`);
    if (!(innerLr > 0)) throw new Error(`Reptile: innerLr must be positive, got ${innerLr}`);
    if (innerOptimizer !== 'sgd' && innerOptimizer !== 'adam') throw new Error(`Reptile: innerOptimizer must be 'sgd' or 'adam', got ${String(innerOptimizer)}`);
    if (!(outerLr > 0)) throw new Error(`Reptile: outerLr must be positive, got ${outerLr}`);
    if (iterations !== undefined && !(Number.isInteger(iterations) && iterations > 0)) {
      throw new Error(`Reptile: iterations must be a positive integer, got ${iterations}`);
    }
    if (model.parameters().length === 0) throw new Error('Reptile: the model has no parameters');
    this.model = model;
    this.innerSteps = innerSteps;
    this.innerLr = innerLr;
    this.innerOptimizer = innerOptimizer;
    this.adamBetas = adamBetas;
    this.adamEps = adamEps;
    this.outerLr = outerLr;
    this.iterations = iterations;
    this.loss = loss;
  }

  /** eps_i = outerLr (1 - i / iterations), floored at 0; outerLr when not annealing. */
  stepSize(i: number = this.iteration): number {
    if (this.iterations === undefined) return this.outerLr;
    return Math.max(0, this.outerLr * (1 - i / this.iterations));
  }

  /**
   * The adapted parameters phi (new tensors, detached, in `model.parameters()` order); the
   * model's own parameters are not changed. Intermediates are freed.
   */
  adapt(data: ReptileData): Tensor[] {
    return tidy(() => this._adapt(data).phi);
  }

  /** Reptile's direction (theta - phi) / innerLr for one task (new tensors, detached). */
  direction(data: ReptileData): Tensor[] {
    return tidy(() => {
      const theta = this.model.parameters();
      const { phi } = this._adapt(data);
      return noGrad(() => theta.map((t, i) => t.sub(phi[i]).div(this.innerLr)));
    });
  }

  /** A serial outer step on one task: theta <- theta + eps_i (phi - theta). */
  step(data: ReptileData): ReptileStepResult {
    return this.stepBatch([data]);
  }

  /** A batched outer step: theta <- theta + eps_i mean_k (phi_k - theta). */
  stepBatch(tasks: readonly ReptileData[]): ReptileStepResult {
    if (tasks.length === 0) throw new Error('Reptile.stepBatch: no tasks');
    const eps = this.stepSize();
    const loss = tidy(() => {
      const theta = this.model.parameters();
      let sum: Tensor[] | undefined;
      let lossSum = 0;
      for (const d of tasks) {
        const r = this._adapt(d);
        lossSum += r.loss;
        sum = noGrad(() => (sum === undefined ? r.phi : sum.map((s, i) => s.add(r.phi[i]))));
      }
      const n = tasks.length;
      noGrad(() => {
        theta.forEach((t, i) => {
          // theta + eps (mean phi - theta)
          const next = t.add(sum![i].div(n).sub(t).mul(eps));
          copy_(t, next);
        });
      });
      return lossSum / n;
    });
    this.iteration++;
    return { stepSize: eps, loss };
  }

  /** The inner loop; call inside a tidy scope. */
  private _adapt(data: ReptileData): { phi: Tensor[]; loss: number } {
    const batches: readonly Batch[] = isBatchList(data) ? data : Array.from({ length: this.innerSteps }, () => data.support);
    let phi = this.model.parameters().map((p) => p.detach().requiresGrad_());
    const adam = this.innerOptimizer === 'adam';
    const [b1, b2] = this.adamBetas;
    let m: Tensor[] | undefined;
    let v: Tensor[] | undefined;
    let first = NaN;
    batches.forEach((b, s) => {
      const l = this.loss(functionalCall(this.model, phi, b.x), b.y);
      if (s === 0) first = l.item();
      const g = grad(l, phi).map((gi) => gi!);
      phi = noGrad(() => {
        if (!adam) return phi.map((p, i) => p.sub(g[i].mul(this.innerLr)));
        const t = s + 1;
        m = g.map((gi, i) => (m === undefined ? gi.mul(1 - b1) : m[i].mul(b1).add(gi.mul(1 - b1))));
        v = g.map((gi, i) => (v === undefined ? gi.square().mul(1 - b2) : v[i].mul(b2).add(gi.square().mul(1 - b2))));
        const c1 = 1 - b1 ** t;
        const c2 = 1 - b2 ** t;
        return phi.map((p, i) => p.sub(m![i].div(c1).div(v![i].div(c2).sqrt().add(this.adamEps)).mul(this.innerLr)));
      }).map((p) => p.requiresGrad_());
    });
    if (batches.length === 0) {
      phi = noGrad(() => phi.map((p) => p.clone()));
    }
    return { phi: phi.map((p) => p.detach()), loss: first };
  }
}
