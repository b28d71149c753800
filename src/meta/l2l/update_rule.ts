/**
 * The update-rule interface shared by the learned optimizers (the coordinate-wise LSTM, the
 * learned hyper-parameters) and the hand-designed baselines they are compared with (SGD, SGD with
 * momentum, Adam), written as pure functions of tensors so that an unroll of the optimizee's
 * training is one differentiable computation (Note [Unroll] in unroll.ts).
 *
 * Parameters of the optimizee carry a leading instance dimension B (a batch of independent
 * optimizees, see optimizees.ts); every rule here works elementwise or coordinate-wise, so the
 * instances never interact.
 */
import { zerosLike } from '../../tensor/creation.js';
import type { Tensor } from '../../tensor/tensor.js';

/** The result of one {@link UpdateRule.step}. */
export interface RuleStep {
  /** The updated optimizee parameters, shaped like the input ones. */
  params: Tensor[];
  /** The rule's new state (same layout as {@link UpdateRule.initState}). */
  state: Tensor[];
}

/**
 * An optimizer as a pure function: `step(params, grads, state, t)` returns the next parameters
 * and state and mutates nothing, so it can be recorded on the tape, recomputed under
 * `mg.checkpoint`, and differentiated with respect to its meta-parameters (its `weights`).
 */
export interface UpdateRule {
  /** A short name (`'lstm'`, `'hparams'`, `'sgd'`, `'momentum'`, `'adam'`). */
  readonly name: string;
  /** The meta-parameters meta-training learns (leaves requiring grad); empty for hand-designed rules. */
  parameters(): Tensor[];
  /** The rule's initial state for optimizee parameters `params` (momentum buffers, LSTM states...). */
  initState(params: readonly Tensor[]): Tensor[];
  /**
   * One update at step `t` (0-based; Adam's bias correction uses it) from the parameters, their
   * gradients and the state. `weights` replaces `parameters()` (the unroll passes the aliases
   * `mg.checkpoint` gives it); it must draw no random numbers.
   */
  step(params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[], t: number, weights?: readonly Tensor[]): RuleStep;
}

function checkLr(what: string, lr: number): void {
  if (!(Number.isFinite(lr) && lr > 0)) throw new Error(`${what}: lr must be a positive number, got ${lr}`);
}

/** @internal Checks that `grads` and `state` match `params` in count and shape. */
export function checkStep(what: string, params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[], stateCount: number): void {
  if (grads.length !== params.length) throw new Error(`${what}.step: got ${grads.length} gradients for ${params.length} parameters`);
  if (state.length !== stateCount) throw new Error(`${what}.step: expected ${stateCount} state tensors, got ${state.length}`);
  params.forEach((p, i) => {
    const g = grads[i];
    if (g.shape.length !== p.shape.length || g.shape.some((d, k) => d !== p.shape[k])) {
      throw new Error(`${what}.step: gradient ${i} has shape [${g.shape.join(', ')}] but parameter ${i} has [${p.shape.join(', ')}]`);
    }
  });
}

/** Plain gradient descent, `p - lr * g`. */
export class SGDRule implements UpdateRule {
  readonly name = 'sgd';
  constructor(readonly lr: number) {
    checkLr('SGDRule', lr);
  }
  parameters(): Tensor[] {
    return [];
  }
  initState(): Tensor[] {
    return [];
  }
  step(params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[]): RuleStep {
    checkStep('SGDRule', params, grads, state, 0);
    return { params: params.map((p, i) => p.sub(grads[i].mul(this.lr))), state: [] };
  }
}

/** SGD with heavy-ball momentum as in `torch.optim.SGD` (dampening 0): `v = mu v + g`, `p - lr v`. */
export class MomentumRule implements UpdateRule {
  readonly name = 'momentum';
  constructor(
    readonly lr: number,
    readonly momentum = 0.9,
  ) {
    checkLr('MomentumRule', lr);
    if (!(momentum >= 0 && momentum < 1)) throw new Error(`MomentumRule: momentum must be in [0, 1), got ${momentum}`);
  }
  parameters(): Tensor[] {
    return [];
  }
  initState(params: readonly Tensor[]): Tensor[] {
    return params.map((p) => zerosLike(p));
  }
  step(params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[]): RuleStep {
    checkStep('MomentumRule', params, grads, state, params.length);
    const v = state.map((b, i) => b.mul(this.momentum).add(grads[i]));
    return { params: params.map((p, i) => p.sub(v[i].mul(this.lr))), state: v };
  }
}

/** Adam (`torch.optim.Adam`'s update, no weight decay). State: the two moment estimates per parameter. */
export class AdamRule implements UpdateRule {
  readonly name = 'adam';
  constructor(
    readonly lr: number,
    readonly betas: readonly [number, number] = [0.9, 0.999],
    readonly eps = 1e-8,
  ) {
    checkLr('AdamRule', lr);
    if (!(betas[0] >= 0 && betas[0] < 1 && betas[1] >= 0 && betas[1] < 1)) throw new Error(`AdamRule: betas must be in [0, 1), got [${betas.join(', ')}]`);
  }
  parameters(): Tensor[] {
    return [];
  }
  initState(params: readonly Tensor[]): Tensor[] {
    return [...params.map((p) => zerosLike(p)), ...params.map((p) => zerosLike(p))];
  }
  step(params: readonly Tensor[], grads: readonly Tensor[], state: readonly Tensor[], t: number): RuleStep {
    checkStep('AdamRule', params, grads, state, 2 * params.length);
    const n = params.length;
    const [b1, b2] = this.betas;
    const k = t + 1;
    const bc1 = 1 - b1 ** k;
    const bc2 = 1 - b2 ** k;
    const m = grads.map((g, i) => state[i].mul(b1).add(g.mul(1 - b1)));
    const v = grads.map((g, i) => state[n + i].mul(b2).add(g.square().mul(1 - b2)));
    const next = params.map((p, i) => p.sub(m[i].div(v[i].div(bc2).sqrt().add(this.eps)).mul(this.lr / bc1)));
    return { params: next, state: [...m, ...v] };
  }
}

/** A hand-designed rule by name with learning rate `lr` (momentum 0.9; Adam's default betas). */
export function handRule(name: 'sgd' | 'momentum' | 'adam', lr: number): UpdateRule {
  switch (name) {
    case 'sgd':
      return new SGDRule(lr);
    case 'momentum':
      return new MomentumRule(lr, 0.9);
    case 'adam':
      return new AdamRule(lr);
    default:
      throw new Error(`handRule: unknown rule '${String(name)}' (expected sgd, momentum or adam)`);
  }
}
