// Derivatives to fourth order against closed forms, by nested grad (createGraph), nested jvp and
// mixed (jvp of grad of grad, grad of jvp); perturbation confusion in every nesting.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';

const f64 = (vals: number[]) => mg.tensor(Float64Array.from(vals), { shape: [vals.length], dtype: 'float64' });
const XS = [-1.3, -0.4, 0.25, 0.9];
type F = (x: mg.Tensor) => mg.Tensor;

/** Elementwise derivative by reverse mode: x -> d/dx sum(f(x)), differentiable. */
const G = (f: F): F => (x) => mg.valueAndGrad((a: mg.Tensor) => f(a).sum())(x)[1][0];
/** Elementwise derivative by forward mode: x -> J(x) 1. */
const D = (f: F): F => (x) => mg.jvp(f, [x], [mg.onesLike(x)])[1];

function check(f: F, x: mg.Tensor, expected: number[], tol = 1e-10) {
  const got = Array.from(f(x).data());
  got.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(tol * (1 + Math.abs(expected[i]))));
}

// closed forms: [f, f', f'', f''', f'''']
const tanhD = (x: number) => {
  const t = Math.tanh(x);
  const s = 1 - t * t;
  return [t, s, -2 * t * s, s * (6 * t * t - 2), s * (16 * t - 24 * t ** 3)];
};
const expD = (x: number) => [0, 1, 2, 3, 4].map(() => Math.exp(x));
const sinD = (x: number) => [Math.sin(x), Math.cos(x), -Math.sin(x), -Math.cos(x), Math.sin(x)];
// sin(exp(x)), u = e^x
const sinExpD = (x: number) => {
  const u = Math.exp(x), s = Math.sin(u), c = Math.cos(u);
  return [s, c * u, -s * u * u + c * u, -c * u ** 3 - 3 * s * u * u + c * u, s * u ** 4 - 6 * c * u ** 3 - 7 * s * u * u + c * u];
};
// tanh(x^2): checked against the same chain rule written by hand via tanh's derivatives
const tanhSqD = (x: number) => {
  const [, t1, t2, t3, t4] = tanhD(x * x);
  const u1 = 2 * x, u2 = 2;
  // Faa di Bruno with u''' = 0
  return [
    Math.tanh(x * x),
    t1 * u1,
    t2 * u1 ** 2 + t1 * u2,
    t3 * u1 ** 3 + 3 * t2 * u1 * u2,
    t4 * u1 ** 4 + 6 * t3 * u1 ** 2 * u2 + 3 * t2 * u2 ** 2,
  ];
};

const fns: [string, F, (x: number) => number[]][] = [
  ['tanh', (x) => x.tanh(), tanhD],
  ['exp', (x) => x.exp(), expD],
  ['sin', (x) => x.sin(), sinD],
  ['sin(exp(x))', (x) => x.exp().sin(), sinExpD],
  ['tanh(x^2)', (x) => x.square().tanh(), tanhSqD],
];

describe('known derivatives to fourth order', () => {
  for (const [name, f, ref] of fns) {
    test(`${name}: nested grad, nested jvp, mixed`, () => {
      const x = f64(XS).requiresGrad_();
      const want = (k: number) => XS.map((v) => ref(v)[k]);
      check(f, x, want(0), 1e-14);
      // reverse over reverse ...
      check(G(f), x, want(1));
      check(G(G(f)), x, want(2));
      check(G(G(G(f))), x, want(3));
      check(G(G(G(G(f)))), x, want(4), 1e-9);
      // forward over forward ...
      const xc = f64(XS);
      check(D(f), xc, want(1));
      check(D(D(f)), xc, want(2));
      check(D(D(D(f))), xc, want(3));
      check(D(D(D(D(f)))), xc, want(4), 1e-9);
      // mixed: jvp of grad of grad, grad of jvp, jvp of grad of jvp of grad
      check(D(G(G(f))), x, want(3));
      check(G(D(f)), x, want(2));
      check(G(G(D(f))), x, want(3));
      check(D(G(D(G(f)))), x, want(4), 1e-9);
      check(G(D(G(D(f)))), x, want(4), 1e-9);
      // explicit grad with createGraph, third order
      const [g1] = mg.grad(f(x).sum(), x, { createGraph: true });
      const [g2] = mg.grad(g1!.sum(), x, { createGraph: true });
      const [g3] = mg.grad(g2!.sum(), x);
      check(() => g3!, x, want(3));
    });
  }
});

describe('perturbation confusion', () => {
  // d/dx [ x * d/dy (x + y) |_{y=x} ] = 1 (a confused implementation gives 2)
  const x0 = 1.7;
  test('forward over forward (nested jvp)', () => {
    const f: F = (x) => x.mul(D((y) => x.add(y))(x));
    check(D(f), f64([x0]), [1]);
    check(f, f64([x0]), [x0]);
  });
  test('grad inside jvp', () => {
    const f: F = (x) => x.mul(G((y) => x.add(y))(x));
    check(D(f), f64([x0]), [1]);
  });
  test('jvp inside grad', () => {
    const f: F = (x) => x.mul(D((y) => x.add(y))(x));
    check(G(f), f64([x0]).requiresGrad_(), [1]);
  });
  test('grad inside grad', () => {
    const f: F = (x) => x.mul(G((y) => x.add(y))(x));
    check(G(f), f64([x0]).requiresGrad_(), [1]);
  });
  test('a non-trivial inner derivative: d/dx [ x * d/dy (x * y^2) |_{y=x} ] = d/dx 2x^3 = 6x^2', () => {
    const inner = (x: mg.Tensor) => (y: mg.Tensor) => x.mul(y.square());
    check(D((x) => x.mul(D(inner(x))(x))), f64([x0]), [6 * x0 * x0]);
    check(G((x) => x.mul(D(inner(x))(x))), f64([x0]).requiresGrad_(), [6 * x0 * x0]);
    check(D((x) => x.mul(G(inner(x))(x))), f64([x0]), [6 * x0 * x0]);
    check(G((x) => x.mul(G(inner(x))(x))), f64([x0]).requiresGrad_(), [6 * x0 * x0]);
  });
});

describe('jvp', () => {
  test('values, several inputs and outputs, zero tangent for an output that does not depend on the inputs', () => {
    const x = f64([0.5, 2]);
    const y = f64([1.5, -1]);
    const [out, tan] = mg.jvp((a: mg.Tensor, b: mg.Tensor) => [a.mul(b), a.exp(), mg.ones([2], { dtype: 'float64' })], [x, y], [f64([1, 0]), f64([0, 1])]);
    expect(out[0].toArray()).toEqual([0.75, -2]);
    expect(tan[0].toArray()).toEqual([1.5, 2]); // b * ta + a * tb
    expect(tan[1].toArray()).toEqual([Math.exp(0.5), 0]);
    expect(tan[2].toArray()).toEqual([0, 0]);
    expect(() => mg.jvp((a: mg.Tensor) => a, [x], [f64([1, 2, 3])])).toThrow(/tangent 0 has shape \[3\] but its primal has shape \[2\]/);
    expect(() => mg.jvp((a: mg.Tensor) => a, [x], [])).toThrow(/got 0 tangents for 1 primals/);
  });
  test('results carry no tangents after jvp returns', () => {
    const x = f64([0.5]);
    const [o, t] = mg.jvp((a: mg.Tensor) => a.sin(), [x], [f64([1])]);
    expect(o._tangents).toBeNull();
    expect(t._tangents).toBeNull();
    expect(x._tangents).toBeNull();
  });
});
