/** Adam, AMSGrad and AdamW (torch.optim.Adam / AdamW). */
import type { Tensor } from '../tensor/tensor.js';
import { checkNumber, Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Hyper-parameters of {@link Adam} and {@link AdamW} (per group). */
export interface AdamOptions {
  /** Learning rate. Default 1e-3. */
  lr?: number;
  /** Decay rates of the first and second moment estimates. Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Added to the denominator. Default 1e-8. */
  eps?: number;
  /** Adam: L2 penalty added to the gradient (default 0). AdamW: decoupled decay p *= 1 - lr*wd (default 1e-2). */
  weightDecay?: number;
  /** Use the maximum of the second-moment estimates so far (AMSGrad). Default false. */
  amsgrad?: boolean;
  /** Ascend instead of descend (uses -g). Default false. */
  maximize?: boolean;
}

type AdamGroup = { lr: number; betas: [number, number]; eps: number; weightDecay: number; amsgrad: boolean; maximize: boolean };

abstract class AdamBase extends Optimizer<AdamGroup> {
  protected abstract readonly decoupled: boolean;

  protected override validate(g: ParamGroup<AdamGroup>, i: number): void {
    const op = `${this.name} (group ${i})`;
    checkNumber(op, 'lr', g.lr);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw new Error(`${op}: betas must be a pair [beta1, beta2], got ${String(g.betas)}`);
    checkNumber(op, 'betas[0]', g.betas[0], 0, 1);
    checkNumber(op, 'betas[1]', g.betas[1], 0, 1);
    checkNumber(op, 'eps', g.eps);
    checkNumber(op, 'weightDecay', g.weightDecay);
  }

  /**
   * PyTorch's single-tensor Adam: m = b1*m + (1-b1)*g, v = b2*v + (1-b2)*g^2 (vmax = max(vmax, v)
   * with amsgrad), p -= (lr/(1-b1^t)) * m / (sqrt(v)/sqrt(1-b2^t) + eps). Computed as
   * p - (lr*c/bc1) * m / (sqrt(v) + eps*c) with c = sqrt(1-b2^t): the same value, one op fewer.
   * The first step starts from zero moments, so m = (1-b1)*g and v = (1-b2)*g^2 directly.
   */
  protected override update(p: Tensor, grad: Tensor, group: ParamGroup<AdamGroup>, st: ParamState): void {
    const { lr, betas, eps, weightDecay: wd, amsgrad, maximize } = group;
    const [b1, b2] = betas;
    let g = maximize ? grad.neg() : grad;
    let base: Tensor = p;
    if (wd !== 0) {
      if (this.decoupled) base = p.mul(1 - lr * wd);
      else g = g.add(p.mul(wd));
    }
    const t = ((st.step as number | undefined) ?? 0) + 1;
    st.step = t;
    const m0 = st.expAvg as Tensor | undefined;
    const v0 = st.expAvgSq as Tensor | undefined;
    const g2 = g.square();
    const m = m0 === undefined ? g.mul(1 - b1) : m0.mul(b1).add(g.mul(1 - b1));
    const v = v0 === undefined ? g2.mul(1 - b2) : v0.mul(b2).add(g2.mul(1 - b2));
    this.setState(st, 'expAvg', m);
    this.setState(st, 'expAvgSq', v);
    let vd = v;
    if (amsgrad) {
      const prev = st.maxExpAvgSq as Tensor | undefined;
      vd = prev === undefined ? v.clone() : prev.maximum(v);
      this.setState(st, 'maxExpAvgSq', vd);
    }
    const bc1 = 1 - b1 ** t;
    const c = Math.sqrt(1 - b2 ** t);
    p.copy_(base.sub(m.div(vd.sqrt().add(eps * c)).mul((lr * c) / bc1)));
  }
}

/**
 * Adam (torch.optim.Adam, 1.13+/2.x) with bias correction, optional L2 weight decay added to the
 * gradient, AMSGrad and maximize. Updates in place under noGrad. State per parameter: `step`,
 * `expAvg`, `expAvgSq` (and `maxExpAvgSq` with amsgrad).
 *
 * ```ts
 * const opt = new mg.optim.Adam(params, { lr: 1e-3 });
 * ```
 */
export class Adam extends AdamBase {
  protected readonly decoupled = false;
  /** @param params parameters, or groups `{ params, lr?, betas?, ... }` overriding `opts` */
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super('Adam', params as Params<AdamGroup>, defaults(opts, 0));
  }
}

/**
 * AdamW (torch.optim.AdamW): Adam with decoupled weight decay, p *= 1 - lr*wd before the Adam
 * step (default weightDecay 1e-2). Same options and state as {@link Adam}.
 */
export class AdamW extends AdamBase {
  protected readonly decoupled = true;
  /** @param params parameters, or groups `{ params, lr?, betas?, ... }` overriding `opts` */
  constructor(params: Params<AdamOptions>, opts: AdamOptions = {}) {
    super('AdamW', params as Params<AdamGroup>, defaults(opts, 1e-2));
  }
}

function defaults(o: AdamOptions, wd: number): AdamGroup {
  if (o === null || typeof o !== 'object') throw new Error('Adam: options must be an object');
  return {
    lr: o.lr ?? 1e-3,
    betas: o.betas ? [o.betas[0], o.betas[1]] : [0.9, 0.999],
    eps: o.eps ?? 1e-8,
    weightDecay: o.weightDecay ?? wd,
    amsgrad: o.amsgrad ?? false,
    maximize: o.maximize ?? false,
  };
}
