/**
 * Conjugate gradient over lists of tensors: solves `A x = b` for a symmetric positive-definite
 * operator given only as a matrix-vector product (a Hessian-vector product, for iMAML), with the
 * vector split across parameter tensors.
 */
import { tidy } from '../tensor/memory.js';
import { fmt, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

/** Options of {@link conjugateGradient}. */
export interface ConjugateGradientOptions {
  /** Iterations at most (each one product with A). Default 10. */
  maxIter?: number;
  /** Stop when ||b - A x|| <= tol * ||b||. Default 1e-10. */
  tol?: number;
  /** Starting point (default zeros). */
  x0?: readonly Tensor[];
}

/** What {@link conjugateGradient} returns. */
export interface ConjugateGradientResult {
  /** The solution estimate, shaped like `b` (new tensors; the caller owns them). */
  x: Tensor[];
  /** Products with A computed. */
  iterations: number;
  /** ||b - A x|| of the returned x (from the recurrence). */
  residualNorm: number;
  /** Whether the tolerance was met. */
  converged: boolean;
  /** Whether a search direction had p^T A p <= 0 (A is not positive definite there); CG stopped. */
  indefinite: boolean;
}

/** <a, b> over tensor lists, in double precision. */
function dot(a: readonly Tensor[], b: readonly Tensor[]): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += tidy(() => a[i].mul(b[i]).sum().item());
  return s;
}

/**
 * Solves `matvec(x) = b` by conjugate gradient (Hestenes and Stiefel), for a symmetric
 * positive-definite `matvec` over lists of tensors shaped like `b`. Runs graph-free work in tidy
 * scopes: only the returned `x` survives. In exact arithmetic it converges in at most n
 * iterations for n unknowns; it stops early at the tolerance, and stops (flagging `indefinite`)
 * if a direction of non-positive curvature shows up.
 *
 * ```ts
 * const A = mg.tensor([[4, 1], [1, 3]]);
 * const { x } = mg.meta.conjugateGradient(([v]) => [A.matmul(v)], [mg.tensor([1, 2])], { maxIter: 2 });
 * ```
 */
export function conjugateGradient(matvec: (v: Tensor[]) => readonly Tensor[], b: readonly Tensor[], opts: ConjugateGradientOptions = {}): ConjugateGradientResult {
  const { maxIter = 10, tol = 1e-10, x0 } = opts;
  if (typeof matvec !== 'function') throw new Error('conjugateGradient: matvec must be a function');
  if (!Array.isArray(b) || b.length === 0 || b.some((t) => !(t instanceof Tensor))) throw new Error('conjugateGradient: b must be a non-empty array of tensors');
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new Error(`conjugateGradient: maxIter must be a non-negative integer, got ${String(maxIter)}`);
  if (!(tol >= 0)) throw new Error(`conjugateGradient: tol must be >= 0, got ${String(tol)}`);
  if (x0 !== undefined) {
    if (x0.length !== b.length || x0.some((t, i) => !(t instanceof Tensor) || !sameShape(t.shape, b[i].shape))) {
      throw new Error(`conjugateGradient: x0 must match b's shapes ${b.map((t) => fmt(t.shape)).join(', ')}`);
    }
  }
  const checked = (v: Tensor[]): readonly Tensor[] => {
    const out = matvec(v);
    if (!Array.isArray(out) || out.length !== b.length || out.some((t, i) => !(t instanceof Tensor) || !sameShape(t.shape, b[i].shape))) {
      throw new Error(`conjugateGradient: matvec must return ${b.length} tensors shaped like b (${b.map((t) => fmt(t.shape)).join(', ')})`);
    }
    return out;
  };
  const bNorm = Math.sqrt(dot(b, b));
  let iterations = 0;
  // State: x, r = b - A x, p; each iteration replaces them and frees the old ones.
  let [x, r] = tidy(() => {
    if (x0 === undefined) return [b.map((t) => t.detach().mul(0)), b.map((t) => t.detach().clone())];
    const ax = checked(x0.map((t) => t.detach()));
    return [x0.map((t) => t.detach().clone()), b.map((t, i) => t.detach().sub(ax[i].detach()))];
  });
  if (x0 !== undefined) iterations++;
  let p = r.map((t) => t.clone());
  let rs = dot(r, r);
  let indefinite = false;
  const target = tol * bNorm;
  for (let k = 0; k < maxIter && Math.sqrt(rs) > target; k++) {
    const next = tidy(() => {
      const ap = checked(p).map((t) => t.detach());
      const pap = dot(p, ap);
      if (!(pap > 0)) return null;
      const alpha = rs / pap;
      const nx = x.map((t, i) => t.add(p[i].mul(alpha)));
      const nr = r.map((t, i) => t.sub(ap[i].mul(alpha)));
      const rsNew = dot(nr, nr);
      const np = nr.map((t, i) => t.add(p[i].mul(rsNew / rs)));
      return { nx, nr, np, rsNew };
    });
    iterations++;
    if (next === null) {
      indefinite = true;
      break;
    }
    for (const t of [...x, ...r, ...p]) t.dispose();
    x = next.nx;
    r = next.nr;
    p = next.np;
    rs = next.rsNew;
  }
  for (const t of [...r, ...p]) t.dispose();
  const residualNorm = Math.sqrt(rs);
  return { x, iterations, residualNorm, converged: residualNorm <= target, indefinite };
}
