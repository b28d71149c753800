// Second derivatives of the nn rows, checked without gradgradcheck: in this tree gradgradcheck
// evaluates its numerical Jacobian under noGrad, where the inner vjp returns zeros, and `cat`
// records no rule, so its analytical side is zeros too (see the ag-nn report). Here
//   s(xs, v) = sum_i <vjp(f, xs)(v)_i, w_i>
// (random v, w) is differentiated by reverse-over-reverse (valueAndGrad of s) and by
// forward-over-reverse (jvp of s along random directions), against central differences of s
// evaluated with grad mode on. Differentiating with respect to v too checks the vjp rules of
// the gradient kernels (conv2dInputGrad, maxPool2dBackward, ...) as functions of their cotangent.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { prng } from '../helpers.js';
import type { OpCase } from './cases/types.js';
import { nnCases } from './cases/nn.js';

function randomLike(t: mg.Tensor, seed: number): mg.Tensor {
  const r = prng(seed);
  return mg.tensor(Float64Array.from({ length: t.size }, () => r() * 2 - 1), { shape: t.shape, dtype: 'float64' });
}

/** s(...xs, v) = sum_i <vjp(f, xs)(v)_i, w_i>: a scalar whose gradient holds f's second derivatives. */
function secondOrderScalar(f: OpCase['fn'], ws: mg.Tensor[]) {
  return (...args: mg.Tensor[]): mg.Tensor => {
    const n = ws.length;
    const [, back] = mg.vjp(f, args.slice(0, n));
    const gs = back(args[n]);
    let acc: mg.Tensor | null = null;
    gs.forEach((g, i) => {
      const d = mg.sum(mg.mul(g, ws[i]));
      acc = acc === null ? d : mg.add(acc, d);
    });
    return acc!;
  };
}

function check(c: OpCase): void {
  const xs = c.inputs();
  const y = mg.noGrad(() => c.fn(...xs));
  const v = randomLike(y, 11);
  const ws = xs.map((x, i) => randomLike(x, 20 + i));
  const s = secondOrderScalar(c.fn, ws);
  const args = [...xs, v];
  const eps = 1e-6;
  const atol = c.atol ?? 1e-5;
  const rtol = c.rtol ?? 1e-3;
  // Numerical gradient of s (grad mode on: s runs a backward pass inside).
  const num = args.map((a, i) => {
    const base = Float64Array.from(a.data());
    return Float64Array.from(base, (_, j) => {
      const at = (delta: number) => {
        const d = base.slice();
        d[j] += delta;
        const as = args.slice();
        as[i] = mg.tensor(d, { shape: a.shape, dtype: 'float64' });
        return s(...as).item();
      };
      return (at(eps) - at(-eps)) / (2 * eps);
    });
  });
  const problems: string[] = [];
  // Reverse over reverse.
  const [, rev] = mg.valueAndGrad(s)(...args);
  rev.forEach((g, i) => {
    const an = g.data();
    num[i].forEach((b, j) => {
      if (!(Math.abs(an[j] - b) <= atol + rtol * Math.abs(b))) problems.push(`rev-rev d s / d arg${i}[${j}] = ${an[j]}, numerical ${b}`);
    });
  });
  // Forward over reverse, along two random directions.
  for (const seed of [31, 47]) {
    const ts = args.map((a, i) => randomLike(a, seed + i));
    const [, jt] = mg.jvp(s, args, ts);
    let expected = 0;
    ts.forEach((t, i) => t.data().forEach((tv, j) => (expected += tv * num[i][j])));
    const got = jt.item();
    if (!(Math.abs(got - expected) <= atol * 10 + rtol * Math.abs(expected))) problems.push(`fwd-rev along seed ${seed}: ${got}, numerical ${expected}`);
  }
  // The check must be able to fail: some second derivative must be nonzero.
  expect(num.some((col) => col.some((b) => Math.abs(b) > 1e-8))).toBe(true);
  if (problems.length) throw new Error(`${c.name}: ${problems.length} second derivatives differ:\n  ${problems.slice(0, 10).join('\n  ')}`);
}

describe('nn second derivatives (reverse-over-reverse and forward-over-reverse)', () => {
  for (const c of nnCases) {
    test.skipIf(c.firstOrderOnly)(c.name, () => check(c));
  }
});
