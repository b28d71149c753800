/** Gradient clipping over the `.grad` of a list of parameters (torch.nn.utils.clip_grad_norm_ / clip_grad_value_). */
import { noGrad } from '../autograd/engine.js';
import { tidy } from '../tensor/memory.js';
import { keep, Tensor } from '../tensor/tensor.js';
import { drop } from './optimizer.js';

function gradsOf(op: string, params: Tensor | readonly Tensor[]): Tensor[] {
  const ps = params instanceof Tensor ? [params] : params;
  if (!Array.isArray(ps)) throw new Error(`${op}: expected a tensor or a list of tensors`);
  ps.forEach((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${op}: parameter ${i} is not a tensor`);
  });
  return ps;
}

/**
 * Replaces each `.grad` by `f(.grad)` (tensors are immutable: the scaled gradient is a new tensor
 * and the old one is freed). A gradient object shared by several parameters is mapped once.
 */
function mapGrads(ps: readonly Tensor[], f: (g: Tensor) => Tensor): void {
  const done = new Map<Tensor, Tensor>();
  noGrad(() => {
    for (const p of ps) {
      const g = p.grad;
      if (g === null) continue;
      let n = done.get(g);
      if (n === undefined) {
        n = keep(tidy(() => f(g)));
        done.set(g, n);
      }
      p.grad = n;
    }
  });
  for (const g of done.keys()) drop(g);
}

/** Options of {@link clipGradNorm}. */
export interface ClipGradNormOptions {
  /** The p of the p-norm: a positive number or Infinity. Default 2. */
  normType?: number;
  /** Throw if the total norm is NaN or infinite (PyTorch's error_if_nonfinite). Default false. */
  errorIfNonfinite?: boolean;
}

/**
 * Scales the gradients of `params` so that their total norm (the p-norm of all gradient elements
 * together, as if concatenated) is at most `maxNorm`: each `.grad` is multiplied by
 * min(1, maxNorm/(totalNorm + 1e-6)), like torch.nn.utils.clip_grad_norm_. Parameters without a
 * gradient are ignored. Returns the total norm before clipping (0 when no parameter has a gradient).
 * The scaled gradients are new tensors put in `.grad` (the old ones are freed).
 */
export function clipGradNorm(params: Tensor | readonly Tensor[], maxNorm: number, opts: ClipGradNormOptions = {}): number {
  const op = 'clipGradNorm';
  const ps = gradsOf(op, params);
  const normType = opts.normType ?? 2;
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0) throw new Error(`${op}: maxNorm must be a number >= 0, got ${String(maxNorm)}`);
  if (typeof normType !== 'number' || !(normType > 0)) throw new Error(`${op}: normType must be a positive number or Infinity, got ${String(normType)}`);
  const grads = ps.map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) return 0;
  let total = 0;
  noGrad(() =>
    tidy(() => {
      for (const g of grads) {
        if (g.size === 0) continue;
        if (normType === Infinity) total = Math.max(total, g.abs().max().item());
        else if (normType === 2) total += g.square().sum().item();
        else if (normType === 1) total += g.abs().sum().item();
        else total += g.abs().pow(normType).sum().item();
      }
    }),
  );
  if (normType !== Infinity) total = normType === 2 ? Math.sqrt(total) : normType === 1 ? total : total ** (1 / normType);
  if (opts.errorIfNonfinite && !Number.isFinite(total)) throw new Error(`${op}: the total norm of order ${normType} of the gradients is ${total}`);
  const coef = maxNorm / (total + 1e-6);
  if (coef < 1 || Number.isNaN(coef)) mapGrads(ps, (g) => g.mul(coef));
  return total;
}

/**
 * Clamps every gradient element of `params` to [-clipValue, clipValue] (torch.nn.utils.clip_grad_value_).
 * The clamped gradients are new tensors put in `.grad` (the old ones are freed).
 */
export function clipGradValue(params: Tensor | readonly Tensor[], clipValue: number): void {
  const op = 'clipGradValue';
  const ps = gradsOf(op, params);
  if (typeof clipValue !== 'number' || !(clipValue >= 0)) throw new Error(`${op}: clipValue must be a number >= 0, got ${String(clipValue)}`);
  mapGrads(ps, (g) => g.clamp(-clipValue, clipValue));
}
