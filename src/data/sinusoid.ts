/**
 * Sinusoid regression, the toy problem of MAML and Reptile, in both published forms.
 *
 * - {@link MamlSinusoid} (Finn et al. 2017, `cbfinn/maml` data_generator.py): amplitude ~ U[0.1, 5],
 *   phase ~ U[0, pi], x ~ U[-5, 5], K support and K query points, y = A sin(x - phase).
 * - {@link ReptileSinusoid} (Nichol et al. 2018, the OpenAI sine example in the supplementary
 *   material / blog post): amplitude ~ U[0.1, 5], phase ~ U[0, 2 pi], 50 evenly spaced x in
 *   [-5, 5], y = A sin(x + phase), the inner loop on shuffled minibatches of 10 points.
 *
 * The sign of the phase follows each paper's code (`amp * np.sin(x - phase)` in MAML,
 * `np.sin(x + phase) * ampl` in the Reptile example). All draws come from the library's seeded
 * generator (`mg.manualSeed` makes sampling repeatable).
 */
import { linspace, rand, tensor } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';
import type { Batch, Task, TaskSampler } from './task.js';

/** A sinusoid task: its splits plus the function that generated them. */
export interface SinusoidTask extends Task {
  readonly amplitude: number;
  readonly phase: number;
  /** The task's function: a number for a number, a tensor (same dtype, elementwise) for a tensor. */
  f(x: number): number;
  f(x: Tensor): Tensor;
}

/** A task of the Reptile form: the full 50-point set, and its shuffled inner minibatches. */
export interface ReptileSinusoidTask extends SinusoidTask {
  /** All points ([points, 1] each); `support` and `query` are this same set. */
  readonly all: Batch;
  /**
   * The inner-loop minibatches: `epochs` passes over the points, each in a fresh random order
   * (from the seeded generator), cut into consecutive chunks of `innerBatch` points (the last
   * one shorter if `innerBatch` does not divide the number of points). Tensors are new (the
   * caller disposes them, or runs this inside `mg.tidy`).
   */
  minibatches(innerBatch?: number, epochs?: number): Batch[];
}

export interface MamlSinusoidOptions {
  /** Support points per task (K). Default 10. */
  shots?: number;
  /** Query points per task. Default `shots`. */
  query?: number;
  dtype?: DType;
}

export interface ReptileSinusoidOptions {
  /** Evenly spaced points in [-5, 5]. Default 50. */
  points?: number;
  /** Default minibatch size of `minibatches()`. Default 10. */
  innerBatch?: number;
  dtype?: DType;
}

export const SINUSOID_AMPLITUDE: readonly [number, number] = [0.1, 5];
export const SINUSOID_X_RANGE: readonly [number, number] = [-5, 5];

function checkPositiveInt(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got ${n}`);
}

function checkFloat(what: string, dtype: DType): void {
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${what}: dtype must be float32 or float64, got ${dtype}`);
}

/** n uniforms in [0, 1) from the seeded generator, as plain numbers. */
function uniforms(n: number): number[] {
  if (n === 0) return [];
  const t = rand([n], { dtype: 'float64' });
  const v = Array.from(t.data());
  t.dispose();
  return v;
}

function makeF(amplitude: number, phase: number, sign: 1 | -1): SinusoidTask['f'] {
  function f(x: number): number;
  function f(x: Tensor): Tensor;
  function f(x: number | Tensor): number | Tensor {
    if (typeof x === 'number') return amplitude * Math.sin(x + sign * phase);
    const s = x.add(sign * phase);
    const sn = s.sin();
    const y = sn.mul(amplitude);
    s.dispose();
    sn.dispose();
    return y;
  }
  return f;
}

/** y = f(x) elementwise, computed in float64 from the stored (rounded) x. */
function targets(x: Tensor, f: (v: number) => number, dtype: DType): Tensor {
  const xv = x.data();
  const yv = new Float64Array(xv.length);
  for (let i = 0; i < xv.length; i++) yv[i] = f(xv[i]);
  return tensor(yv, { shape: x.shape, dtype });
}

/** MAML's sinusoid (Finn et al. 2017): random x, K support and K query points. */
export class MamlSinusoid implements TaskSampler {
  readonly shots: number;
  readonly query: number;
  readonly dtype: DType;
  static readonly phaseRange: readonly [number, number] = [0, Math.PI];

  constructor(opts: MamlSinusoidOptions = {}) {
    const { shots = 10, query = shots, dtype = 'float32' } = opts;
    checkPositiveInt('MamlSinusoid: shots', shots);
    checkPositiveInt('MamlSinusoid: query', query);
    checkFloat('MamlSinusoid', dtype);
    this.shots = shots;
    this.query = query;
    this.dtype = dtype;
  }

  sample(n: number): SinusoidTask[] {
    if (!Number.isInteger(n) || n < 0) throw new Error(`MamlSinusoid.sample: n must be a non-negative integer, got ${n}`);
    const [alo, ahi] = SINUSOID_AMPLITUDE;
    const [xlo, xhi] = SINUSOID_X_RANGE;
    const m = this.shots + this.query;
    const tasks: SinusoidTask[] = [];
    for (let i = 0; i < n; i++) {
      const [ua, up] = uniforms(2);
      const amplitude = alo + (ahi - alo) * ua;
      const phase = Math.PI * up;
      const f = makeF(amplitude, phase, -1);
      const xs = uniforms(m).map((u) => xlo + (xhi - xlo) * u);
      const xsup = tensor(Float64Array.from(xs.slice(0, this.shots)), { shape: [this.shots, 1], dtype: this.dtype });
      const xq = tensor(Float64Array.from(xs.slice(this.shots)), { shape: [this.query, 1], dtype: this.dtype });
      tasks.push({
        support: { x: xsup, y: targets(xsup, f, this.dtype) },
        query: { x: xq, y: targets(xq, f, this.dtype) },
        amplitude,
        phase,
        f,
      });
    }
    return tasks;
  }
}

/**
 * The OpenAI Reptile sine example's sinusoid (Nichol et al. 2018): 50 evenly spaced x in [-5, 5]
 * shared by every task; the inner loop trains on shuffled minibatches of 10 of them.
 */
export class ReptileSinusoid implements TaskSampler {
  readonly points: number;
  readonly innerBatch: number;
  readonly dtype: DType;
  static readonly phaseRange: readonly [number, number] = [0, 2 * Math.PI];

  constructor(opts: ReptileSinusoidOptions = {}) {
    const { points = 50, innerBatch = 10, dtype = 'float32' } = opts;
    checkPositiveInt('ReptileSinusoid: points', points);
    checkPositiveInt('ReptileSinusoid: innerBatch', innerBatch);
    checkFloat('ReptileSinusoid', dtype);
    this.points = points;
    this.innerBatch = innerBatch;
    this.dtype = dtype;
  }

  sample(n: number): ReptileSinusoidTask[] {
    if (!Number.isInteger(n) || n < 0) throw new Error(`ReptileSinusoid.sample: n must be a non-negative integer, got ${n}`);
    const [alo, ahi] = SINUSOID_AMPLITUDE;
    const [xlo, xhi] = SINUSOID_X_RANGE;
    const tasks: ReptileSinusoidTask[] = [];
    const defaultBatch = this.innerBatch;
    const points = this.points;
    for (let i = 0; i < n; i++) {
      const [ua, up] = uniforms(2);
      const amplitude = alo + (ahi - alo) * ua;
      const phase = 2 * Math.PI * up;
      const f = makeF(amplitude, phase, 1);
      const line = linspace(xlo, xhi, points, { dtype: 'float64' });
      const x = tensor(line.data(), { shape: [points, 1], dtype: this.dtype });
      line.dispose();
      const all: Batch = { x, y: targets(x, f, this.dtype) };
      tasks.push({
        support: all,
        query: all,
        all,
        amplitude,
        phase,
        f,
        minibatches(innerBatch = defaultBatch, epochs = 1): Batch[] {
          checkPositiveInt('minibatches: innerBatch', innerBatch);
          if (!Number.isInteger(epochs) || epochs < 0) throw new Error(`minibatches: epochs must be a non-negative integer, got ${epochs}`);
          const out: Batch[] = [];
          for (let e = 0; e < epochs; e++) {
            const perm = permutation(points);
            for (let s = 0; s < points; s += innerBatch) {
              const chunk = perm.slice(s, s + innerBatch);
              const idx = tensor(Int32Array.from(chunk), { shape: [chunk.length], dtype: 'int32' });
              out.push({ x: all.x.indexSelect(0, idx), y: all.y.indexSelect(0, idx) });
              idx.dispose();
            }
          }
          return out;
        },
      });
    }
    return tasks;
  }
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates on seeded uniforms). */
export function permutation(n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  const u = uniforms(Math.max(n - 1, 0));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[n - 1 - i] * (i + 1)));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
