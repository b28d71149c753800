/**
 * iMAML (Rajeswaran, Finn, Kakade & Levine 2019, "Meta-Learning with Implicit Gradients").
 *
 * The inner problem is proximal: `phi*(theta) = argmin_phi L_train(phi) + lambda/2 ||phi - theta||^2`,
 * approximated by a few steps of gradient descent (optionally with (Nesterov) momentum) from
 * theta, recording no graph. At the minimum, `d phi* / d theta = (I + H/lambda)^-1` with H the Hessian
 * of L_train at phi*, so the meta-gradient of L_test(phi*(theta)) is
 * `g = (I + H/lambda)^-1 grad L_test(phi)`, solved by conjugate gradient with Hessian-vector
 * products of L_train at phi. Memory does not depend on the number of inner steps: each step
 * frees the previous one, and the solve needs one gradient graph at phi.
 */
import { enableGrad, grad, noGrad } from '../autograd/engine.js';
import { hvp } from '../autograd/functional.js';
import type { Batch, Task } from '../data/task.js';
import { accuracy, crossEntropy, mseLoss } from '../nn/functional.js';
import { functionalCall } from '../nn/functional_call.js';
import type { StepForwardOptions } from '../nn/models/conv4.js';
import type { Module } from '../nn/module.js';
import { zerosLike } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { Tensor } from '../tensor/tensor.js';
import { conjugateGradient, type ConjugateGradientResult } from './cg.js';
import type { LossFn, MetaOptimizer } from './maml.js';

/** Options of the proximal inner loop ({@link proximalAdapt}). */
export interface ProximalInnerOptions {
  /** Strength of the proximal term lambda/2 ||phi - theta||^2. */
  lambda: number;
  /** Gradient steps. */
  steps: number;
  /** Step size. */
  lr: number;
  /** Heavy-ball momentum (0: plain gradient descent). Default 0. */
  momentum?: number;
  /** Nesterov momentum (PyTorch's SGD formulation). Default false. */
  nesterov?: boolean;
}

/** Options of the implicit solve ({@link implicitMetaGradient}). */
export interface ImplicitSolveOptions {
  /** lambda of the proximal term. */
  lambda: number;
  /** Conjugate-gradient iterations at most (Hessian-vector products). Default 5. */
  cgSteps?: number;
  /** Damping delta: solves ((1 + delta) I + H/lambda) x = v. Default 0. */
  cgDamping?: number;
  /** Relative residual at which CG stops early. Default 1e-10. */
  cgTol?: number;
  /**
   * How H v is computed: `'rev-rev'` (default) differentiates the training loss once with
   * `createGraph` and then `<grad, v>` again for each product (the first-order graph is built
   * once per solve); `'fwd-rev'` calls `mg.hvp` (forward over reverse) for each product.
   */
  hvpMode?: 'rev-rev' | 'fwd-rev';
}

function checkPositive(op: string, name: string, v: unknown, allowZero = false): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) throw new Error(`${op}: ${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, got ${String(v)}`);
}

function checkList(op: string, name: string, ts: unknown): asserts ts is Tensor[] {
  if (!Array.isArray(ts) || ts.length === 0 || ts.some((t) => !(t instanceof Tensor))) throw new Error(`${op}: ${name} must be a non-empty array of tensors`);
}

/**
 * Approximately solves the proximal inner problem `min_phi trainLoss(phi) + lambda/2 ||phi - theta||^2`
 * by `steps` gradient steps from theta, recording nothing: each step's gradient graph is freed
 * before the next, so memory does not grow with `steps`. Returns detached tensors (the caller
 * owns them).
 */
export function proximalAdapt(trainLoss: (params: Tensor[]) => Tensor, theta: readonly Tensor[], opts: ProximalInnerOptions): Tensor[] {
  const op = 'proximalAdapt';
  checkList(op, 'theta', theta);
  const { lambda, steps, lr, momentum = 0, nesterov = false } = opts;
  checkPositive(op, 'lambda', lambda, true);
  checkPositive(op, 'lr', lr, true);
  checkPositive(op, 'momentum', momentum, true);
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`${op}: steps must be a non-negative integer, got ${String(steps)}`);
  if (nesterov && momentum === 0) throw new Error(`${op}: nesterov needs a positive momentum`);
  const th = theta.map((t) => t.detach());
  let phi = th.map((t) => t.clone());
  let buf: Tensor[] | null = null;
  for (let s = 0; s < steps; s++) {
    const [nphi, nbuf] = tidy(() => {
      const xs = phi.map((p) => p.detach().requiresGrad_());
      const gs = enableGrad(() => grad(trainLoss(xs), xs, { allowUnused: true }));
      return noGrad(() => {
        // d = grad L(phi) + lambda (phi - theta): the proximal objective's gradient.
        const d = phi.map((p, i) => {
          const prox = p.sub(th[i]).mul(lambda);
          return gs[i] === null ? prox : gs[i]!.add(prox);
        });
        let b: Tensor[] | null = null;
        let dir = d;
        if (momentum > 0) {
          b = buf === null ? d.map((t) => t.clone()) : buf.map((t, i) => t.mul(momentum).add(d[i]));
          dir = nesterov ? d.map((t, i) => t.add(b![i].mul(momentum))) : b;
        }
        return [phi.map((p, i) => p.sub(dir[i].mul(lr))), b] as const;
      });
    });
    for (const t of phi) t.dispose();
    if (buf) for (const t of buf) t.dispose();
    phi = [...nphi];
    buf = nbuf === null ? null : [...nbuf];
  }
  if (buf) for (const t of buf) t.dispose();
  for (const t of th) t.dispose();
  return phi;
}

/**
 * The implicit meta-gradient: solves `((1 + cgDamping) I + H/lambda) x = v` by conjugate
 * gradient, where H is the Hessian of `trainLoss` at `phi` and `v` is typically the gradient of
 * the test loss at phi. Nothing is recorded on the caller's tape; the result's `x` is detached
 * (the caller owns it). With enough CG iterations and phi the exact inner minimiser, `x` is the
 * exact gradient of testLoss(phi*(theta)) with respect to theta.
 */
export function implicitMetaGradient(trainLoss: (params: Tensor[]) => Tensor, phi: readonly Tensor[], v: readonly Tensor[], opts: ImplicitSolveOptions): ConjugateGradientResult {
  const op = 'implicitMetaGradient';
  checkList(op, 'phi', phi);
  checkList(op, 'v', v);
  if (v.length !== phi.length) throw new Error(`${op}: got ${v.length} tensors in v for ${phi.length} in phi`);
  const { lambda, cgSteps = 5, cgDamping = 0, cgTol = 1e-10, hvpMode = 'rev-rev' } = opts;
  checkPositive(op, 'lambda', lambda);
  checkPositive(op, 'cgDamping', cgDamping, true);
  if (hvpMode !== 'rev-rev' && hvpMode !== 'fwd-rev') throw new Error(`${op}: hvpMode must be 'rev-rev' or 'fwd-rev', got ${String(hvpMode)}`);
  const scale = 1 + cgDamping;
  // Grad mode on: the products differentiate the training loss even if the caller is in noGrad.
  return enableGrad(() => tidy(() => {
    if (hvpMode === 'fwd-rev') {
      const ps = phi.map((p) => p.detach());
      const product = (u: Tensor[]) => {
        const [, h] = hvp((...xs: Tensor[]) => trainLoss(xs), ps, u, { mode: 'fwd-rev' });
        return u.map((t, i) => t.mul(scale).add(h[i].detach().div(lambda)));
      };
      return conjugateGradient(product, v.map((t) => t.detach()), { maxIter: cgSteps, tol: cgTol });
    }
    // rev-rev: the gradient graph at phi is built once; each product differentiates <g, u>.
    const xs = phi.map((p) => p.detach().requiresGrad_());
    const gs = grad(trainLoss(xs), xs, { createGraph: true, allowUnused: true });
    const live = gs.map((g) => g !== null && g.requiresGrad);
    let calls = 0;
    let released = !live.includes(true);
    // The last possible product runs without retainGraph, which frees the gradient graph (the
    // scope alone would leave the nodes made inside the backward rules to the GC backstop).
    const hv = (u: readonly Tensor[], retain: boolean): Tensor[] => {
      if (released) return u.map((t) => zerosLike(t));
      let d: Tensor | null = null;
      gs.forEach((g, i) => {
        if (!live[i]) return;
        const t = g!.mul(u[i]).sum();
        d = d === null ? t : d.add(t);
      });
      const h = grad(d!, xs, { retainGraph: retain, allowUnused: true });
      if (!retain) released = true;
      return h.map((t, i) => t ?? zerosLike(u[i]));
    };
    const product = (u: Tensor[]) => {
      const h = hv(u, ++calls < cgSteps);
      return u.map((t, i) => t.mul(scale).add(h[i].detach().div(lambda)));
    };
    const res = conjugateGradient(product, v.map((t) => t.detach()), { maxIter: cgSteps, tol: cgTol });
    if (!released) tidy(() => void hv(v, false)); // CG stopped early: one more pass frees the graph
    return res;
  }));
}

/** Options of {@link IMAML}. */
export interface IMAMLOptions {
  /** Proximal strength lambda. Default 2. */
  lambda?: number;
  /** Inner gradient steps (meta-training and evaluation). Default 10. */
  innerSteps?: number;
  /** Inner step size. Default 0.1. */
  innerLr?: number;
  /** Inner heavy-ball momentum. Default 0 (gradient descent). */
  innerMomentum?: number;
  /** Inner Nesterov momentum. Default false. */
  nesterov?: boolean;
  /** Conjugate-gradient iterations. Default 5. */
  cgSteps?: number;
  /** CG damping delta ((1 + delta) I + H/lambda). Default 0. */
  cgDamping?: number;
  /** CG relative tolerance. Default 1e-10. */
  cgTol?: number;
  /** Hessian-vector products: see {@link ImplicitSolveOptions.hvpMode}. Default 'rev-rev'. */
  hvpMode?: 'rev-rev' | 'fwd-rev';
  /** Loss of a prediction against targets; default cross-entropy for int32 targets, else MSE. */
  lossFn?: LossFn;
  /** Passed to the module's forward (a step-aware module: default `{ step: 0, updateStats: false }`). */
  forwardOptions?: StepForwardOptions;
}

/**
 * iMAML over a module (any `[Tensor] -> Tensor` module, e.g. an MLP or {@link nn.Conv4}; a
 * step-aware module gets `forwardOptions`). The meta-parameters are the module's parameters,
 * all of them adapted in the inner loop. {@link IMAML.step} computes each task's implicit
 * meta-gradient, writes their mean into the parameters' `.grad` and steps the optimizer.
 *
 * ```ts
 * const learner = new mg.meta.IMAML(new mg.nn.Conv4({ ways: 5 }), { lambda: 2, innerSteps: 16, cgSteps: 5 });
 * const opt = new mg.optim.Adam(learner.metaParameters(), { lr: 1e-3 });
 * learner.step(sampler.sample(32), opt);
 * ```
 */
export class IMAML {
  readonly lambda: number;
  readonly innerSteps: number;
  readonly innerLr: number;
  readonly innerMomentum: number;
  readonly nesterov: boolean;
  readonly solve: Required<ImplicitSolveOptions>;
  readonly lossFn: LossFn;
  readonly forwardOptions: StepForwardOptions;
  /** The CG results of the last {@link IMAML.step}, one per task (iterations, residual norm). */
  lastSolves: Omit<ConjugateGradientResult, 'x'>[] = [];

  constructor(readonly module: Module<[Tensor, StepForwardOptions?], Tensor>, opts: IMAMLOptions = {}) {
    const { lambda = 2, innerSteps = 10, innerLr = 0.1, innerMomentum = 0, nesterov = false, cgSteps = 5, cgDamping = 0, cgTol = 1e-10, hvpMode = 'rev-rev' } = opts;
    checkPositive('IMAML', 'lambda', lambda);
    checkPositive('IMAML', 'innerLr', innerLr, true);
    checkPositive('IMAML', 'innerMomentum', innerMomentum, true);
    if (!Number.isInteger(innerSteps) || innerSteps < 0) throw new Error(`IMAML: innerSteps must be a non-negative integer, got ${String(innerSteps)}`);
    if (!Number.isInteger(cgSteps) || cgSteps < 1) throw new Error(`IMAML: cgSteps must be a positive integer, got ${String(cgSteps)}`);
    if (nesterov && innerMomentum === 0) throw new Error('IMAML: nesterov needs a positive innerMomentum');
    this.lambda = lambda;
    this.innerSteps = innerSteps;
    this.innerLr = innerLr;
    this.innerMomentum = innerMomentum;
    this.nesterov = nesterov;
    this.solve = { lambda, cgSteps, cgDamping, cgTol, hvpMode };
    this.lossFn = opts.lossFn ?? ((p: Tensor, y: Tensor) => (y.dtype === 'int32' ? crossEntropy(p, y) : mseLoss(p, y)));
    this.forwardOptions = opts.forwardOptions ?? { step: 0, updateStats: false };
  }

  /** The tensors to meta-learn: the module's parameters. */
  metaParameters(): Tensor[] {
    return this.module.parameters();
  }

  /** The model's output on `x` with parameters `params` (in `parameters()` order). */
  predict(params: readonly Tensor[], x: Tensor): Tensor {
    return functionalCall(this.module, params, x, this.forwardOptions);
  }

  /** The loss of `params` on a batch. */
  loss(params: readonly Tensor[], batch: Batch): Tensor {
    return this.lossFn(this.predict(params, batch.x), batch.y);
  }

  /** The proximal inner loop on `support` from the module's parameters; detached results. */
  adapt(support: Batch, opts: { steps?: number } = {}): Tensor[] {
    return proximalAdapt((ps) => this.loss(ps, support), this.module.parameters(), {
      lambda: this.lambda, steps: opts.steps ?? this.innerSteps, lr: this.innerLr, momentum: this.innerMomentum, nesterov: this.nesterov,
    });
  }

  /**
   * One task's implicit meta-gradient (detached tensors in `parameters()` order), its query loss
   * at the adapted parameters, and the CG diagnostics.
   */
  taskMetaGradient(task: Task): { grads: Tensor[]; queryLoss: number; solve: Omit<ConjugateGradientResult, 'x'> } {
    if (!(task?.support?.x instanceof Tensor) || !(task.query?.x instanceof Tensor)) throw new Error('IMAML.taskMetaGradient: the task must have support and query batches { x, y }');
    const phi = this.adapt(task.support);
    const [queryLoss, gTest] = tidy(() => {
      const xs = phi.map((p) => p.detach().requiresGrad_());
      const l = this.loss(xs, task.query);
      const gs = grad(l, xs, { allowUnused: true });
      return [l.item(), gs.map((g, i) => g ?? zerosLike(xs[i]))] as const;
    });
    const res = implicitMetaGradient((ps) => this.loss(ps, task.support), phi, gTest, this.solve);
    for (const t of [...phi, ...gTest]) t.dispose();
    const { x, ...solve } = res;
    return { grads: x, queryLoss, solve };
  }

  /**
   * One meta-iteration: the mean of the tasks' implicit meta-gradients goes into the parameters'
   * `.grad` (after `optimizer.zeroGrad()`), then `optimizer.step()`. Returns the mean query loss
   * at the adapted parameters. Frees everything but the `.grad`s.
   */
  step(tasks: readonly Task[], optimizer: MetaOptimizer): number {
    if (!Array.isArray(tasks) || tasks.length === 0) throw new Error('IMAML.step: expected at least one task');
    optimizer.zeroGrad();
    const params = this.module.parameters();
    let sum: Tensor[] | null = null;
    let loss = 0;
    this.lastSolves = [];
    for (const task of tasks) {
      const r = this.taskMetaGradient(task);
      loss += r.queryLoss;
      this.lastSolves.push(r.solve);
      if (sum === null) sum = r.grads;
      else {
        const next: Tensor[] = sum.map((s, i) => s.add(r.grads[i]));
        for (const t of [...sum, ...r.grads]) t.dispose();
        sum = next;
      }
    }
    // <theta, mean g> backpropagates exactly mean g into theta.grad (accumulating as backward does).
    tidy(() => {
      let s: Tensor | null = null;
      params.forEach((p, i) => {
        if (!p.requiresGrad) return;
        const t = p.mul(sum![i].div(tasks.length)).sum();
        s = s === null ? t : s.add(t);
      });
      if (s !== null) (s as Tensor).backward();
    });
    for (const t of sum!) t.dispose();
    optimizer.step();
    return loss / tasks.length;
  }

  /**
   * Mean query loss and accuracy (int32 labels; null otherwise) after the proximal inner loop
   * with `steps` steps (default `innerSteps`). Frees everything.
   */
  evaluateMetrics(tasks: readonly Task[], opts: { steps?: number } = {}): { loss: number; accuracy: number | null } {
    if (!Array.isArray(tasks) || tasks.length === 0) throw new Error('IMAML.evaluate: expected at least one task');
    let loss = 0;
    let acc = 0;
    let classification = true;
    for (const task of tasks) {
      tidy(() => {
        const phi = this.adapt(task.support, opts);
        noGrad(() => {
          const out = this.predict(phi, task.query.x);
          loss += this.lossFn(out, task.query.y).item();
          if (task.query.y.dtype === 'int32' && out.ndim === 2) acc += accuracy(out, task.query.y);
          else classification = false;
        });
      });
    }
    return { loss: loss / tasks.length, accuracy: classification ? acc / tasks.length : null };
  }

  /** Mean query loss after the proximal inner loop (see {@link IMAML.evaluateMetrics}). */
  evaluate(tasks: readonly Task[], opts: { steps?: number } = {}): number {
    return this.evaluateMetrics(tasks, opts).loss;
  }
}
