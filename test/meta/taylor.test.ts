// Nichol et al. (2018), "On First-Order Meta-Learning Algorithms", section 5: for k = 2 inner
// steps, each on its own minibatch (phi_1 = theta - alpha g_1(theta)), the expected updates are to
// leading order
//   E[g_MAML]    = AvgGrad - 2 alpha AvgGradInner + O(alpha^2)
//   E[g_FOMAML]  = AvgGrad -   alpha AvgGradInner + O(alpha^2)
//   E[g_Reptile] = 2 AvgGrad - alpha AvgGradInner + O(alpha^2)
// with AvgGrad = E[g_i(theta)] and AvgGradInner = E[H_2(theta) g_1(theta)], where g_MAML is the
// gradient of L_2(phi_1) with respect to theta, g_FOMAML = g_2(phi_1) and g_Reptile = g_1(theta) +
// g_2(phi_1) = (theta - phi_2) / alpha.
//
// The task family is finite, so the expectations are exact (no sampling noise): T tasks, each with
// N minibatches of a tanh regression loss L(theta) = mean((tanh(X theta) - y)^2) in float64 (not a
// quadratic, so the O(alpha^2) remainders are not zero); the two minibatches of a draw are
// independent uniform draws from the task's N, i.e. all N^2 ordered pairs. All pairs are evaluated
// at once: theta is repeated into a [P, d] leaf, whose gradient holds each pair's gradient.
// The check: the residual of each formula shrinks like alpha^2 (halving alpha divides it by ~4),
// while a formula with the wrong alpha coefficient leaves a residual that shrinks only like alpha.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

type Tensor = mg.Tensor;
const f64 = { dtype: 'float64' as const };

const T = 4; // tasks
const N = 4; // minibatches per task
const M = 5; // points per minibatch
const D = 3; // parameters
const P = T * N * N; // (task, first minibatch, second minibatch) draws

/** A seeded generator of standard normals (mulberry32 + Box-Muller). */
function normals(seed: number): () => number {
  let a = seed >>> 0;
  const u = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** X1, y1 (first minibatch) and X2, y2 (second) of every draw, and theta. */
function family() {
  const rnd = normals(7);
  const X: number[][][][] = []; // [task][minibatch][point][d]
  const Y: number[][][] = []; // [task][minibatch][point]
  for (let t = 0; t < T; t++) {
    const w = Array.from({ length: D }, () => rnd());
    X.push([]);
    Y.push([]);
    for (let n = 0; n < N; n++) {
      const xs = Array.from({ length: M }, () => Array.from({ length: D }, () => rnd()));
      X[t].push(xs);
      Y[t].push(xs.map((x) => Math.tanh(x.reduce((s, v, k) => s + v * w[k], 0)) + 0.1 * rnd()));
    }
  }
  const x1: number[] = [];
  const y1: number[] = [];
  const x2: number[] = [];
  const y2: number[] = [];
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        x1.push(...X[t][i].flat());
        y1.push(...Y[t][i]);
        x2.push(...X[t][j].flat());
        y2.push(...Y[t][j]);
      }
    }
  }
  const mk = (v: number[], shape: number[]) => mg.tensor(Float64Array.from(v), { shape, dtype: 'float64' });
  return {
    x1: mk(x1, [P, M, D]),
    y1: mk(y1, [P, M, 1]),
    x2: mk(x2, [P, M, D]),
    y2: mk(y2, [P, M, 1]),
    theta: [0.4, -0.3, 0.5],
  };
}

/** The summed (over draws) minibatch loss at per-draw parameters `th` [P, D]. */
function loss(th: Tensor, x: Tensor, y: Tensor): Tensor {
  return x.matmul(th.unsqueeze(-1)).tanh().sub(y).square().mean(1).sum();
}

const mean0 = (t: Tensor): number[] => Array.from(t.mean(0).data() as Float64Array);
const sub = (a: number[], b: number[]) => a.map((v, i) => v - b[i]);
const axpy = (s: number, x: number[], y: number[]) => y.map((v, i) => v + s * x[i]);
const norm = (a: number[]) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

interface Measured {
  avgGrad: number[];
  avgGradInner: number[];
  maml: number[];
  fomaml: number[];
  reptile: number[];
}

/** The exact expectations over the family at inner rate `alpha`. */
function measure(alpha: number): Measured {
  return mg.tidy(() => {
    const f = family();
    const th = mg.tensor(Float64Array.from(Array.from({ length: P }, () => f.theta).flat()), { shape: [P, D], ...f64 }).requiresGrad_();
    const [g1] = mg.grad(loss(th, f.x1, f.y1), th, { createGraph: true, retainGraph: true }) as Tensor[];
    const [g2] = mg.grad(loss(th, f.x2, f.y2), th, { createGraph: true, retainGraph: true }) as Tensor[];
    // H_2 g_1: the gradient of g_2 . stop_grad(g_1).
    const [h2g1] = mg.grad(g2.mul(g1.detach()).sum(), th, { retainGraph: true }) as Tensor[];
    // MAML: differentiate L_2(phi_1) through the inner step.
    const phi = th.sub(g1.mul(alpha));
    const [gMaml] = mg.grad(loss(phi, f.x2, f.y2), th, { retainGraph: true }) as Tensor[];
    // First order: the gradient of L_2 at a detached phi_1.
    const phiLeaf = phi.detach().requiresGrad_();
    const [g2phi] = mg.grad(loss(phiLeaf, f.x2, f.y2), phiLeaf) as Tensor[];
    return {
      avgGrad: mean0(g1),
      avgGradInner: mean0(h2g1),
      maml: mean0(gMaml),
      fomaml: mean0(g2phi),
      reptile: mean0(g1.detach().add(g2phi)),
    };
  });
}

/** The leading-order forms: (coefficient of AvgGrad, coefficient of alpha AvgGradInner). */
const FORMS = { maml: [1, -2], fomaml: [1, -1], reptile: [2, -1] } as const;
type Algo = keyof typeof FORMS;

function residual(m: Measured, algo: Algo, alpha: number, form: readonly [number, number] = FORMS[algo]): number {
  const predicted = axpy(form[1] * alpha, m.avgGradInner, m.avgGrad.map((v) => form[0] * v));
  return norm(sub(m[algo], predicted));
}

describe("Nichol et al.'s leading-order expectations for k = 2", () => {
  const alphas = [0.04, 0.02, 0.01];
  const ms = alphas.map(measure);

  test('the pieces are what they claim: AvgGrad is the same for both minibatches, E[H_2 g_1] = E[H_1 g_2]', () => {
    // Sanity of the setup (independent, identically distributed minibatches), and the first-order
    // terms are not negligible, so a wrong coefficient would show.
    const m = ms[0];
    expect(norm(m.avgGrad)).toBeGreaterThan(0.05);
    expect(norm(m.avgGradInner)).toBeGreaterThan(0.05);
    mg.tidy(() => {
      const f = family();
      const th = mg.tensor(Float64Array.from(Array.from({ length: P }, () => f.theta).flat()), { shape: [P, D], ...f64 }).requiresGrad_();
      const [g1] = mg.grad(loss(th, f.x1, f.y1), th, { createGraph: true, retainGraph: true }) as Tensor[];
      const [g2] = mg.grad(loss(th, f.x2, f.y2), th, { createGraph: true, retainGraph: true }) as Tensor[];
      const [h1g2] = mg.grad(g1.mul(g2.detach()).sum(), th, { retainGraph: true }) as Tensor[];
      expect(norm(sub(mean0(g2), m.avgGrad))).toBeLessThan(1e-12);
      expect(norm(sub(mean0(h1g2), m.avgGradInner))).toBeLessThan(1e-12);
    });
  });

  test.each(['maml', 'fomaml', 'reptile'] as const)('%s: the residual shrinks like alpha^2', (algo) => {
    const r = ms.map((m, i) => residual(m, algo, alphas[i]));
    // Small against the first-order term it corrects ...
    expect(r[0]).toBeLessThan(0.2 * alphas[0] * norm(ms[0].avgGradInner));
    // ... and quadratic in alpha: halving alpha divides it by ~4.
    // (Measured: MAML 4.20 then 4.06; FOMAML and Reptile 3.92 then 3.97.)
    for (const k of [0, 1]) {
      expect(r[k] / r[k + 1]).toBeGreaterThan(3.5);
      expect(r[k] / r[k + 1]).toBeLessThan(4.5);
    }
  });

  test.each(['maml', 'fomaml', 'reptile'] as const)('%s: a wrong alpha coefficient leaves an O(alpha) residual', (algo) => {
    const [a, b] = FORMS[algo];
    for (const wrong of [[a, b + 1], [a, b - 1]] as [number, number][]) {
      const r = ms.map((m, i) => residual(m, algo, alphas[i], wrong));
      expect(r[0] / r[1]).toBeGreaterThan(1.7);
      expect(r[0] / r[1]).toBeLessThan(2.3);
      expect(r[1] / r[2]).toBeGreaterThan(1.7);
      expect(r[1] / r[2]).toBeLessThan(2.3);
    }
  });

  test('MAML, FOMAML and Reptile differ at alpha -> 0 only through AvgGrad', () => {
    // At alpha = 0 all three are (multiples of) AvgGrad exactly.
    const m = measure(0);
    expect(norm(sub(m.maml, m.avgGrad))).toBeLessThan(1e-12);
    expect(norm(sub(m.fomaml, m.avgGrad))).toBeLessThan(1e-12);
    expect(norm(sub(m.reptile, m.avgGrad.map((v) => 2 * v)))).toBeLessThan(1e-12);
  });
});
