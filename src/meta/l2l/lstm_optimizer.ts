/**
 * The coordinate-wise LSTM optimizer of Andrychowicz et al. 2016, "Learning to learn by gradient
 * descent by gradient descent": one small LSTM (two layers of 20 units in the paper) shared by
 * every coordinate of the optimizee, each coordinate with its own hidden and cell states (the
 * coordinates are the LSTM's batch dimension). It reads the coordinate's gradient (optionally
 * preprocessed into log-magnitude and sign, the paper's appendix A with p = 10) and outputs the
 * coordinate's update `theta_{t+1} = theta_t + outputScale * out_t`.
 *
 * There is no LSTM op: the cell is built from `matmul`, `slice`, `sigmoid`, `tanh`, `mul` and `add`,
 * whose rules are themselves differentiable, so the optimizer (and any unroll through it) can be
 * differentiated to any order.
 */
import { rand, tensor, zeros } from '../../tensor/creation.js';
import type { DType } from '../../tensor/dtype.js';
import { cat } from '../../ops/movement.js';
import { noGrad } from '../../autograd/engine.js';
import { copy_ } from '../../ops/inplace.js';
import { tidy } from '../../tensor/memory.js';
import { keep, Tensor } from '../../tensor/tensor.js';
import { checkStep, type RuleStep, type UpdateRule } from './update_rule.js';

/** Options of {@link LSTMOptimizer}. */
export interface LSTMOptimizerOptions {
  /** Hidden units per layer. Default 20 (the paper). */
  hidden?: number;
  /** LSTM layers. Default 2 (the paper). */
  layers?: number;
  /** Feed `[log(|g|)/p, sign(g)]` (with the paper's small-gradient branch) instead of `g`. Default true. */
  preprocess?: boolean;
  /** The preprocessing constant p. Default 10 (the paper). */
  p?: number;
  /** The output is multiplied by this to give the update. Default 0.1 (the paper). */
  outputScale?: number;
  /** Added to the forget gates' biases at initialisation (keeps the cell state early on). Default 1. */
  forgetBias?: number;
  /** Dtype of the weights (and of the optimizee parameters it is used with). Default float32. */
  dtype?: DType;
}

/**
 * The paper's gradient preprocessing (appendix A), coordinate-wise, `[N, 1]` to `[N, 2]`:
 * `(log(|g|)/p, sign(g))` if `|g| >= e^-p`, else `(-1, e^p g)`. Written without a branch as
 * `(log(max(|g|, e^-p))/p, clamp(e^p g, -1, 1))`, which is the same function (for `|g| >= e^-p`,
 * `|e^p g| >= 1` so the clamp gives the sign) and is differentiable with the library's ops (the
 * derivative is that of the selected branch; zero on the flat parts).
 */
export function preprocessGradient(g: Tensor, p = 10): Tensor {
  if (g.ndim !== 2 || g.shape[1] !== 1) throw new Error(`preprocessGradient: expected gradients of shape [N, 1], got [${g.shape.join(', ')}]`);
  if (!(p > 0)) throw new Error(`preprocessGradient: p must be positive, got ${p}`);
  const logMag = g.abs().maximum(Math.exp(-p)).log().div(p);
  const sgn = g.mul(Math.exp(p)).clamp(-1, 1);
  return cat([logMag, sgn], 1);
}

/**
 * One LSTM cell on a batch of N rows (PyTorch's gate order i, f, g, o): `z = [x, h] @ W + b`,
 * `c' = sigmoid(f) * c + sigmoid(i) * tanh(g)`, `h' = sigmoid(o) * tanh(c')`. `x` [N, in], `h` and
 * `c` [N, H], `W` [in + H, 4H], `b` [4H]. Returns `[h', c']`.
 */
export function lstmCell(x: Tensor, h: Tensor, c: Tensor, W: Tensor, b: Tensor): [Tensor, Tensor] {
  const H = h.shape[1];
  if (x.ndim !== 2 || h.ndim !== 2 || c.ndim !== 2 || h.shape[0] !== x.shape[0] || c.shape[0] !== x.shape[0] || c.shape[1] !== H) {
    throw new Error(`lstmCell: x [N, in], h and c [N, H] expected, got x [${x.shape.join(', ')}], h [${h.shape.join(', ')}], c [${c.shape.join(', ')}]`);
  }
  if (W.ndim !== 2 || W.shape[0] !== x.shape[1] + H || W.shape[1] !== 4 * H || b.ndim !== 1 || b.shape[0] !== 4 * H) {
    throw new Error(`lstmCell: W must be [${x.shape[1] + H}, ${4 * H}] and b [${4 * H}] for x [${x.shape.join(', ')}] and H = ${H}, got W [${W.shape.join(', ')}], b [${b.shape.join(', ')}]`);
  }
  const z = cat([x, h], 1).matmul(W).add(b);
  const i = z.slice(1, 0, H).sigmoid();
  const f = z.slice(1, H, 2 * H).sigmoid();
  const g = z.slice(1, 2 * H, 3 * H).tanh();
  const o = z.slice(1, 3 * H, 4 * H).sigmoid();
  const c2 = f.mul(c).add(i.mul(g));
  const h2 = o.mul(c2.tanh());
  return [h2, c2];
}

/** Total number of elements of `ts`. */
function coordinates(ts: readonly Tensor[]): number {
  return ts.reduce((n, t) => n + t.size, 0);
}

/**
 * The coordinate-wise LSTM optimizer (Andrychowicz et al. 2016). Its meta-parameters
 * ({@link LSTMOptimizer.parameters}) are, per layer l, `W_l` [in_l + H, 4H] and `b_l` [4H]
 * (`in_0` is 2 with preprocessing, else 1), then the output layer `Wout` [H, 1], `bout` [1];
 * PyTorch's LSTM initialisation U(-1/sqrt(H), 1/sqrt(H)) plus `forgetBias` on the forget gates.
 * Its state is `[h_1, c_1, h_2, c_2, ...]`, each [N, H] for the N coordinates of the optimizee
 * (all parameter tensors flattened and concatenated in order), zeros at the start.
 *
 * ```ts
 * const opt = new mg.meta.l2l.LSTMOptimizer();            // 2 x 20 units, preprocessing, scale 0.1
 * let state = opt.initState(params);
 * ({ params, state } = opt.step(params, grads, state, t)); // differentiable w.r.t. opt.parameters()
 * ```
 */
export class LSTMOptimizer implements UpdateRule {
  readonly name = 'lstm';
  readonly hidden: number;
  readonly layers: number;
  readonly preprocess: boolean;
  readonly p: number;
  readonly outputScale: number;
  readonly dtype: DType;
  /** The weights (leaves requiring grad, kept alive past tidy scopes), in {@link LSTMOptimizer.weightNames} order. */
  readonly weights: Tensor[];
  /** Names of the weights (`cell.0.weight`, `cell.0.bias`, ..., `out.weight`, `out.bias`), for checkpoints. */
  readonly weightNames: string[];

  constructor(opts: LSTMOptimizerOptions = {}) {
    const { hidden = 20, layers = 2, preprocess = true, p = 10, outputScale = 0.1, forgetBias = 1, dtype = 'float32' } = opts;
    if (!Number.isInteger(hidden) || hidden < 1) throw new Error(`LSTMOptimizer: hidden must be a positive integer, got ${hidden}`);
    if (!Number.isInteger(layers) || layers < 1) throw new Error(`LSTMOptimizer: layers must be a positive integer, got ${layers}`);
    if (!(p > 0)) throw new Error(`LSTMOptimizer: p must be positive, got ${p}`);
    if (!Number.isFinite(outputScale)) throw new Error(`LSTMOptimizer: outputScale must be a finite number, got ${outputScale}`);
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`LSTMOptimizer: dtype must be float32 or float64, got ${dtype}`);
    this.hidden = hidden;
    this.layers = layers;
    this.preprocess = preprocess;
    this.p = p;
    this.outputScale = outputScale;
    this.dtype = dtype;
    const k = 1 / Math.sqrt(hidden);
    const uniform = (shape: number[]) => tidy(() => rand(shape, { dtype }).mul(2 * k).sub(k));
    this.weights = [];
    this.weightNames = [];
    let inF = preprocess ? 2 : 1;
    for (let l = 0; l < layers; l++) {
      const W = uniform([inF + hidden, 4 * hidden]);
      const b0 = uniform([4 * hidden]);
      const bv = Float64Array.from(b0.data());
      b0.dispose();
      for (let j = hidden; j < 2 * hidden; j++) bv[j] += forgetBias;
      const b = tensor(bv, { shape: [4 * hidden], dtype });
      this.weights.push(W, b);
      this.weightNames.push(`cell.${l}.weight`, `cell.${l}.bias`);
      inF = hidden;
    }
    this.weights.push(uniform([hidden, 1]), uniform([1]));
    this.weightNames.push('out.weight', 'out.bias');
    for (const w of this.weights) keep(w.requiresGrad_());
  }

  parameters(): Tensor[] {
    return [...this.weights];
  }

  /** Zero hidden and cell states for the coordinates of `params`: `2 * layers` tensors [N, H]. */
  initState(params: readonly Tensor[]): Tensor[] {
    const N = coordinates(params);
    const dtype = params[0]?.dtype ?? this.dtype;
    const out: Tensor[] = [];
    for (let l = 0; l < 2 * this.layers; l++) out.push(zeros([N, this.hidden], { dtype }));
    return out;
  }

  /**
   * The LSTM's output for the flattened gradients `g` [N, 1] (before `outputScale`) and the new
   * states; `weights` as in {@link LSTMOptimizer.step}.
   */
  forward(g: Tensor, state: readonly Tensor[], weights: readonly Tensor[] = this.weights): { out: Tensor; state: Tensor[] } {
    if (weights.length !== 2 * this.layers + 2) throw new Error(`LSTMOptimizer: expected ${2 * this.layers + 2} weights, got ${weights.length}`);
    let x = this.preprocess ? preprocessGradient(g, this.p) : g;
    const next: Tensor[] = [];
    for (let l = 0; l < this.layers; l++) {
      const [h, c] = lstmCell(x, state[2 * l], state[2 * l + 1], weights[2 * l], weights[2 * l + 1]);
      next.push(h, c);
      x = h;
    }
    const out = x.matmul(weights[2 * this.layers]).add(weights[2 * this.layers + 1]);
    return { out, state: next };
  }

  /**
   * One update: every coordinate's gradient goes through the shared LSTM with that coordinate's
   * own states; `theta + outputScale * out`. Differentiable with respect to `weights` (default the
   * optimizer's own), the parameters, the gradients and the states.
   */
  step(params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[], _t = 0, weights: readonly Tensor[] = this.weights): RuleStep {
    checkStep('LSTMOptimizer', params, grads, state, 2 * this.layers);
    if (params.length === 0) return { params: [], state: [...state] };
    const N = coordinates(params);
    state.forEach((s, i) => {
      if (s.ndim !== 2 || s.shape[0] !== N || s.shape[1] !== this.hidden) {
        throw new Error(`LSTMOptimizer.step: state ${i} has shape [${s.shape.join(', ')}] but the parameters have ${N} coordinates (expected [${N}, ${this.hidden}])`);
      }
    });
    const flat = grads.length === 1 ? grads[0].reshape([N, 1]) : cat(grads.map((g) => g.reshape([g.size, 1])), 0);
    const { out, state: next } = this.forward(flat, state, weights);
    const update = out.mul(this.outputScale);
    let off = 0;
    const newParams = params.map((p) => {
      const u = params.length === 1 ? update : update.slice(0, off, off + p.size);
      off += p.size;
      return p.add(u.reshape(p.shape));
    });
    return { params: newParams, state: next };
  }

  /** The weights by name (the tensors themselves, not copies), for `mg.io.save`. */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.weightNames.map((n, i) => [n, this.weights[i]]));
  }

  /** Copies weights from `dict` (every name of {@link LSTMOptimizer.weightNames}, same shapes) in place. */
  loadStateDict(dict: ReadonlyMap<string, Tensor> | Record<string, Tensor>): void {
    loadWeights('LSTMOptimizer', this.weightNames, this.weights, dict);
  }

  /** Frees the weights. */
  dispose(): void {
    for (const w of this.weights) {
      w._kept = false;
      w.dispose();
    }
  }
}

/** @internal Copies named tensors into `weights` in place (under noGrad), checking names and shapes. */
export function loadWeights(what: string, names: readonly string[], weights: readonly Tensor[], dict: ReadonlyMap<string, Tensor> | Record<string, Tensor>): void {
  const get = (n: string) => (dict instanceof Map ? dict.get(n) : (dict as Record<string, Tensor>)[n]);
  names.forEach((n, i) => {
    const v = get(n);
    if (!(v instanceof Tensor)) throw new Error(`${what}.loadStateDict: missing weight '${n}'`);
    const w = weights[i];
    if (v.shape.length !== w.shape.length || v.shape.some((d, k) => d !== w.shape[k])) {
      throw new Error(`${what}.loadStateDict: '${n}' has shape [${v.shape.join(', ')}], expected [${w.shape.join(', ')}]`);
    }
    noGrad(() => copy_(w, v)); // casts to the weight's dtype
  });
}
