// Elementwise ops against plain-TypeScript references (Math.*, explicit broadcasting loops).
import { afterAll, describe, expect, it } from 'vitest';
import * as mg from '../../src/index.js';
import { exec, header } from '../../src/backend/exec.js';
import { Op } from '../../src/backend/opcodes.js';
import { broadcastRead, expectClose, numel, prng, randomTensor, unravel } from '../helpers.js';

type DT = mg.DType;
const FLOATS: DT[] = ['float32', 'float64'];
const ALL: DT[] = ['float32', 'float64', 'int32'];

/** Rounds a double to the dtype, as a tensor of that dtype would store it. */
function round(x: number, dt: DT): number {
  return dt === 'float32' ? Math.fround(x) : dt === 'int32' ? x | 0 : x;
}
function tensorOf(vals: number[], shape: number[], dt: DT): mg.Tensor {
  const arr = dt === 'float64' ? Float64Array.from(vals) : dt === 'int32' ? Int32Array.from(vals) : Float32Array.from(vals);
  return mg.tensor(arr, { shape, dtype: dt });
}
/** Independent NumPy broadcast (the test's own, not the library's). */
function bshape(...shapes: number[][]): number[] {
  const nd = Math.max(...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < nd; i++) {
    let d = 1;
    for (const s of shapes) {
      const k = s.length - nd + i;
      const v = k >= 0 ? s[k] : 1;
      if (v !== 1) d = v;
    }
    out.push(d);
  }
  return out;
}
function ipow(a: number, b: number): number {
  let r = 1;
  for (let i = 0; i < b; i++) r = Math.imul(r, a);
  return r;
}
/** Distance in units in the last place of `y` (float64). */
function ulps(x: number, y: number): number {
  if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return 0;
  const e = Math.max(Math.floor(Math.log2(Math.abs(y))), -1022);
  return Math.abs(x - y) / 2 ** (e - 52);
}

const nanMax = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));
const nanMin = (a: number, b: number) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b));

interface BinCase { name: string; f: (a: mg.TensorLike, b: mg.TensorLike) => mg.Tensor; ref: (a: number, b: number, dt: DT) => number; cmp?: boolean; ints: boolean }
const BIN: BinCase[] = [
  { name: 'add', f: mg.add, ref: (a, b, dt) => (dt === 'int32' ? (a + b) | 0 : a + b), ints: true },
  { name: 'sub', f: mg.sub, ref: (a, b, dt) => (dt === 'int32' ? (a - b) | 0 : a - b), ints: true },
  { name: 'mul', f: mg.mul, ref: (a, b, dt) => (dt === 'int32' ? Math.imul(a, b) : a * b), ints: true },
  { name: 'div', f: mg.div, ref: (a, b) => a / b, ints: false },
  { name: 'pow', f: mg.pow, ref: (a, b, dt) => (dt === 'int32' ? ipow(a, b) : a ** b), ints: true },
  { name: 'maximum', f: mg.maximum, ref: nanMax, ints: true },
  { name: 'minimum', f: mg.minimum, ref: nanMin, ints: true },
  { name: 'eq', f: mg.eq, ref: (a, b) => +(a === b), cmp: true, ints: true },
  { name: 'ne', f: mg.ne, ref: (a, b) => +(a !== b), cmp: true, ints: true },
  { name: 'lt', f: mg.lt, ref: (a, b) => +(a < b), cmp: true, ints: true },
  { name: 'le', f: mg.le, ref: (a, b) => +(a <= b), cmp: true, ints: true },
  { name: 'gt', f: mg.gt, ref: (a, b) => +(a > b), cmp: true, ints: true },
  { name: 'ge', f: mg.ge, ref: (a, b) => +(a >= b), cmp: true, ints: true },
];

/** Operand values suited to the op (positive bases for float pow, small exponents for int pow). */
function operands(op: string, shapeA: number[], shapeB: number[], dt: DT, seed: number) {
  const a = randomTensor(shapeA, dt, seed, op === 'pow' && dt !== 'int32' ? 0.1 : -3, 3);
  const b = randomTensor(shapeB, dt, seed + 7, op === 'pow' ? (dt === 'int32' ? 0 : -2) : -3, 3);
  // Comparisons need ties: copy some of a's values into b where shapes allow.
  return { a, b };
}

function checkBinary(c: BinCase, dt: DT, sa: number[], sb: number[], seed = 1): void {
  const { a, b } = operands(c.name, sa, sb, dt, seed);
  const out = c.f(a.t, b.t);
  const os = bshape(sa, sb);
  expect(out.shape).toEqual(os);
  expect(out.dtype).toBe(c.cmp ? 'int32' : c.name === 'div' && dt === 'int32' ? 'float32' : dt);
  const n = numel(os);
  const exp = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, os);
    exp[i] = c.ref(broadcastRead(a.v, sa, idx), broadcastRead(b.v, sb, idx), dt);
  }
  expectClose(out, exp, c.name === 'pow' && dt === 'float32' ? { rtol: 1e-5 } : {});
}

const SHAPE_PAIRS: [number[], number[]][] = [
  [[], []], [[], [3]], [[3], []], [[2, 3], [2, 3]], [[2, 3], [3]], [[3], [2, 3]], [[2, 1], [1, 3]],
  [[4, 1, 3], [2, 1]], [[1], [2, 3]], [[2, 3, 4, 5, 6], [1, 3, 1, 5, 1]], [[2, 1, 3, 1, 2], [1, 4, 1, 5, 1]],
  [[5, 1, 1, 2], [3, 2]], [[0, 3], [3]], [[2, 0], [2, 1]], [[3, 1, 0], [1, 4, 1]], [[1, 1], [1]],
];

describe('binary ops', () => {
  for (const c of BIN) {
    for (const dt of c.ints ? ALL : FLOATS) {
      it(`${c.name} ${dt} over broadcast shapes`, () => {
        SHAPE_PAIRS.forEach(([sa, sb], k) => checkBinary(c, dt, sa, sb, k + 1));
      });
    }
  }

  it('scalars on either side take the tensor dtype', () => {
    for (const dt of ALL) {
      const x = randomTensor([2, 3], dt, 3);
      const r1 = mg.sub(x.t, 2);
      const r2 = mg.sub(2, x.t);
      expect(r1.dtype).toBe(dt);
      expectClose(r1, x.v.map((v) => v - 2));
      expectClose(r2, x.v.map((v) => 2 - v));
      expectClose(mg.pow(2, x.t.abs()), x.v.map((v) => round(2 ** Math.abs(v), dt)), { rtol: 1e-6 });
      expectClose(mg.lt(x.t, 0.5), x.v.map((v) => +(v < 0.5)));
      expectClose(mg.maximum(0, x.t), x.v.map((v) => Math.max(0, v)));
    }
    // a 0-d tensor broadcasts like a scalar
    const s = mg.tensor(3);
    expectClose(mg.mul(s, mg.tensor([1, 2, 3])), [3, 6, 9]);
    expectClose(mg.mul(mg.tensor([1, 2, 3]), s), [3, 6, 9]);
    // a non-integer scalar promotes int32 to float32
    const i = mg.tensor([1, 2], { dtype: 'int32' });
    const h = mg.add(i, 0.5);
    expect(h.dtype).toBe('float32');
    expectClose(h, [1.5, 2.5]);
  });

  it('NaN and infinities', () => {
    for (const dt of FLOATS) {
      const av = [NaN, 1, NaN, Infinity, -Infinity, 0, -0, 2];
      const bv = [1, NaN, NaN, Infinity, Infinity, -0, 0, -Infinity];
      const a = tensorOf(av, [8], dt);
      const b = tensorOf(bv, [8], dt);
      expectClose(mg.maximum(a, b), av.map((x, i) => nanMax(x, bv[i])));
      expectClose(mg.minimum(a, b), av.map((x, i) => nanMin(x, bv[i])));
      expectClose(mg.add(a, b), av.map((x, i) => x + bv[i]));
      expectClose(mg.div(a, b), av.map((x, i) => x / bv[i]));
      expectClose(mg.eq(a, b), av.map((x, i) => +(x === bv[i])));
      expectClose(mg.ne(a, b), av.map((x, i) => +(x !== bv[i])));
      expectClose(mg.ge(a, b), av.map((x, i) => +(x >= bv[i])));
      expectClose(mg.maximum(a, NaN), av.map(() => NaN));
      expectClose(mg.div(a, 0), av.map((x) => x / 0));
    }
  });

  it('int32 arithmetic wraps and pow rejects negative exponents', () => {
    const big = mg.tensor([2147483647, -2147483648, 65536], { dtype: 'int32' });
    expectClose(mg.add(big, 1), [-2147483648, -2147483647, 65537]);
    expectClose(mg.mul(big, big), [1, 0, 0]);
    expectClose(mg.pow(mg.tensor([2, -3, 0, 1], { dtype: 'int32' }), mg.tensor([31, 3, 0, 100], { dtype: 'int32' })), [-2147483648, -27, 1, 1]);
    expect(() => mg.pow(mg.tensor([2, 3], { dtype: 'int32' }), mg.tensor([1, -1], { dtype: 'int32' }))).toThrow(/POW.*negative/i);
    expect(() => mg.pow(mg.tensor([2, 3], { dtype: 'int32' }), -2)).toThrow(/negative/);
    expect(() => mg.add(mg.tensor([1], { dtype: 'int32' }), 1e10)).toThrow(/^add: .*int32/);
  });

  it('errors name the op and both shapes; disposed inputs are rejected', () => {
    expect(() => mg.add(mg.zeros([2, 3]), mg.zeros([4]))).toThrow(/add.*\[2,3\].*\[4\]/);
    expect(() => mg.ge(mg.zeros([2, 3]), mg.zeros([3, 2]))).toThrow(/ge.*\[2,3\].*\[3,2\]/);
    const t = mg.ones([2]);
    t.dispose();
    expect(() => mg.mul(t, 2)).toThrow(/mul.*disposed/);
    expect(() => mg.exp(t)).toThrow(/exp.*disposed/);
  });

  it('the native kernel checks broadcasting itself (no out-of-bounds reads)', () => {
    const a = mg.zeros([2, 3]);
    const b = mg.zeros([4]);
    header('float32', 'cpu', [2, 3]);
    expect(() => exec(Op.ADD, a.handle('t'), b.handle('t'))).toThrow(/ADD.*\[4\].*\[2,3\]/);
    header('float32', 'cpu', [3]);
    expect(() => exec(Op.MUL, a.handle('t'), a.handle('t'))).toThrow(/MUL.*\[2,3\].*\[3\]/);
    header('float32', 'cpu', [2, 3]);
    expect(() => exec(Op.ADD, a.handle('t'), mg.zeros([2, 3], { dtype: 'float64' }).handle('t'))).toThrow(/ADD.*dtype/);
    header('int32', 'cpu', [2, 3]);
    expect(() => exec(Op.WHERE, a.handle('t'), a.handle('t'), 1)).toThrow(/WHERE.*int32/);
  });
});

interface UnCase { name: string; f: (x: mg.Tensor) => mg.Tensor; ref: (x: number) => number; ints: boolean; positive?: boolean; libm?: boolean }
const UN: UnCase[] = [
  { name: 'neg', f: mg.neg, ref: (x) => -x, ints: true },
  { name: 'exp', f: mg.exp, ref: Math.exp, ints: false, libm: true },
  { name: 'log', f: mg.log, ref: Math.log, ints: false, positive: true, libm: true },
  { name: 'sin', f: mg.sin, ref: Math.sin, ints: false, libm: true },
  { name: 'cos', f: mg.cos, ref: Math.cos, ints: false, libm: true },
  { name: 'tanh', f: mg.tanh, ref: Math.tanh, ints: false, libm: true },
  { name: 'sigmoid', f: mg.sigmoid, ref: (x) => 1 / (1 + Math.exp(-x)), ints: false },
  { name: 'relu', f: mg.relu, ref: (x) => (x < 0 ? 0 : x), ints: true },
  { name: 'abs', f: mg.abs, ref: Math.abs, ints: true },
  { name: 'sqrt', f: mg.sqrt, ref: Math.sqrt, ints: false, positive: true, libm: true },
  { name: 'square', f: mg.square, ref: (x) => x * x, ints: true },
  { name: 'sign', f: mg.sign, ref: Math.sign, ints: true },
];
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1e-30, -1e-30, 50, -50, 100, -100, 800, -800];

describe('unary ops', () => {
  for (const c of UN) {
    for (const dt of c.ints ? ALL : FLOATS) {
      it(`${c.name} ${dt}`, () => {
        for (const shape of [[], [7], [2, 3, 4], [0, 3], [1, 1, 5]]) {
          const x = randomTensor(shape, dt, 5, c.positive ? 0.01 : -4, 4);
          const y = c.f(x.t);
          expect(y.shape).toEqual(shape);
          expect(y.dtype).toBe(dt);
          expectClose(y, x.v.map(c.ref));
        }
        if (dt !== 'int32') {
          const s = tensorOf(SPECIAL, [SPECIAL.length], dt);
          const exp = Array.from(s.data()).map((v) => round(c.ref(v), dt));
          expectClose(c.f(s), exp, { rtol: dt === 'float32' ? 2e-6 : 1e-14, atol: 0 });
        }
      });
    }
  }

  it('float64 libm functions are within 2 ulp of Math.*', () => {
    const x = randomTensor([500], 'float64', 11, -20, 20);
    for (const c of UN.filter((u) => u.libm)) {
      const vals = c.positive ? x.v.map((v) => Math.abs(v) + 1e-3) : x.v;
      const y = c.f(tensorOf(vals, [vals.length], 'float64')).data();
      vals.forEach((v, i) => {
        const u = ulps(y[i], c.ref(v));
        if (u > 2) throw new Error(`${c.name}(${v}): ${y[i]} vs ${c.ref(v)} (${u} ulp)`);
      });
    }
  });

  it('sigmoid is stable for large |x| and int32 float-only ops compute in float32', () => {
    for (const dt of FLOATS) {
      const y = mg.sigmoid(tensorOf([-1000, -100, 0, 100, 1000], [5], dt)).data();
      expect(Array.from(y)).toEqual([0, round(Math.exp(-100) / (1 + Math.exp(-100)), dt), 0.5, 1, 1]);
    }
    const i = mg.tensor([1, 4], { dtype: 'int32' });
    const s = mg.sqrt(i);
    expect(s.dtype).toBe('float32');
    expectClose(s, [1, 2]);
    expectClose(mg.abs(mg.tensor([-2147483648, -5], { dtype: 'int32' })), [-2147483648, 5]);
  });

  it('clamp with both, one or no bound', () => {
    for (const dt of ALL) {
      const x = randomTensor([3, 5], dt, 9, -5, 5);
      const cl = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
      expectClose(mg.clamp(x.t, -1, 2), x.v.map((v) => cl(v, -1, 2)));
      expectClose(mg.clamp(x.t, 0), x.v.map((v) => Math.max(v, 0)));
      expectClose(mg.clamp(x.t, null, 1), x.v.map((v) => Math.min(v, 1)));
      expectClose(mg.clamp(x.t), x.v);
    }
    expectClose(mg.clamp(mg.tensor([NaN, -3, 3]), -1, 1), [NaN, -1, 1]);
    expectClose(mg.clamp(mg.tensor([-3, 0, 3], { dtype: 'int32' }), -1.5, 1.5), [-1, 0, 1]);
    expectClose(mg.clamp(mg.tensor([0.1, 0.3], { dtype: 'float32' }), 0.2), [Math.fround(0.2), Math.fround(0.3)]);
  });
});

describe('where', () => {
  it('three-way broadcasting with tensors and scalars', () => {
    const cases: [number[], number[] | null, number[] | null][] = [
      [[2, 3], [2, 3], [2, 3]], [[2, 1, 3], [4, 1], null], [[3], null, [2, 3]], [[], [2, 2], [1]],
      [[1, 4], [3, 1], [3, 4]], [[2, 1, 2, 1, 3], [1, 2, 1, 2, 1], [3]], [[0, 2], [2], null],
    ];
    for (const dt of ALL) {
      cases.forEach(([sc, sa, sb], k) => {
        const c = randomTensor(sc, 'int32', k + 1, -1, 1);
        const a = sa ? randomTensor(sa, dt, k + 2) : null;
        const b = sb ? randomTensor(sb, dt, k + 3) : null;
        const out = mg.where(c.t, a ? a.t : 7, b ? b.t : -2);
        const os = bshape(sc, ...(sa ? [sa] : []), ...(sb ? [sb] : []));
        expect(out.shape).toEqual(os);
        expect(out.dtype).toBe(dt);
        const exp: number[] = [];
        for (let i = 0; i < numel(os); i++) {
          const idx = unravel(i, os);
          const cv = broadcastRead(c.v, sc, idx);
          exp.push(cv ? (a ? broadcastRead(a.v, sa!, idx) : 7) : b ? broadcastRead(b.v, sb!, idx) : -2);
        }
        expectClose(out, exp);
      });
    }
  });

  it('a float condition is true where nonzero; errors name where', () => {
    expectClose(mg.where(mg.tensor([0, 0.5, NaN]), mg.tensor([1, 2, 3]), 0), [0, 2, 3]);
    expect(() => mg.where(mg.zeros([2], { dtype: 'int32' }), mg.zeros([3]), 1)).toThrow(/where.*\[2\].*\[3\]/);
  });
});

// Large inputs cross the threading grain; every available ISA must give the same answers.
const ISAS = (['base', 'avx2', 'avx512'] as const).filter((_, i) => i <= ['base', 'avx2', 'avx512'].indexOf(mg.backend.cpuInfo().bestIsa));
afterAll(() => {
  mg.backend.setCpuIsa(mg.backend.cpuInfo().bestIsa);
});

describe.each(ISAS)('ISA %s', (isa) => {
  it('large same-shape, scalar and broadcast inputs', () => {
    expect(mg.backend.setCpuIsa(isa)).toBe(isa);
    for (const dt of ALL) {
      const x = randomTensor([300, 401], dt, 21);
      const y = randomTensor([300, 401], dt, 22);
      const row = randomTensor([401], dt, 23);
      const col = randomTensor([300, 1], dt, 24);
      expectClose(mg.add(x.t, y.t), x.v.map((v, i) => round(v + y.v[i], dt)));
      expectClose(mg.mul(x.t, 3), x.v.map((v) => round(v * 3, dt)));
      expectClose(mg.sub(2, x.t), x.v.map((v) => round(2 - v, dt)));
      expectClose(mg.maximum(x.t, row.t), x.v.map((v, i) => Math.max(v, row.v[i % 401])));
      expectClose(mg.sub(col.t, row.t), x.v.map((_, i) => round(col.v[Math.floor(i / 401)] - row.v[i % 401], dt)));
      expectClose(mg.gt(x.t, col.t), x.v.map((v, i) => +(v > col.v[Math.floor(i / 401)])));
      expectClose(mg.where(mg.gt(x.t, 0), x.t, row.t), x.v.map((v, i) => (v > 0 ? v : row.v[i % 401])));
      expectClose(mg.relu(x.t), x.v.map((v) => (v < 0 ? 0 : v)));
      if (dt !== 'int32') {
        expectClose(mg.exp(x.t), x.v.map(Math.exp));
        expectClose(mg.div(x.t, row.t), x.v.map((v, i) => v / row.v[i % 401]));
        expectClose(mg.sigmoid(x.t), x.v.map((v) => 1 / (1 + Math.exp(-v))));
      }
    }
  });
  it('small inputs of every op agree with the reference', () => {
    mg.backend.setCpuIsa(isa);
    for (const c of BIN) for (const dt of c.ints ? ALL : FLOATS) checkBinary(c, dt, [3, 1, 17], [4, 17], 3);
  });
});

// ---- float32 transcendentals: <= 2 ulp against the correctly rounded result, every ISA ----------
// (AVX2 / AVX-512 use the vector code of native/cpu/simd/vmath.h, base calls libm.) References are
// Math.* in double rounded once to float32; an error is counted in float32 ulps of the reference.
const F32_MAX = 3.4028234663852886e38;
/** Float32 ulp at `y` (a float32 value): 2^(exponent - 23), denormal spacing below 2^-126. */
function ulp32(y: number): number {
  const a = Math.abs(y);
  const e = a === 0 ? -126 : Math.max(Math.floor(Math.log2(a)), -126);
  // log2 may round up just below a power of two: check against the value itself.
  const p = 2 ** e > a && e > -126 ? e - 1 : e;
  return 2 ** (p - 23);
}
/** The float32 values with these bit patterns. */
function fromBits(bits: number[]): number[] {
  const u = new Uint32Array(bits);
  return Array.from(new Float32Array(u.buffer));
}
const nextUp = (x: number) => { const f = new Float32Array([x]); const u = new Uint32Array(f.buffer); u[0] += x >= 0 ? 1 : -1; return f[0]; };
const nextDown = (x: number) => { const f = new Float32Array([x]); const u = new Uint32Array(f.buffer); u[0] += x > 0 ? -1 : 1; return x === 0 ? -(2 ** -149) : f[0]; };
/** Sweep inputs: 2e5 log-spaced magnitudes over the whole float32 range (both signs), dense linear
 * runs over [lo, hi], random bit patterns, special values and the neighbours of `edges`. */
function sweep(lo: number, hi: number, edges: number[]): Float32Array {
  const v: number[] = [0, -0, Infinity, -Infinity, NaN, 2 ** -149, -(2 ** -149), 2 ** -126, -(2 ** -126), F32_MAX, -F32_MAX];
  const N = 100_000;
  for (let k = 0; k <= N; k++) {
    const m = 2 ** (-149 + (k / N) * (128 + 149));
    v.push(Math.min(m, F32_MAX), -Math.min(m, F32_MAX));
  }
  for (let k = 0; k <= 50_000; k++) v.push(lo + ((hi - lo) * k) / 50_000);
  const rnd = prng(99);
  v.push(...fromBits(Array.from({ length: 20_000 }, () => Math.floor(rnd() * 2 ** 32))));
  for (const e of edges) {
    let a = Math.fround(e), b = a;
    for (let k = 0; k < 8; k++) { v.push(a, b); a = nextUp(a); b = nextDown(b); }
  }
  return Float32Array.from(v);
}
const sigmoidRef = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const TRANS: { name: string; f: (t: mg.Tensor) => mg.Tensor; ref: (x: number) => number; lo: number; hi: number; edges: number[] }[] = [
  { name: 'exp', f: mg.exp, ref: Math.exp, lo: -110, hi: 95, edges: [88.72283172607421875, 88.7228393554, -87.33654, -103.27893, -103.97208, -104, 89, 1, -1, 0.3465736] },
  { name: 'log', f: mg.log, ref: Math.log, lo: 0, hi: 4, edges: [1, Math.SQRT1_2, Math.SQRT2, 2 ** -126, 2, 0.5, F32_MAX] },
  { name: 'tanh', f: mg.tanh, ref: Math.tanh, lo: -12, hi: 12, edges: [0.625, -0.625, 9, 9.1, 10, -10, 2 ** -12] },
  { name: 'sigmoid', f: mg.sigmoid, ref: sigmoidRef, lo: -110, hi: 40, edges: [0, -87.3, -88.72, -103.3, -103.97, -120, 17, 16.6] },
  { name: 'sin', f: mg.sin, ref: Math.sin, lo: -100, hi: 100, edges: [Math.PI, Math.PI / 2, Math.PI / 4, 355, 2 ** 20, -(2 ** 20), 2 ** 21, 1e6, 1e22] },
  { name: 'cos', f: mg.cos, ref: Math.cos, lo: -100, hi: 100, edges: [Math.PI, Math.PI / 2, Math.PI / 4, 355, 2 ** 20, -(2 ** 20), 2 ** 21, 1e6, 1e22] },
];
const TRANS_INPUTS = new Map(TRANS.map((c) => {
  const x = sweep(c.lo, c.hi, c.edges);
  return [c.name, { x, ref: Float32Array.from(x, c.ref) }] as const;  // Float32Array.from rounds like Math.fround
}));

describe.each(ISAS)('float32 transcendentals, ISA %s', (isa) => {
  it.each(TRANS.map((c) => c.name))('%s is within 2 ulp over the float32 range, specials exact', (name) => {
    expect(mg.backend.setCpuIsa(isa)).toBe(isa);
    const c = TRANS.find((t) => t.name === name)!;
    const { x, ref } = TRANS_INPUTS.get(name)!;
    const got = c.f(mg.tensor(x, { shape: [x.length], dtype: 'float32' })).data();
    expect(got.length).toBe(x.length);
    let worst = 0, at = 0;
    for (let i = 0; i < x.length; i++) {
      const g = got[i], r = ref[i];
      if (Number.isNaN(r) || Number.isNaN(g) || !Number.isFinite(r) || !Number.isFinite(g)) {
        if (!Object.is(g, r) && !(Number.isNaN(g) && Number.isNaN(r))) throw new Error(`${name}(${x[i]}) = ${g}, expected ${r}`);
        continue;
      }
      const u = Math.abs(g - r) / ulp32(r);
      if (u > worst) { worst = u; at = x[i]; }
    }
    expect(worst, `${name}: max error ${worst} ulp at x = ${at}`).toBeLessThanOrEqual(2);
  });
  it('special values and saturation are exact', () => {
    mg.backend.setCpuIsa(isa);
    const d = (f: (t: mg.Tensor) => mg.Tensor, v: number[]) => Array.from(f(mg.tensor(Float32Array.from(v), { shape: [v.length], dtype: 'float32' })).data());
    expect(d(mg.exp, [-Infinity, Infinity, NaN, 0, -0, 89, 88.7228393554, 1e30, -104, -1e30])).toEqual([0, Infinity, NaN, 1, 1, Infinity, Infinity, Infinity, 0, 0]);
    expect(d(mg.exp, [88.72283172607421875])[0]).toBeLessThan(Infinity);
    expect(d(mg.log, [0, -0, -1, -Infinity, Infinity, NaN, 1, 2 ** -149])).toEqual([-Infinity, -Infinity, NaN, NaN, Infinity, NaN, 0, Math.fround(-149 * Math.LN2)]);
    expect(d(mg.tanh, [9.1, -9.1, 10, -10, 50, -50, 1e30, -1e30, Infinity, -Infinity, NaN, 2 ** -140])).toEqual([1, -1, 1, -1, 1, -1, 1, -1, 1, -1, NaN, 2 ** -140]);
    expect(d(mg.sigmoid, [Infinity, -Infinity, 1e30, -1e30, 40, -200, NaN, 0])).toEqual([1, 0, 1, 0, 1, 0, NaN, 0.5]);
    expect(d(mg.sigmoid, [-100])[0]).toBe(Math.fround(Math.exp(-100)));  // a denormal, not 0
    expect(d(mg.sin, [Infinity, -Infinity, NaN, 0, 2 ** -140])).toEqual([NaN, NaN, NaN, 0, 2 ** -140]);
    expect(d(mg.cos, [Infinity, -Infinity, NaN, 0])).toEqual([NaN, NaN, NaN, 1]);
  });
  it('lengths off the vector width (padded tails) match the whole-array result', () => {
    mg.backend.setCpuIsa(isa);
    const { x } = TRANS_INPUTS.get('sin')!;
    for (const c of TRANS) {
      const whole = c.f(mg.tensor(x.subarray(0, 40), { shape: [40], dtype: 'float32' })).data();
      for (const n of [1, 3, 7, 9, 15, 17, 31, 33]) {
        const part = c.f(mg.tensor(x.subarray(0, n), { shape: [n], dtype: 'float32' })).data();
        expect(Array.from(part)).toEqual(Array.from(whole.subarray(0, n)));
      }
    }
  });
});
