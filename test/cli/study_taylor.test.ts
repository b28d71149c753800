// The taylor study's machinery (src/cli/studies/taylor.ts) on finite task families enumerated
// exactly: every ordered tuple of K minibatches (drawn independently, with replacement) of every
// task is one draw, so the means over draws ARE the expectations and Nichol et al.'s leading-order
// coefficients must come out exactly:
// - on linear regressions (a quadratic loss) the updates are polynomials in alpha, so the fit of
//   the coefficient as alpha -> 0 from finite alphas is exact too;
// - on a tanh MLP the exact alpha-derivative (Hessian-vector products) is exact, the fit
//   from finite alphas is close, and the remainder shrinks like alpha^2.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { analyzeTaylor, paperCoefficients, TaylorLayout, taylorChunkSums, TAYLOR_ALGS, type TaylorDraws } from '../../src/cli/studies/taylor.js';
import { prng } from '../helpers.js';

const TASKS = 3;
const N = 3; // minibatches per task
const M = 4; // points per minibatch
const D = 2; // input features
const K = 3; // inner steps (minibatches per draw)

/** All N^K ordered tuples of every task's minibatches, as batched draws. */
function family(kind: 'linear' | 'tanh'): TaylorDraws {
  const r = prng(11);
  const nrm = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const X: number[][][][] = [];
  const Y: number[][][] = [];
  for (let t = 0; t < TASKS; t++) {
    const w = Array.from({ length: D }, nrm);
    X.push([]);
    Y.push([]);
    for (let n = 0; n < N; n++) {
      const xs = Array.from({ length: M }, () => Array.from({ length: D }, nrm));
      X[t].push(xs);
      Y[t].push(xs.map((x) => {
        const z = x.reduce((s, v, i) => s + v * w[i], 0);
        return (kind === 'tanh' ? Math.tanh(z) : z) + 0.1 * nrm();
      }));
    }
  }
  const tuples: [number, number[]][] = [];
  for (let t = 0; t < TASKS; t++) {
    for (let c = 0; c < N ** K; c++) tuples.push([t, Array.from({ length: K }, (_, i) => Math.floor(c / N ** i) % N)]);
  }
  const T = tuples.length;
  const x: mg.Tensor[] = [];
  const y: mg.Tensor[] = [];
  for (let i = 0; i < K; i++) {
    x.push(mg.tensor(Float64Array.from(tuples.flatMap(([t, b]) => X[t][b[i]].flat())), { shape: [T, M, D], dtype: 'float64' }));
    y.push(mg.tensor(Float64Array.from(tuples.flatMap(([t, b]) => Y[t][b[i]])), { shape: [T, M, 1], dtype: 'float64' }));
  }
  return { x, y };
}

const f64 = (v: number[], shape: number[]) => mg.tensor(Float64Array.from(v), { shape, dtype: 'float64' });

describe('taylor on a quadratic family (linear regression), enumerated exactly', () => {
  const alphas = [0.04, 0.02, 0.01, 0.005, 0.0025];
  const theta = [f64([0.3, -0.5], [1, D]), f64([0.2], [1])];
  const draws = family('linear');
  const before = mg.memory().tensors;
  const sums = taylorChunkSums(theta, draws, alphas, 'tanh');
  const leaked = mg.memory().tensors - before;
  const layout = new TaylorLayout(3, K, alphas.length);
  // The updates are polynomials of degree <= 2(K-1) in alpha, so b(alpha) = (E[g(alpha)] - E[g(0)]) / alpha
  // has degree <= 2K - 3 = 3: a cubic fit recovers its intercept exactly.
  const { fits, avgGradNorm, avgGradInnerNorm } = analyzeTaylor([sums], [draws.x[0].shape[0]], layout, alphas, 3);

  test('the chunk computation frees everything it makes', () => {
    expect(leaked).toBe(0);
  });

  test('the directions are not degenerate', () => {
    expect(avgGradNorm).toBeGreaterThan(0.1);
    expect(avgGradInnerNorm).toBeGreaterThan(0.1);
  });

  test.each(TAYLOR_ALGS.flatMap((alg) => [2, 3].map((k) => [alg, k] as const)))('%s, k = %i: the paper coefficients, exactly', (alg, k) => {
    const f = fits.find((x) => x.alg === alg && x.k === k)!;
    const [pa, pb] = paperCoefficients(alg, k);
    expect(f.a).toBeCloseTo(pa, 10);
    expect(f.bHvp).toBeCloseTo(pb, 10);
    expect(f.bFit).toBeCloseTo(pb, 7);
    expect(f.orth).toBeLessThan(1e-9);
  });

  test('the paper forms are what the test says', () => {
    expect(paperCoefficients('maml', 5)).toEqual([1, -8]);
    expect(paperCoefficients('fomaml', 5)).toEqual([1, -4]);
    expect(paperCoefficients('reptile', 5)).toEqual([5, -10]);
  });
});

describe('taylor on a tanh MLP family, enumerated exactly', () => {
  const alphas = [0.02, 0.01, 0.005, 0.0025];
  // A D-3-1 tanh network (not quadratic in its parameters).
  const theta = [f64([0.4, -0.3, 0.8, 0.5, -0.6, 0.2], [3, D]), f64([0.1, -0.2, 0.05], [3]), f64([0.7, -0.5, 0.9], [1, 3]), f64([0.1], [1])];
  const draws = family('tanh');
  const T = draws.x[0].shape[0];
  // Two chunks (the jackknife needs groups): the first and second halves of the draws.
  const half = (ts: mg.Tensor[], lo: number, hi: number) => ts.map((t) => t.slice(0, lo, hi));
  const h = Math.floor(T / 2);
  const groups = [
    taylorChunkSums(theta, { x: half(draws.x, 0, h), y: half(draws.y, 0, h) }, alphas, 'tanh'),
    taylorChunkSums(theta, { x: half(draws.x, h, T), y: half(draws.y, h, T) }, alphas, 'tanh'),
  ];
  const { fits } = analyzeTaylor(groups, [h, T - h], new TaylorLayout(13, K, alphas.length), alphas, 2);

  test('chunked sums add up to the whole', () => {
    const whole = taylorChunkSums(theta, draws, alphas, 'tanh');
    const sum = groups[0].map((v, i) => v + groups[1][i]);
    const err = Math.max(...whole.map((v, i) => Math.abs(v - sum[i]) / (1 + Math.abs(v))));
    expect(err).toBeLessThan(1e-12);
  });

  test.each(TAYLOR_ALGS.flatMap((alg) => [2, 3].map((k) => [alg, k] as const)))('%s, k = %i: exact alpha-derivative, O(alpha^2) remainder', (alg, k) => {
    const f = fits.find((x) => x.alg === alg && x.k === k)!;
    const [pa, pb] = paperCoefficients(alg, k);
    // Exact in expectation at first order, whatever the loss.
    expect(f.a).toBeCloseTo(pa, 10);
    expect(f.bHvp).toBeCloseTo(pb, 9);
    // The fit from finite alphas: close (the loss is not quadratic), and closer than the secant at
    // the smallest alpha.
    expect(Math.abs(f.bFit - pb)).toBeLessThan(0.02 * Math.abs(pb));
    expect(Math.abs(f.bFit - pb)).toBeLessThan(Math.abs(f.bAlpha.at(-1)! - pb));
    // The remainder after the exact first-order term is O(alpha^2): halving alpha divides it by ~4.
    expect(f.remainderSlope).toBeGreaterThan(1.85);
    expect(f.remainderSlope).toBeLessThan(2.15);
    expect(f.remainder[0]).toBeGreaterThan(0);
  });
});
