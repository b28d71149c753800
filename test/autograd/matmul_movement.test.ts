// Derivative checks of matmul and the movement ops that the op table cannot express: second and
// third derivatives against closed forms, dtype promotion through the rules, and the no-record
// fast path. Expected values are computed here in plain TypeScript, never by the library.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { matmulT } from '../../src/ops/matmul.js';
import { expectClose, randomTensor } from '../helpers.js';

/** Row-major [m,k] @ [k,n] on plain arrays. */
function mm(a: number[], b: number[], m: number, k: number, n: number): number[] {
  const c = new Array<number>(m * n).fill(0);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) c[i * n + j] += a[i * k + p] * b[p * n + j];
  return c;
}
/** Transpose of a row-major [r,c] matrix. */
function tr(a: number[], r: number, c: number): number[] {
  const t = new Array<number>(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = a[i * c + j];
  return t;
}
const scale = (a: number[], s: number) => a.map((v) => v * s);

describe('matmul: second derivatives against closed forms', () => {
  // f(A) = sum((A B)^2): grad = 2 (A B) B^T, and H V = 2 V B B^T.
  const [m, k, n] = [3, 4, 2];
  const A = randomTensor([m, k], 'float64', 1);
  const B = randomTensor([k, n], 'float64', 2);
  const V = randomTensor([m, k], 'float64', 3);
  const f = (a: mg.Tensor) => mg.sum(mg.square(mg.matmul(a, B.t)));
  const BBt = mm(B.v, tr(B.v, k, n), k, n, k);
  const gradExpected = scale(mm(mm(A.v, B.v, m, k, n), tr(B.v, k, n), m, n, k), 2);
  const hvExpected = scale(mm(V.v, BBt, m, k, k), 2);

  test('grad = 2 (A B) B^T', () => {
    const [, [g]] = mg.valueAndGrad(f)(A.t);
    expectClose(g, gradExpected, { rtol: 1e-12, atol: 1e-12 });
  });
  for (const mode of ['fwd-rev', 'rev-rev'] as const) {
    test(`hvp (${mode}) = 2 V B B^T`, () => {
      const [y, [hv]] = mg.hvp(f, [A.t], [V.t], { mode });
      const ab = mm(A.v, B.v, m, k, n);
      expectClose(y, [ab.reduce((s, v) => s + v * v, 0)], { rtol: 1e-12, atol: 1e-12 });
      expectClose(hv, hvExpected, { rtol: 1e-12, atol: 1e-12 });
    });
  }

  test('hvp through matmulT(A, B^T stored, false, true) matches too', () => {
    const Bt = mg.tensor(Float64Array.from(tr(B.v, k, n)), { shape: [n, k], dtype: 'float64' });
    const g = (a: mg.Tensor) => mg.sum(mg.square(matmulT(a, Bt, false, true)));
    for (const mode of ['fwd-rev', 'rev-rev'] as const) expectClose(mg.hvp(g, [A.t], [V.t], { mode })[1][0], hvExpected, { rtol: 1e-12, atol: 1e-12 });
  });

  test('mixed second derivative of sum(A B): d/dB <grad_A, V> = V^T 1', () => {
    // grad_A sum(A B) = 1 B^T, so <grad_A, V> = sum_ij V_ij sum_l B_jl, whose B-gradient is
    // (V^T 1)_j in every column l.
    const a = A.t.clone().requiresGrad_();
    const b = B.t.clone().requiresGrad_();
    const [gA] = mg.grad(mg.sum(mg.matmul(a, b)), [a], { createGraph: true });
    const [gB] = mg.grad(mg.sum(mg.mul(gA!, V.t)), [b]);
    const colSums = Array.from({ length: k }, (_, j) => V.v.filter((_, i) => i % k === j).reduce((s, x) => s + x, 0));
    expectClose(gB!, colSums.flatMap((s) => new Array<number>(n).fill(s)), { rtol: 1e-12, atol: 1e-12 });
  });

  test('batch-broadcast gradient is summed over the broadcast batch (sumToShape)', () => {
    // sum(A @ B) with A [2,1,2,3] broadcast against B [4,3,2]: dA = 4 * (1 B^T summed over B's batch)...
    const a = randomTensor([2, 1, 2, 3], 'float64', 4);
    const b = randomTensor([4, 3, 2], 'float64', 5);
    const at = a.t.clone().requiresGrad_();
    const bt = b.t.clone().requiresGrad_();
    const [gA, gB] = mg.grad(mg.sum(mg.matmul(at, bt)), [at, bt]);
    expect(gA!.shape).toEqual([2, 1, 2, 3]);
    expect(gB!.shape).toEqual([4, 3, 2]);
    // dA[.., i, p] = sum over B batches and columns of B[p, j]
    const rowSumB = [0, 1, 2].map((p) => [0, 1, 2, 3].reduce((s, q) => s + b.v[q * 6 + p * 2] + b.v[q * 6 + p * 2 + 1], 0));
    expectClose(gA!, new Array(4).fill(0).flatMap(() => rowSumB), { rtol: 1e-12, atol: 1e-12 });
    // dB[q, p, j] = sum over A batches and rows of A[.., p]
    const colSumA = [0, 1, 2].map((p) => [0, 1, 2, 3].reduce((s, r) => s + a.v[r * 3 + p], 0));
    expectClose(gB!, new Array(4).fill(0).flatMap(() => colSumA.flatMap((c) => [c, c])), { rtol: 1e-12, atol: 1e-12 });
  });
});

describe('matmul: dtypes and recording', () => {
  test('a float32 operand promoted to float64 gets a float32 gradient', () => {
    const a = mg.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).requiresGrad_();
    const b = mg.tensor([[0.5, -1], [2, 0.25]], { dtype: 'float64' });
    const y = mg.matmul(a, b);
    expect(y.dtype).toBe('float64');
    const [g] = mg.grad(mg.sum(y), [a]);
    expect(g!.dtype).toBe('float32');
    expectClose(g!, [-0.5, 2.25, -0.5, 2.25]); // row sums of b, in every row
  });

  test('no tape node without an input requiring grad, nor under noGrad', () => {
    const a = mg.ones([2, 2], { dtype: 'float64' });
    const b = mg.ones([2, 2], { dtype: 'float64' }).requiresGrad_();
    expect(mg.matmul(a, a).requiresGrad).toBe(false);
    expect(mg.matmul(a, b).requiresGrad).toBe(true);
    expect(mg.noGrad(() => mg.matmul(a, b)).requiresGrad).toBe(false);
    expect(mg.matmul(mg.ones([2, 2], { dtype: 'int32' }), mg.ones([2], { dtype: 'int32' })).requiresGrad).toBe(false);
  });

  test('1-D @ 1-D gives a 0-d result whose gradients are the other vector', () => {
    const a = mg.tensor([1, 2, 3], { dtype: 'float64' }).requiresGrad_();
    const b = mg.tensor([4, -5, 6], { dtype: 'float64' }).requiresGrad_();
    const y = mg.matmul(a, b);
    expect(y.shape).toEqual([]);
    const [ga, gb] = mg.grad(y, [a, b]);
    expectClose(ga!, [4, -5, 6]);
    expectClose(gb!, [1, 2, 3]);
  });

  test('nn.functional.linear: dW = 1^T x, db = batch size, dx = 1 W', () => {
    const x = mg.tensor([[1, 2, 3], [-1, 0, 2]], { dtype: 'float64' }).requiresGrad_();
    const w = mg.tensor([[1, 0, -1], [2, 1, 0.5]], { dtype: 'float64' }).requiresGrad_();
    const b = mg.tensor([0.1, -0.2], { dtype: 'float64' }).requiresGrad_();
    const [gx, gw, gb] = mg.grad(mg.sum(mg.nn.functional.linear(x, w, b)), [x, w, b]);
    expectClose(gx!, [3, 1, -0.5, 3, 1, -0.5]);
    expectClose(gw!, [0, 2, 5, 0, 2, 5]);
    expectClose(gb!, [2, 2]);
  });
});

describe('movement ops: closed forms and higher orders', () => {
  test('slice with step 2: gradient lands on the picked elements only', () => {
    const x = mg.tensor([1, 2, 3, 4, 5], { dtype: 'float64' }).requiresGrad_();
    const [g] = mg.grad(mg.sum(mg.mul(mg.slice(x, 0, 1, undefined, 2), mg.tensor([10, 20], { dtype: 'float64' }))), [x]);
    expectClose(g!, [0, 10, 0, 20, 0]);
  });

  // f = sum(pick(x)^3): the third derivative along v, w is 6 v w on the picked elements.
  const x0 = [0.5, -1.5, 2, 0.25, -0.75, 1.25];
  const v = [1, 2, -1, 0.5, 3, -2];
  const w = [0.5, -1, 2, 1, -0.5, 1.5];
  const picks: [string, (x: mg.Tensor) => mg.Tensor, number[]][] = [
    ['slice step 2', (x) => mg.slice(x, 0, 0, undefined, 2), [0, 2, 4]],
    ['slice step 1 (pad adjoint)', (x) => mg.slice(x, -1, 1, 3), [1, 2]],
    ['gather', (x) => mg.gather(x, 0, mg.tensor([5, 1, 5], { dtype: 'int32' })), [5, 1, 5]],
    ['indexSelect', (x) => mg.indexSelect(x, 0, mg.tensor([3, 3, 0], { dtype: 'int32' })), [3, 3, 0]],
    ['pad then slice', (x) => mg.slice(mg.pad(x, [2, 1]), 0, 3, 5), [1, 2]],
    ['permute of a reshape', (x) => mg.flatten(mg.permute(mg.reshape(x, [2, 3]), [1, 0])), [0, 3, 1, 4, 2, 5]],
  ];
  for (const [name, pick, idx] of picks) {
    test(`third derivative through ${name}`, () => {
      const x = mg.tensor(x0, { dtype: 'float64' }).requiresGrad_();
      const vt = mg.tensor(v, { dtype: 'float64' });
      const wt = mg.tensor(w, { dtype: 'float64' });
      const f = mg.sum(mg.pow(pick(x), 3));
      const [g1] = mg.grad(f, [x], { createGraph: true });
      const [g2] = mg.grad(mg.sum(mg.mul(g1!, vt)), [x], { createGraph: true });
      const [g3] = mg.grad(mg.sum(mg.mul(g2!, wt)), [x]);
      const expected1 = new Array<number>(6).fill(0);
      const expected3 = new Array<number>(6).fill(0);
      for (const i of idx) {
        expected1[i] += 3 * x0[i] * x0[i];
        expected3[i] += 6 * v[i] * w[i];
      }
      expectClose(g1!, expected1, { rtol: 1e-12, atol: 1e-12 });
      expectClose(g3!, expected3, { rtol: 1e-12, atol: 1e-12 });
    });
  }

  test('cat promotes a float32 input and returns it a float32 gradient', () => {
    const a = mg.tensor([1, 2], { dtype: 'float32' }).requiresGrad_();
    const b = mg.tensor([3], { dtype: 'float64' }).requiresGrad_();
    const y = mg.cat([a, b]);
    expect(y.dtype).toBe('float64');
    const [ga, gb] = mg.grad(mg.sum(mg.mul(y, mg.tensor([5, 6, 7], { dtype: 'float64' }))), [a, b]);
    expect(ga!.dtype).toBe('float32');
    expectClose(ga!, [5, 6]);
    expectClose(gb!, [7]);
  });

  test('cat: an input that does not require grad gets no gradient work, the others do', () => {
    const a = mg.tensor([1, 2], { dtype: 'float64' }).requiresGrad_();
    const c = mg.tensor([3, 4], { dtype: 'float64' });
    const y = mg.cat([c, a], 0);
    const [ga] = mg.grad(mg.sum(mg.mul(y, mg.tensor([1, 2, 3, 4], { dtype: 'float64' }))), [a]);
    expectClose(ga!, [3, 4]);
    const [, t] = mg.jvp((p) => mg.cat([c, p]), [a], [mg.tensor([1, -1], { dtype: 'float64' })]);
    expectClose(t, [0, 0, 1, -1]);
  });

  test('scatterAdd: src beyond the index block gets a zero gradient', () => {
    const x = mg.zeros([3], { dtype: 'float64' }).requiresGrad_();
    const src = mg.tensor([1, 2, 3, 4], { dtype: 'float64' }).requiresGrad_();
    const y = mg.scatterAdd(x, 0, mg.tensor([2, 2], { dtype: 'int32' }), src);
    expectClose(y, [0, 0, 3]);
    const [gx, gs] = mg.grad(mg.sum(mg.mul(y, mg.tensor([1, 10, 100], { dtype: 'float64' }))), [x, src]);
    expectClose(gx!, [1, 10, 100]);
    expectClose(gs!, [100, 100, 0, 0]);
  });

  test('oneHot carries no gradient (int32 input)', () => {
    const h = mg.oneHot(mg.tensor([0, 2], { dtype: 'int32' }), 3, { dtype: 'float64' });
    expect(h.requiresGrad).toBe(false);
  });

  test('movement ops record nothing when no input requires grad', () => {
    const x = mg.ones([2, 3], { dtype: 'float64' });
    const i = mg.tensor([0, 1], { dtype: 'int32' });
    for (const y of [mg.permute(x, [1, 0]), mg.slice(x, 1, 0, 3, 2), mg.cat([x, x]), mg.pad(x, [1, 1]), mg.indexSelect(x, 0, i), mg.gather(x, 0, mg.tensor([[1, 0, 1]], { dtype: 'int32' }))]) {
      expect(y.requiresGrad).toBe(false);
      expect(y._node).toBe(null);
    }
  });
});

describe('saved tensors', () => {
  // Rules make temporaries that only a scope frees (the engine releases gradients, not every
  // intermediate), so this runs in tidy: what must hold is that the promotion temporaries, saved
  // by the nodes of matmul and cat, are released there instead of disposed under the graph.
  test('gradients through the promotion temporaries of matmul and cat; nothing outlives the scope', () => {
    const before = mg.memory().tensors;
    const g = mg.tidy(() => {
      const a = mg.tensor([[1, 2], [3, 4]], { dtype: 'float32' }).requiresGrad_();
      const b = mg.tensor([[0.5, -1], [2, 0.25]], { dtype: 'float64' });
      const z = mg.cat([a, mg.matmul(a, b)], 0);
      return mg.grad(mg.sum(mg.square(z)), [a])[0]!;
    });
    // d/da [sum(a^2) + sum((a b)^2)] = 2a + 2 (a b) b^T
    const av = [1, 2, 3, 4];
    const bv = [0.5, -1, 2, 0.25];
    const abbt = mm(mm(av, bv, 2, 2, 2), tr(bv, 2, 2), 2, 2, 2);
    expectClose(g, av.map((v, i) => 2 * v + 2 * abbt[i]), { rtol: 1e-6, atol: 1e-6 });
    g.dispose();
    expect(mg.memory().tensors).toBe(before);
  });
});
