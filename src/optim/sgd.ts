/** Stochastic gradient descent with momentum, dampening, Nesterov momentum and weight decay (torch.optim.SGD). */
import type { Tensor } from '../tensor/tensor.js';
import { checkNumber, Optimizer, type ParamGroup, type Params, type ParamState } from './optimizer.js';

/** Hyper-parameters of {@link SGD} (per group). */
export interface SGDOptions {
  /** Learning rate (required). */
  lr: number;
  /** Momentum factor mu. Default 0 (no momentum buffer). */
  momentum?: number;
  /** Dampening tau of the momentum: b = mu*b + (1-tau)*g. Default 0. */
  dampening?: number;
  /** L2 penalty added to the gradient: g += weightDecay*p. Default 0. */
  weightDecay?: number;
  /** Nesterov momentum: g = g + mu*b (needs momentum > 0 and dampening 0). Default false. */
  nesterov?: boolean;
  /** Ascend instead of descend (uses -g). Default false. */
  maximize?: boolean;
}

type SGDGroup = Required<SGDOptions>;

/**
 * SGD with PyTorch's exact update (torch.optim.SGD, 1.13+/2.x): with g the gradient (negated
 * when `maximize`), g += wd*p; with momentum, b = g at the first step and b = mu*b + (1-tau)*g
 * afterwards, then g = g + mu*b (Nesterov) or g = b; finally p -= lr*g, in place.
 * State per parameter: `momentumBuffer` (when momentum > 0).
 *
 * ```ts
 * const opt = new mg.optim.SGD(params, { lr: 0.1, momentum: 0.9 });
 * loss.backward(); opt.step(); opt.zeroGrad();
 * ```
 */
export class SGD extends Optimizer<SGDGroup> {
  /** @param params parameters, or groups `{ params, lr?, momentum?, ... }` overriding `opts` */
  constructor(params: Params<SGDOptions>, opts: SGDOptions) {
    if (opts === undefined || opts === null || typeof opts !== 'object') throw new Error('SGD: expected options { lr, ... }');
    super('SGD', params as Params<SGDGroup>, {
      lr: opts.lr,
      momentum: opts.momentum ?? 0,
      dampening: opts.dampening ?? 0,
      weightDecay: opts.weightDecay ?? 0,
      nesterov: opts.nesterov ?? false,
      maximize: opts.maximize ?? false,
    });
  }

  protected override validate(g: ParamGroup<SGDGroup>, i: number): void {
    const op = `SGD (group ${i})`;
    checkNumber(op, 'lr', g.lr);
    checkNumber(op, 'momentum', g.momentum);
    checkNumber(op, 'dampening', g.dampening, 0, 1, true);
    checkNumber(op, 'weightDecay', g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error(`${op}: Nesterov momentum requires momentum > 0 and dampening 0`);
  }

  protected override update(p: Tensor, grad: Tensor, group: ParamGroup<SGDGroup>, st: ParamState): void {
    const { lr, momentum: mu, dampening, weightDecay: wd, nesterov, maximize } = group;
    let g = maximize ? grad.neg() : grad;
    if (wd !== 0) g = g.add(p.mul(wd));
    let d = g;
    if (mu !== 0) {
      const prev = st.momentumBuffer as Tensor | undefined;
      // The first buffer is g itself: a copy when g is the caller's .grad (freed by zeroGrad).
      const buf = prev === undefined ? (g === grad ? g.clone() : g) : prev.mul(mu).add(dampening === 0 ? g : g.mul(1 - dampening));
      this.setState(st, 'momentumBuffer', buf);
      d = nesterov ? g.add(buf.mul(mu)) : buf;
    }
    p.copy_(p.sub(d.mul(lr)));
  }
}
