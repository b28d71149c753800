/**
 * Optimizee families for learned optimizers: the problems an optimizer is meta-trained on and
 * evaluated on. A family samples a batch of B independent instances whose parameters carry a
 * leading instance dimension (`[B, ...shape]`), so B optimizees train at once with batched ops;
 * each instance's loss is one slot of a `[B]` tensor, and the gradient of their SUM with respect
 * to the batched parameters holds each instance's own gradient in its slot.
 *
 * - {@link QuadraticFamily}: the paper's random quadratics `f(theta) = ||W theta - y||^2`, W 10x10
 *   and y 10 with iid standard Gaussian entries, theta_0 ~ N(0, 0.01^2).
 * - {@link MlpClassificationFamily}: a small MLP (one hidden layer of 20 sigmoid units, as in the
 *   paper's MNIST experiment) on a synthetic Gaussian-clusters classification task, trained on
 *   minibatches.
 * - {@link SinusoidFamily}: the MAML sinusoid regression (src/data/sinusoid.ts) with the
 *   1-40-40-1 ReLU net from a fresh initialisation, trained on minibatches.
 *
 * Every random draw (problem data, minibatches for all steps, initial parameters) happens in
 * `sample`, from the library's seeded generator: the losses are pure functions of the parameters
 * and the step index, so unrolls can be recomputed under `mg.checkpoint`.
 */
import { MamlSinusoid } from '../../data/sinusoid.js';
import { logSoftmax } from '../../nn/functional.js';
import { oneHot, stack } from '../../ops/movement.js';
import { randint, randn, rand } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import { tidy } from '../../tensor/memory.js';
import { keep, type Tensor } from '../../tensor/tensor.js';
import { mlpForward, taskMseLoss } from '../batched.js';

/** A batch of B optimizee instances of one family. Owns its tensors: call `dispose()` when done. */
export interface OptimizeeBatch {
  /** The family's name (`'quadratic'`, `'mlp'`, `'sinusoid'`). */
  readonly family: string;
  /** Number of instances B. */
  readonly size: number;
  /** Steps of minibatch data held; step t uses minibatch `t % steps`. */
  readonly steps: number;
  /** The initial parameters, each `[B, ...shape]` (not requiring grad). */
  readonly init: Tensor[];
  /** Per-instance training loss `[B]` at step t (minibatch t for stochastic families). Draws nothing. */
  losses(params: readonly Tensor[], t: number): Tensor;
  /** Per-instance evaluation loss `[B]`: the whole objective (quadratic) or a fixed held-out batch of the instance's task. */
  evalLosses(params: readonly Tensor[]): Tensor;
  /** Frees the data and the initial parameters. */
  dispose(): void;
}

/** A distribution over optimizees. */
export interface OptimizeeFamily {
  /** `'quadratic'`, `'mlp'`, `'sinusoid'`, or your own. */
  readonly name: string;
  /** The parameter shapes of one instance (without the instance dimension). */
  readonly shapes: number[][];
  /** Draws `instances` optimizees with minibatch data for `steps` steps (from the seeded generator). */
  sample(instances: number, steps: number): OptimizeeBatch;
}

function checkSample(what: string, instances: number, steps: number): void {
  if (!Number.isInteger(instances) || instances < 1) throw new Error(`${what}.sample: instances must be a positive integer, got ${instances}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`${what}.sample: steps must be a positive integer, got ${steps}`);
}

function checkParams(what: string, params: readonly Tensor[], shapes: readonly number[][], B: number): void {
  if (params.length !== shapes.length) throw new Error(`${what}: expected ${shapes.length} parameter tensors, got ${params.length}`);
  params.forEach((p, i) => {
    const want = [B, ...shapes[i]];
    if (p.ndim !== want.length || p.shape.some((d, k) => d !== want[k])) {
      throw new Error(`${what}: parameter ${i} has shape [${p.shape.join(', ')}], expected [${want.join(', ')}]`);
    }
  });
}

function checkStepIndex(what: string, t: number): void {
  if (!Number.isInteger(t) || t < 0) throw new Error(`${what}: step must be a non-negative integer, got ${t}`);
}

function dtypeOf(what: string, dtype: DType): DType {
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${what}: dtype must be float32 or float64, got ${dtype}`);
  return dtype;
}

/** Uniform(-bound, bound) of `shape`. */
function uniform(shape: number[], bound: number, dtype: DType): Tensor {
  return tidy(() => rand(shape, { dtype }).mul(2 * bound).sub(bound));
}

/** PyTorch's Linear initialisation per instance: W [B, out, in], b [B, out], U(-1/sqrt(in), 1/sqrt(in)). */
function linearInit(B: number, layers: readonly number[], dtype: DType): Tensor[] {
  const out: Tensor[] = [];
  for (let i = 0; i + 1 < layers.length; i++) {
    const bound = 1 / Math.sqrt(layers[i]);
    out.push(uniform([B, layers[i + 1], layers[i]], bound, dtype), uniform([B, layers[i + 1]], bound, dtype));
  }
  return out;
}

function mlpShapes(layers: readonly number[]): number[][] {
  const s: number[][] = [];
  for (let i = 0; i + 1 < layers.length; i++) s.push([layers[i + 1], layers[i]], [layers[i + 1]]);
  return s;
}

/** Frees kept tensors. */
function release(ts: readonly Tensor[]): void {
  for (const t of ts) {
    t._kept = false;
    t.dispose();
  }
}

/** A batch of quadratics: also exposes the problem data. */
export interface QuadraticBatch extends OptimizeeBatch {
  /** [B, d, d]. */
  readonly W: Tensor;
  /** [B, d]. */
  readonly y: Tensor;
}

/** Options of {@link QuadraticFamily}. */
export interface QuadraticFamilyOptions {
  /** Dimension d of theta (W is d x d). Default 10. */
  dim?: number;
  /** Standard deviation of the initial theta. Default 0.01. */
  initStd?: number;
  dtype?: DType;
}

/**
 * Random quadratics `f(theta) = ||W theta - y||^2` (Andrychowicz et al. 2016, section 3.1): W
 * [d, d] and y [d] with iid N(0, 1) entries per instance, theta_0 ~ N(0, initStd^2). Deterministic
 * (no minibatches): `losses` and `evalLosses` are the same function.
 */
export class QuadraticFamily implements OptimizeeFamily {
  readonly name = 'quadratic';
  readonly dim: number;
  readonly initStd: number;
  readonly dtype: DType;
  readonly shapes: number[][];

  constructor(opts: QuadraticFamilyOptions = {}) {
    const { dim = 10, initStd = 0.01, dtype = 'float32' } = opts;
    if (!Number.isInteger(dim) || dim < 1) throw new Error(`QuadraticFamily: dim must be a positive integer, got ${dim}`);
    if (!(initStd >= 0)) throw new Error(`QuadraticFamily: initStd must be non-negative, got ${initStd}`);
    this.dim = dim;
    this.initStd = initStd;
    this.dtype = dtypeOf('QuadraticFamily', dtype);
    this.shapes = [[dim]];
  }

  sample(instances: number, steps = 1): QuadraticBatch {
    checkSample('QuadraticFamily', instances, steps);
    const d = this.dim;
    const dtype = this.dtype;
    const W = keep(randn([instances, d, d], { dtype }));
    const y = keep(randn([instances, d], { dtype }));
    const theta0 = keep(tidy(() => randn([instances, d], { dtype }).mul(this.initStd)));
    const shapes = this.shapes;
    const f = (params: readonly Tensor[]): Tensor => {
      checkParams('QuadraticFamily.losses', params, shapes, instances);
      return W.matmul(params[0].reshape([instances, d, 1])).reshape([instances, d]).sub(y).square().sum(1);
    };
    return {
      family: this.name,
      size: instances,
      steps,
      W,
      y,
      init: [theta0],
      losses: (params, t) => {
        checkStepIndex('QuadraticFamily.losses', t);
        return f(params);
      },
      evalLosses: f,
      dispose: () => release([W, y, theta0]),
    };
  }
}

/** Options of {@link MlpClassificationFamily}. */
export interface MlpClassificationFamilyOptions {
  /** Input dimension. Default 4. */
  inputs?: number;
  /** Classes. Default 5. */
  classes?: number;
  /** Hidden sigmoid units (one layer). Default 20 (the paper's MNIST network). */
  hidden?: number;
  /** Minibatch size per step. Default 32. */
  batch?: number;
  /** Points of the fixed evaluation batch of each instance. Default 256. */
  evalPoints?: number;
  /** Gaussian clusters per class (more than one makes the classes not linearly separable). Default 4. */
  clustersPerClass?: number;
  /** Standard deviation of the cluster centres (the within-cluster noise is N(0, I)). Default 3. */
  separation?: number;
  dtype?: DType;
}

/**
 * A one-hidden-layer sigmoid MLP (inputs-hidden-classes) trained with cross-entropy on a
 * synthetic Gaussian-clusters task: each instance draws its own cluster centres
 * `mu_{k,c} ~ N(0, separation^2 I)`, `clustersPerClass` per class; a point has a uniformly random
 * class c and cluster k of it, and `x ~ N(mu_{k,c}, I)`.
 * Every step has a fresh minibatch of `batch` points; `evalLosses` is the cross-entropy on a
 * fixed batch of `evalPoints` points of the same task. Initial weights: PyTorch's Linear
 * initialisation, fresh per instance. (A stand-in for the paper's MNIST optimizee; the defaults,
 * 4 inputs, 5 classes of 4 clusters each, centres 3 noise standard deviations apart, make a task
 * that 100 steps of tuned SGD, momentum or Adam do not finish: the loss still falls at step 200.)
 */
export class MlpClassificationFamily implements OptimizeeFamily {
  readonly name = 'mlp';
  readonly inputs: number;
  readonly classes: number;
  readonly hidden: number;
  readonly batch: number;
  readonly evalPoints: number;
  readonly separation: number;
  readonly clustersPerClass: number;
  readonly dtype: DType;
  readonly shapes: number[][];

  constructor(opts: MlpClassificationFamilyOptions = {}) {
    const { inputs = 4, classes = 5, hidden = 20, batch = 32, evalPoints = 256, clustersPerClass = 4, separation = 3, dtype = 'float32' } = opts;
    for (const [k, v] of Object.entries({ inputs, classes, hidden, batch, evalPoints, clustersPerClass })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`MlpClassificationFamily: ${k} must be a positive integer, got ${v}`);
    }
    if (classes < 2) throw new Error(`MlpClassificationFamily: classes must be at least 2, got ${classes}`);
    if (!(separation >= 0)) throw new Error(`MlpClassificationFamily: separation must be non-negative, got ${separation}`);
    this.inputs = inputs;
    this.classes = classes;
    this.hidden = hidden;
    this.batch = batch;
    this.evalPoints = evalPoints;
    this.separation = separation;
    this.clustersPerClass = clustersPerClass;
    this.dtype = dtypeOf('MlpClassificationFamily', dtype);
    this.shapes = mlpShapes([inputs, hidden, classes]);
  }

  sample(instances: number, steps: number): OptimizeeBatch {
    checkSample('MlpClassificationFamily', instances, steps);
    const { inputs, classes, dtype } = this;
    const K = this.clustersPerClass;
    const B = instances;
    // Cluster (k, c) is the k-th cluster of class c: row k * classes + c of the centres.
    const centres = tidy(() => randn([B, K * classes, inputs], { dtype }).mul(this.separation));
    const draw = (n: number): [Tensor, Tensor] =>
      tidy(() => {
        const y = oneHot(randint(0, classes, [B, n]), classes, { dtype });
        const cluster = K === 1 ? y : oneHot(randint(0, K, [B, n]), K, { dtype }).unsqueeze(3).mul(y.unsqueeze(2)).reshape([B, n, K * classes]);
        const x = cluster.matmul(centres).add(randn([B, n, inputs], { dtype }));
        return [keep(x), keep(y)];
      });
    const data: [Tensor, Tensor][] = [];
    for (let t = 0; t < steps; t++) data.push(draw(this.batch));
    const evalData = draw(this.evalPoints);
    centres.dispose();
    const init = linearInit(B, [inputs, this.hidden, classes], dtype).map((t) => keep(t));
    const shapes = this.shapes;
    const ce = (params: readonly Tensor[], [x, y]: [Tensor, Tensor], what: string): Tensor => {
      checkParams(what, params, shapes, B);
      const logits = mlpForward(params, x, { activation: 'sigmoid' });
      return logSoftmax(logits, -1).mul(y).sum(-1).mean(-1).neg();
    };
    return {
      family: this.name,
      size: B,
      steps,
      init,
      losses: (params, t) => {
        checkStepIndex('MlpClassificationFamily.losses', t);
        return ce(params, data[t % steps], 'MlpClassificationFamily.losses');
      },
      evalLosses: (params) => ce(params, evalData, 'MlpClassificationFamily.evalLosses'),
      dispose: () => release([...data.flat(), ...evalData, ...init]),
    };
  }
}

/** Options of {@link SinusoidFamily}. */
export interface SinusoidFamilyOptions {
  /** Hidden layer widths (ReLU). Default [40, 40] (the MAML paper's 1-40-40-1 net). */
  hidden?: number[];
  /** Points per minibatch. Default 10. */
  batch?: number;
  /** Points of the fixed evaluation batch. Default 100. */
  evalPoints?: number;
  dtype?: DType;
}

/**
 * Sinusoid regression (`mg.data.MamlSinusoid`: amplitude in [0.1, 5], phase in [0, pi],
 * x ~ U[-5, 5]) with a 1-40-40-1 ReLU net from PyTorch's initialisation, one task per instance:
 * step t trains on a fresh minibatch of `batch` points of the task, `evalLosses` is the MSE on
 * `evalPoints` other points of it.
 */
export class SinusoidFamily implements OptimizeeFamily {
  readonly name = 'sinusoid';
  readonly layers: number[];
  readonly batch: number;
  readonly evalPoints: number;
  readonly dtype: DType;
  readonly shapes: number[][];

  constructor(opts: SinusoidFamilyOptions = {}) {
    const { hidden = [40, 40], batch = 10, evalPoints = 100, dtype = 'float32' } = opts;
    if (!Array.isArray(hidden) || hidden.some((h) => !Number.isInteger(h) || h < 1)) throw new Error(`SinusoidFamily: hidden must be positive integers, got [${String(hidden)}]`);
    for (const [k, v] of Object.entries({ batch, evalPoints })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`SinusoidFamily: ${k} must be a positive integer, got ${v}`);
    }
    this.layers = [1, ...hidden, 1];
    this.batch = batch;
    this.evalPoints = evalPoints;
    this.dtype = dtypeOf('SinusoidFamily', dtype);
    this.shapes = mlpShapes(this.layers);
  }

  sample(instances: number, steps: number): OptimizeeBatch {
    checkSample('SinusoidFamily', instances, steps);
    const B = instances;
    const { batch, dtype } = this;
    const sampler = new MamlSinusoid({ shots: steps * batch, query: this.evalPoints, dtype });
    const { data, evalData } = tidy(() => {
      const tasks = sampler.sample(B);
      const xs = stack(tasks.map((t) => t.support.x)).reshape([B, steps, batch, 1]);
      const ys = stack(tasks.map((t) => t.support.y)).reshape([B, steps, batch, 1]);
      const d: [Tensor, Tensor][] = [];
      for (let t = 0; t < steps; t++) d.push([keep(xs.slice(1, t, t + 1).reshape([B, batch, 1])), keep(ys.slice(1, t, t + 1).reshape([B, batch, 1]))]);
      const ev: [Tensor, Tensor] = [keep(stack(tasks.map((t) => t.query.x))), keep(stack(tasks.map((t) => t.query.y)))];
      return { data: d, evalData: ev };
    });
    const init = linearInit(B, this.layers, dtype).map((t) => keep(t));
    const shapes = this.shapes;
    const mse = (params: readonly Tensor[], [x, y]: [Tensor, Tensor], what: string): Tensor => {
      checkParams(what, params, shapes, B);
      return taskMseLoss(mlpForward(params, x, { activation: 'relu' }), y);
    };
    return {
      family: this.name,
      size: B,
      steps,
      init,
      losses: (params, t) => {
        checkStepIndex('SinusoidFamily.losses', t);
        return mse(params, data[t % steps], 'SinusoidFamily.losses');
      },
      evalLosses: (params) => mse(params, evalData, 'SinusoidFamily.evalLosses'),
      dispose: () => release([...data.flat(), ...evalData, ...init]),
    };
  }
}

/** The family called `name` (`'quadratic'`, `'mlp'`, `'sinusoid'`) with default options and `dtype`. */
export function optimizeeFamily(name: string, opts: { dtype?: DType } = {}): OptimizeeFamily {
  switch (name) {
    case 'quadratic':
      return new QuadraticFamily(opts);
    case 'mlp':
      return new MlpClassificationFamily(opts);
    case 'sinusoid':
      return new SinusoidFamily(opts);
    default:
      throw new Error(`optimizeeFamily: unknown family '${name}' (expected quadratic, mlp or sinusoid)`);
  }
}
