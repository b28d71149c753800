/**
 * Batch normalisation on batch statistics as three fused primitives, with derivative rules written
 * in the same primitives (plus cheap per-channel ops), so gradients of any order stay fused.
 * For x [N, C, ...] and each channel (statistics over its m = N * prod(spatial) values):
 *   mean, var (biased), r = 1 / sqrt(var + eps), xhat = (x - mean) * r, and P the projection
 *   P u = u - mean(u) - xhat * mean(u * xhat).
 * - {@link batchNormTrain}(x, gamma, beta) = xhat * gamma + beta
 * - {@link batchNormBackward}(u, x, gamma) = gamma * r * P u: the vjp (and, P being symmetric, the
 *   jvp) of batchNormTrain in x
 * - {@link batchNormWeightGrad}(dy, x) = sum(dy * xhat) per channel: the vjp in gamma.
 * Second-order rules. With d xhat = r P dx (the Jacobian of xhat is r P, symmetric),
 * for B(u, x, g) = g r P u and cotangent v, with per-channel scalars Q = sum(v r P u),
 * Bv = sum(v xhat), Cu = sum(u xhat), s = -r / m:
 *   d/du = B(v, x, g),  d/dg = Q,
 *   d/dx = xhat * (g Q s) + B(u, x, g Bv s) + B(v, x, g Cu s).
 * Derived by differentiating <v, g r P u> through r (dr/dx = -r^2 xhat / m) and xhat; the tests
 * check every rule against finite differences in float64, to second order.
 */
import { A, exec, header, reserve } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { needsRecord, record } from '../autograd/record.js';
import { add, addOrNull, mul, pow, sub, square } from './elementwise.js';
import { expand, reshape } from './movement.js';
import { mean, sum } from './reduce.js';

function axesOf(x: Tensor): number[] {
  return [0, ...Array.from({ length: x.ndim - 2 }, (_, i) => i + 2)];
}

function checkInput(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: input must be a tensor, got ${String(x)}`);
  if (x.dtype === 'int32') throw new Error(`${op}: input ${fmt(x.shape)} must be float32 or float64, got int32`);
  if (x.ndim < 2) throw new Error(`${op}: input must be [N, C, ...], got ${fmt(x.shape)}`);
  if (x.size / x.shape[1] <= 1 && x.size > 0) {
    throw new Error(`${op}: batch statistics need more than one value per channel, got input ${fmt(x.shape)}`);
  }
}

function checkLike(op: string, what: string, t: unknown, x: Tensor): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor, got ${String(t)}`);
  if (t.dtype !== x.dtype || t.device !== x.device || t.ndim !== x.ndim || t.shape.some((d, i) => d !== x.shape[i])) {
    throw new Error(`${op}: ${what} ${t.dtype} ${fmt(t.shape)} on ${t.device} must match input ${x.dtype} ${fmt(x.shape)} on ${x.device}`);
  }
}

function checkChannel(op: string, what: string, t: Tensor | null | undefined, x: Tensor): Tensor | null {
  if (t === null || t === undefined) return null;
  if (!(t instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor or null, got ${String(t)}`);
  const C = x.shape[1];
  if (t.ndim !== 1 || t.shape[0] !== C || t.dtype !== x.dtype || t.device !== x.device) {
    throw new Error(`${op}: ${what} ${t.dtype} ${fmt(t.shape)} must be a [${C}] ${x.dtype} tensor on ${x.device} for input ${fmt(x.shape)}`);
  }
  return t;
}

function checkEps(op: string, eps: number): void {
  if (typeof eps !== 'number' || !(eps >= 0) || !Number.isFinite(eps)) throw new Error(`${op}: eps must be a finite number >= 0, got ${String(eps)}`);
}

/** a * b for per-channel factors where either may be absent (null = 1). */
function times(a: Tensor | null, b: Tensor): Tensor {
  return a === null ? b : mul(a, b);
}


/** Per-channel r = 1 / sqrt(var + eps) in differentiable ops ([C]). */
function rstd(x: Tensor, eps: number): Tensor {
  const axes = axesOf(x);
  return pow(add(mean(square(sub(x, mean(x, axes, true))), axes), eps), -0.5);
}

/** [C] -> broadcast over x's shape. */
function perChannel(t: Tensor, x: Tensor): Tensor {
  return expand(reshape(t, [1, x.shape[1], ...new Array(x.ndim - 2).fill(1)]), x.shape);
}

/**
 * Batch normalisation of `x` [N, C, ...] with its own batch statistics (biased variance), then the
 * per-channel affine map: `xhat * weight + bias` (weight, bias [C] or null). One fused kernel; its
 * derivatives are the fused {@link batchNormBackward} and {@link batchNormWeightGrad}, to any order.
 */
export function batchNormTrain(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const op = 'batchNorm';
  checkInput(op, x);
  const w = checkChannel(op, 'weight', weight, x);
  const b = checkChannel(op, 'bias', bias, x);
  checkEps(op, eps);
  const at = header(x.dtype, x.device, x.shape);
  reserve(op, at, 1);
  A[at] = eps;
  const y = new Tensor(exec(Op.BATCH_NORM, x.handle(op), w ? w.handle(op) : null, b ? b.handle(op) : null), x.shape, x.dtype, x.device);
  if (needsRecord(x, w, b)) {
    record(
      y,
      op,
      [x, w, b],
      (gy, n) => [
        n[0] ? batchNormBackward(gy, x, w, eps) : null,
        n[1] ? batchNormWeightGrad(gy, x, eps) : null,
        n[2] ? sum(gy, axesOf(x)) : null,
      ],
      ([tx, tw, tb]) =>
        addOrNull(
          tx && batchNormBackward(tx, x, w, eps),
          tw ? batchNormTrain(x, tw, tb, eps) : tb && perChannel(tb, x),
        ),
    );
  }
  return y;
}

/**
 * `weight * r * (u - mean(u) - xhat * mean(u * xhat))` per channel of `x` (shape [N, C, ...]), the gradient
 * of {@link batchNormTrain} with respect to `x` for the output gradient `u` (same shape as x).
 */
export function batchNormBackward(u: Tensor, x: Tensor, weight: Tensor | null = null, eps = 1e-5): Tensor {
  const op = 'batchNormBackward';
  checkInput(op, x);
  checkLike(op, 'gradOut', u, x);
  const w = checkChannel(op, 'weight', weight, x);
  checkEps(op, eps);
  const at = header(x.dtype, x.device, x.shape);
  reserve(op, at, 1);
  A[at] = eps;
  const dx = new Tensor(exec(Op.BATCH_NORM_BACKWARD, u.handle(op), x.handle(op), w ? w.handle(op) : null), x.shape, x.dtype, x.device);
  if (needsRecord(u, x, w)) {
    const m = x.size / x.shape[1];
    const axes = axesOf(x);
    record(
      dx,
      op,
      [u, x, w],
      (v, n) => {
        // Q = sum(v * r P u) per channel, shared by the weight and x rules.
        const q = n[1] || n[2] ? sum(mul(v, batchNormBackward(u, x, null, eps)), axes) : null;
        let gx: Tensor | null = null;
        if (n[1]) {
          const s = mul(rstd(x, eps), -1 / m);
          const bv = batchNormWeightGrad(v, x, eps);
          const cu = batchNormWeightGrad(u, x, eps);
          gx = add(
            add(batchNormTrain(x, times(w, mul(q as Tensor, s)), null, eps), batchNormBackward(u, x, times(w, mul(bv, s)), eps)),
            batchNormBackward(v, x, times(w, mul(cu, s)), eps),
          );
        }
        return [n[0] ? batchNormBackward(v, x, w, eps) : null, gx, n[2] ? q : null];
      },
      ([tu, tx, tw]) => {
        let t = addOrNull(tu && batchNormBackward(tu, x, w, eps), tw && batchNormBackward(u, x, tw, eps));
        if (tx) {
          // The transpose of the x rule above: with Sxt = sum(xhat tx), Cu = sum(u xhat),
          // Z = sum(tx r P u): B(u, x, g Sxt s) + B(tx, x, g Cu s) + xhat * (g Z s).
          const s = mul(rstd(x, eps), -1 / m);
          const sxt = batchNormWeightGrad(tx, x, eps);
          const cu = batchNormWeightGrad(u, x, eps);
          const z = sum(mul(tx, batchNormBackward(u, x, null, eps)), axes);
          const jx = add(
            add(batchNormBackward(u, x, times(w, mul(sxt, s)), eps), batchNormBackward(tx, x, times(w, mul(cu, s)), eps)),
            batchNormTrain(x, times(w, mul(z, s)), null, eps),
          );
          t = addOrNull(t, jx);
        }
        return t;
      },
    );
  }
  return dx;
}

/**
 * `sum(dy * xhat)` per channel (shape [C]) for `dy` and `x` (shape [N, C, ...]), the gradient of
 * {@link batchNormTrain} with respect to its weight.
 */
export function batchNormWeightGrad(dy: Tensor, x: Tensor, eps = 1e-5): Tensor {
  const op = 'batchNormWeightGrad';
  checkInput(op, x);
  checkLike(op, 'gradOut', dy, x);
  checkEps(op, eps);
  const C = x.shape[1];
  const at = header(x.dtype, x.device, [C]);
  reserve(op, at, 1);
  A[at] = eps;
  const gw = new Tensor(exec(Op.BATCH_NORM_GAMMA_GRAD, dy.handle(op), x.handle(op)), [C], x.dtype, x.device);
  if (needsRecord(dy, x)) {
    const axes = axesOf(x);
    record(
      gw,
      op,
      [dy, x],
      (w, n) => [n[0] ? batchNormTrain(x, w, null, eps) : null, n[1] ? batchNormBackward(dy, x, w, eps) : null],
      ([tdy, tx]) => addOrNull(tdy && batchNormWeightGrad(tdy, x, eps), tx && sum(mul(tx, batchNormBackward(dy, x, null, eps)), axes)),
    );
  }
  return gw;
}
