// Every CUDA kernel against the CPU kernel of the same op (the specification): each row runs on
// both devices from the same inputs and the results must agree (exactly where the arithmetic is
// the same, within float tolerances where the order of a sum or a math library differs). Shapes
// are chosen to reach each kernel's paths: GEMM tile sizes and split-K, the reductions' row,
// column and split paths, broadcast plans, softmax rows longer than 1024, cat of more than 16
// inputs. Runs only where a GPU is present; elsewhere it says so and skips.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { matmulT } from '../../src/ops/matmul.js';
import { addon } from '../../src/backend/addon.js';
import { randomTensor } from '../helpers.js';

const gpu = mg.cuda.isAvailable();
if (!gpu) console.log(`test/cuda/ops: skipped, no CUDA device found (CUDA backend compiled in: ${mg.cuda.isCompiled()})`);

const F = mg.nn.functional;
type Dev = mg.Device;
type Out = mg.Tensor | mg.Tensor[];
interface Row {
  name: string;
  /** The ops.def entries the row exercises (checked for coverage below). */
  ops: string[];
  run: (d: Dev) => Out;
  /** Relative and absolute tolerance; both 0: bit-identical. */
  rtol?: number;
  atol?: number;
}

const R = (shape: number[], seed: number, dtype: mg.DType = 'float32', lo = -2, hi = 2) => randomTensor(shape, dtype, seed, lo, hi).t;
const on = (t: mg.Tensor, d: Dev) => t.to(d);
const I = (v: number[], shape?: number[]) => mg.tensor(Int32Array.from(v), { dtype: 'int32', shape: shape ?? [v.length] });
const F32 = { rtol: 2e-6, atol: 1e-6 };
const F64 = { rtol: 1e-12, atol: 1e-12 };
const tolFor = (dt: mg.DType) => (dt === 'float64' ? F64 : dt === 'int32' ? { rtol: 0, atol: 0 } : F32);
const SPECIAL = [0, -0, 1, -1, 0.5, -3.25, 100, -100, NaN, Infinity, -Infinity, 1e-30];
const specialReversed = (dtype: mg.DType) => mg.tensor([...SPECIAL].reverse(), { dtype });
const special = (dtype: mg.DType) => mg.tensor([0, -0, 1, -1, 0.5, -3.25, 100, -100, NaN, Infinity, -Infinity, 1e-30], { dtype });

const rows: Row[] = [];
const add = (r: Row) => rows.push(r);

// ---- creation and conversion ------------------------------------------------------------------
for (const dtype of ['float32', 'float64', 'int32'] as const) {
  add({ name: `full ${dtype}`, ops: ['FILL'], run: (d) => mg.full([37, 5], 2.5, { dtype, device: d }), rtol: 0, atol: 0 });
  add({ name: `cast float64 -> ${dtype}`, ops: ['CAST'], run: (d) => on(R([1000], 1, 'float64', -50, 50), d).to(dtype), rtol: 0, atol: 0 });
}
add({ name: 'cast int32 -> float32', ops: ['CAST'], run: (d) => on(R([100], 2, 'int32', -1e6, 1e6), d).to('float32'), rtol: 0, atol: 0 });
add({ name: 'clone, reshape view', ops: ['COPY', 'RESHAPE'], run: (d) => { const x = on(R([6, 4], 3), d); return [x.clone(), x.reshape([3, 8])]; }, rtol: 0, atol: 0 });
add({ name: 'copy_ in place', ops: ['ASSIGN'], run: (d) => { const x = mg.zeros([5, 3], { device: d }); x.copy_(on(R([5, 3], 4), d)); return x; }, rtol: 0, atol: 0 });

// ---- unary --------------------------------------------------------------------------------------
const unaries: [string, string, (x: mg.Tensor) => mg.Tensor, boolean][] = [
  ['NEG', 'neg', mg.neg, true], ['EXP', 'exp', mg.exp, false], ['LOG', 'log', mg.log, false], ['SIN', 'sin', mg.sin, false],
  ['COS', 'cos', mg.cos, false], ['TANH', 'tanh', mg.tanh, false], ['SIGMOID', 'sigmoid', mg.sigmoid, false],
  ['RELU', 'relu', mg.relu, true], ['ABS', 'abs', mg.abs, true], ['SQRT', 'sqrt', mg.sqrt, false],
  ['SQUARE', 'square', mg.square, true], ['SIGN', 'sign', mg.sign, true], ['CLAMP', 'clamp', (x) => mg.clamp(x, -0.7, 1.5), true],
];
for (const [op, name, fn, ints] of unaries) {
  for (const dtype of ['float32', 'float64'] as const) {
    const lo = op === 'LOG' || op === 'SQRT' ? 0 : -20;
    add({ name: `${name} ${dtype}`, ops: [op], run: (d) => [fn(on(R([3001], 10, dtype, lo, 20), d)), fn(on(special(dtype), d))], ...(dtype === 'float32' ? { rtol: 6e-7, atol: 1e-30 } : { rtol: 1e-15, atol: 1e-300 }) });
  }
  if (ints) add({ name: `${name} int32`, ops: [op], run: (d) => fn(on(I([0, 1, -1, 7, -7, 46341, -2147483648, 2147483647]), d)), rtol: 0, atol: 0 });
}

// ---- binary (broadcasting) --------------------------------------------------------------------
const binaries: [string, string, (a: mg.TensorLike, b: mg.TensorLike) => mg.Tensor][] = [
  ['ADD', 'add', mg.add], ['SUB', 'sub', mg.sub], ['MUL', 'mul', mg.mul], ['DIV', 'div', mg.div], ['POW', 'pow', mg.pow],
  ['MAXIMUM', 'maximum', mg.maximum], ['MINIMUM', 'minimum', mg.minimum], ['EQ', 'eq', mg.eq], ['NE', 'ne', mg.ne],
  ['LT', 'lt', mg.lt], ['LE', 'le', mg.le], ['GT', 'gt', mg.gt], ['GE', 'ge', mg.ge],
];
for (const [op, name, fn] of binaries) {
  for (const dtype of ['float32', 'float64'] as const) {
    const lo = op === 'POW' ? 0.1 : -3;
    add({
      name: `${name} ${dtype}: same shape, broadcast, scalar, 3-d broadcast`,
      ops: [op],
      run: (d) => {
        const a = on(R([300, 7], 20, dtype, lo, 3), d);
        const b = on(R([300, 7], 21, dtype, -3, 3), d);
        return [fn(a, b), fn(a, on(R([7], 22, dtype, -3, 3), d)), fn(on(R([300, 1], 23, dtype, lo, 3), d), b), fn(a, 1.5), fn(2.5, b),
          fn(on(R([4, 1, 5], 24, dtype, lo, 3), d), on(R([3, 1], 25, dtype, -2, 2), d)), fn(on(special(dtype), d), on(specialReversed(dtype), d))];
      },
      ...(op === 'POW' ? (dtype === 'float32' ? { rtol: 6e-7, atol: 1e-30 } : { rtol: 1e-15, atol: 1e-300 }) : { rtol: 0, atol: 0 }),
    });
  }
  if (op !== 'DIV') {
    add({
      name: `${name} int32 (wrapping)`,
      ops: [op],
      run: (d) => {
        const a = on(I([0, 1, -1, 7, 3, 46341, 2147483647, -2147483648, 5, -9]), d);
        const b = on(op === 'POW' ? I([0, 1, 2, 3, 0, 2, 2, 3, 13, 5]) : I([3, -1, -1, 7, 46341, 46341, 1, -1, 0, 2]), d);
        return [fn(a, b), fn(a.reshape([10, 1]), b.reshape([1, 10])), fn(a, 2)];
      },
      rtol: 0,
      atol: 0,
    });
  }
}
add({
  name: 'where: broadcast condition, tensor and scalar values, all dtypes',
  ops: ['WHERE'],
  run: (d) => {
    const c = on(I([1, 0, 1, 1, 0, 0, 1], [7, 1]), d);
    return (['float32', 'float64', 'int32'] as const).flatMap((dt) => [
      mg.where(c, on(R([7, 9], 30, dt), d), on(R([9], 31, dt), d)),
      mg.where(c, 2, on(R([3, 7, 9], 32, dt), d)),
    ]);
  },
  rtol: 0,
  atol: 0,
});

// ---- reductions -------------------------------------------------------------------------------
const reductions: [string, (x: mg.Tensor, ax?: number | number[]) => mg.Tensor][] = [
  ['SUM', (x, ax) => mg.sum(x, ax)], ['MEAN', (x, ax) => mg.mean(x, ax)], ['MAX', (x, ax) => mg.max(x, ax)],
  ['MIN', (x, ax) => mg.min(x, ax)], ['LOGSUMEXP', (x, ax) => mg.logsumexp(x, ax)],
];
for (const [op, fn] of reductions) {
  for (const dtype of ['float32', 'float64'] as const) {
    add({
      name: `${op.toLowerCase()} ${dtype}: full, rows, columns, split columns, interleaved axes`,
      ops: [op],
      run: (d) => {
        const big = on(R([1000, 300], 40, dtype), d);
        return [fn(big), fn(big, 1), fn(big, 0), fn(on(R([20000, 3], 41, dtype), d), 0), fn(on(R([8, 30, 50], 42, dtype), d), [0, 2]),
          fn(on(R([64, 5000], 43, dtype), d), 1), fn(on(R([5, 20], 44, dtype), d), 1)];
      },
      ...(op === 'MAX' || op === 'MIN' ? { rtol: 0, atol: 0 } : dtype === 'float32' ? { rtol: 1e-6, atol: 1e-6 } : { rtol: 1e-12, atol: 1e-12 }),
    });
  }
}
add({
  name: 'sum/max/min of int32 (int64 accumulation, wrapping), mean of int32',
  ops: ['SUM', 'MAX', 'MIN', 'MEAN'],
  run: (d) => {
    const x = on(R([300, 77], 45, 'int32', -1e9, 1e9), d);
    return [mg.sum(x), mg.sum(x, 0), mg.max(x, 1), mg.min(x), mg.mean(x, 1)];
  },
  rtol: 1e-12,
  atol: 0,
});
add({
  name: 'argmax: ties keep the first, NaN wins, full and per axis, int32',
  ops: ['ARGMAX'],
  run: (d) => {
    const t = on(mg.tensor([[1, 3, 3, 2], [NaN, 5, NaN, 1], [-Infinity, -Infinity, -Infinity, -Infinity]], { dtype: 'float32' }), d);
    const big = on(R([50, 3000], 46, 'float64'), d);
    return [mg.argmax(t, 1), mg.argmax(t, 0), mg.argmax(big), mg.argmax(big, 1), mg.argmax(big, 0), mg.argmax(on(R([40, 9], 47, 'int32', -3, 3), d), 1)];
  },
  rtol: 0,
  atol: 0,
});
add({
  name: 'logsumexp of -inf rows and +inf; empty reductions',
  ops: ['LOGSUMEXP', 'SUM', 'MEAN'],
  run: (d) => {
    const t = on(mg.tensor([[-Infinity, -Infinity], [Infinity, 1], [NaN, 0]], { dtype: 'float64' }), d);
    const e = mg.zeros([3, 0], { device: d });
    return [mg.logsumexp(t, 1), mg.sum(e, 1), mg.mean(e, 1), mg.logsumexp(e, 1)];
  },
  rtol: 0,
  atol: 0,
});

// ---- matmul -----------------------------------------------------------------------------------
for (const dtype of ['float32', 'float64', 'int32'] as const) {
  const tol = dtype === 'float32' ? { rtol: 1e-5, atol: 1e-4 } : dtype === 'float64' ? { rtol: 1e-12, atol: 1e-11 } : { rtol: 0, atol: 0 };
  const lo = dtype === 'int32' ? -50 : -1;
  const hi = -lo;
  add({
    name: `matmul ${dtype}: tiny, odd, 128-tiles, batched broadcast, 1-D, k = 0`,
    ops: ['MATMUL'],
    run: (d) => {
      const r = (s: number[], seed: number) => on(R(s, seed, dtype, lo, hi), d);
      return [
        mg.matmul(r([1, 1], 50), r([1, 1], 51)),
        mg.matmul(r([17, 33], 52), r([33, 5], 53)),
        mg.matmul(r([260, 300], 54), r([300, 257], 55)),
        mg.matmul(r([4, 1, 20, 30], 56), r([3, 30, 10], 57)),
        mg.matmul(r([30], 58), r([2, 30, 7], 59)),
        mg.matmul(r([2, 7, 30], 60), r([30], 61)),
        mg.matmul(r([5, 0], 62), r([0, 4], 63)),
      ];
    },
    ...tol,
  });
  add({
    name: `matmulT ${dtype}: all four transpose flags`,
    ops: ['MATMUL'],
    run: (d) => {
      const r = (s: number[], seed: number) => on(R(s, seed, dtype, lo, hi), d);
      return [matmulT(r([70, 40], 64), r([40, 90], 65), false, false), matmulT(r([40, 70], 66), r([40, 90], 67), true, false),
        matmulT(r([70, 40], 68), r([90, 40], 69), false, true), matmulT(r([3, 40, 70], 70), r([90, 40], 71), true, true)];
    },
    ...tol,
  });
}
add({
  name: 'matmul float32 with a long inner dimension (split-K)',
  ops: ['MATMUL'],
  run: (d) => [mg.matmul(on(R([8, 20000], 72, 'float32', -1, 1), d), on(R([20000, 8], 73, 'float32', -1, 1), d)),
    mg.matmul(on(R([8, 20000], 74, 'float64', -1, 1), d), on(R([20000, 8], 75, 'float64', -1, 1), d))],
  rtol: 1e-5,
  atol: 1e-3,
});

// ---- convolution ------------------------------------------------------------------------------
const convCases = [
  { name: 'conv4 layer 1: 1->64 28x28 stride 2 pad 1, bias', x: [5, 1, 28, 28], w: [64, 1, 3, 3], o: { stride: 2, padding: 1 }, bias: true },
  { name: 'conv4 layer 2: 64->64 14x14 pad 1', x: [5, 64, 14, 14], w: [64, 64, 3, 3], o: { padding: 1 }, bias: false },
  { name: 'groups 4 (task-batched), stride [2,1], bias', x: [3, 8, 9, 7], w: [12, 2, 3, 2], o: { stride: [2, 1] as [number, number], groups: 4, padding: [1, 0] as [number, number] }, bias: true },
  { name: 'dilation 2, 5x5 kernel', x: [2, 3, 11, 12], w: [4, 3, 5, 5], o: { dilation: 2, padding: 2 }, bias: false },
];
for (const c of convCases) {
  for (const dtype of ['float32', 'float64'] as const) {
    add({
      name: `conv2d, input grad, weight grad ${dtype}: ${c.name}`,
      ops: ['CONV2D', 'CONV2D_INPUT_GRAD', 'CONV2D_WEIGHT_GRAD'],
      run: (d) => {
        const x = on(R(c.x, 80, dtype, -1, 1), d);
        const w = on(R(c.w, 81, dtype, -1, 1), d);
        const b = c.bias ? on(R([c.w[0]], 82, dtype), d) : null;
        const y = F.conv2d(x, w, b, c.o);
        const g = on(R(y.shape as number[], 83, dtype, -1, 1), d);
        return [y, mg.conv2dInputGrad(g, w, c.x, c.o), mg.conv2dWeightGrad(g, x, c.w, c.o)];
      },
      ...(dtype === 'float32' ? { rtol: 1e-5, atol: 1e-4 } : { rtol: 1e-11, atol: 1e-11 }),
    });
  }
}

// ---- pooling ----------------------------------------------------------------------------------
for (const dtype of ['float32', 'float64'] as const) {
  add({
    name: `maxPool2d with indices and backward ${dtype}: 2x2, 3x3 stride 2 pad 1 ceil, dilation, overlapping`,
    ops: ['MAXPOOL2D', 'MAXPOOL2D_BACKWARD'],
    run: (d) => {
      const x = on(R([3, 4, 13, 11], 90, dtype), d);
      const out: mg.Tensor[] = [];
      for (const [k, o] of [[2, {}], [3, { stride: 2, padding: 1, ceilMode: true }], [2, { dilation: 2 }], [3, { stride: 1 }]] as const) {
        const [v, i] = mg.maxPool2dWithIndices(x, k, o);
        out.push(v, i, mg.maxPool2dBackward(on(R(v.shape as number[], 91, dtype), d), i, x.shape));
      }
      return out;
    },
    rtol: 0,
    atol: 0,
  });
  add({
    name: `avgPool2d and backward ${dtype}: 2x2, 3x3 stride 2 pad 1 ceil (with and without the padding in the count)`,
    ops: ['AVGPOOL2D', 'AVGPOOL2D_BACKWARD'],
    run: (d) => {
      const x = on(R([2, 3, 10, 9], 92, dtype), d);
      const out: mg.Tensor[] = [];
      for (const [k, o] of [[2, {}], [3, { stride: 2, padding: 1, ceilMode: true }], [3, { stride: 2, padding: 1, countIncludePad: false }]] as const) {
        const y = F.avgPool2d(x, k, o);
        out.push(y, mg.avgPool2dBackward(on(R(y.shape as number[], 93, dtype), d), x.shape, k, o));
      }
      return out;
    },
    ...(dtype === 'float32' ? { rtol: 1e-6, atol: 1e-7 } : F64),
  });
}

// ---- softmax ----------------------------------------------------------------------------------
for (const dtype of ['float32', 'float64'] as const) {
  add({
    name: `softmax and logSoftmax ${dtype}: short rows, rows over 1024, a middle axis`,
    ops: ['SOFTMAX', 'LOG_SOFTMAX'],
    run: (d) => {
      const a = on(R([40, 10], 95, dtype, -5, 5), d);
      const b = on(R([3, 3000], 96, dtype, -5, 5), d);
      const c = on(R([4, 50, 33], 97, dtype, -5, 5), d);
      return [F.softmax(a), F.logSoftmax(a), F.softmax(b), F.logSoftmax(b), F.softmax(c, 1), F.logSoftmax(c, 1)];
    },
    ...(dtype === 'float32' ? { rtol: 2e-6, atol: 1e-7 } : F64),
  });
}

// ---- movement ---------------------------------------------------------------------------------
for (const dtype of ['float32', 'float64', 'int32'] as const) {
  add({
    name: `permute, expand, slice, pad, cat ${dtype}`,
    ops: ['PERMUTE', 'EXPAND', 'SLICE', 'PAD', 'CAT'],
    run: (d) => {
      const x = on(R([2, 3, 4, 5], 100, dtype), d);
      const many = Array.from({ length: 20 }, (_, i) => on(R([2, i % 3, 3], 110 + i, dtype), d));
      return [mg.permute(x, [3, 1, 0, 2]), mg.expand(on(R([3, 1, 4], 101, dtype), d), [2, 3, 5, 4]), mg.slice(x, 3, 1, 5, 2),
        mg.slice(x, 1, 0, 3, 2), mg.pad(x, [1, 0, 0, 2, 3, 1], 7), mg.cat([x, on(R([2, 1, 4, 5], 102, dtype), d), x], 1), mg.cat(many, 1)];
    },
    rtol: 0,
    atol: 0,
  });
  add({
    name: `gather, scatterAdd, indexSelect, indexAdd ${dtype}, repeated indices`,
    ops: ['GATHER', 'SCATTER_ADD', 'INDEX_SELECT', 'INDEX_ADD'],
    run: (d) => {
      const x = on(R([4, 5], 120, dtype), d);
      const gi = on(I([0, 4, 4, 1, 2, 2, 3, 0, 1, 1, 1, 0], [4, 3]), d);
      const si = on(I([0, 0, 2, 1, 1, 1], [2, 3]), d);
      return [mg.gather(x, 1, gi), mg.gather(x, 0, on(I([3, 0, 3, 2, 1], [1, 5]), d)),
        mg.scatterAdd(x, 0, si, on(R([2, 3], 121, dtype), d)), mg.scatterAdd(x, 1, gi, on(R([4, 3], 122, dtype), d)),
        mg.indexSelect(x, 1, on(I([4, 0, 4]), d)), mg.indexAdd(x, 0, on(I([3, 3, 0]), d), on(R([3, 5], 123, dtype), d))];
    },
    rtol: 0,
    atol: 0,
  });
  add({ name: `oneHot -> ${dtype}`, ops: ['ONE_HOT'], run: (d) => mg.oneHot(on(I([2, 0, 4, 4, 1], [5]), d), 6, { dtype }), rtol: 0, atol: 0 });
}

// ---- random -----------------------------------------------------------------------------------
add({
  name: 'rand, randn, randint: the same Philox stream as the CPU',
  ops: ['RAND_UNIFORM', 'RAND_NORMAL', 'RAND_INT'],
  run: (d) => {
    mg.manualSeed(1234);
    return [mg.rand([1001], { device: d }), mg.rand([77], { device: d, dtype: 'float64' }), mg.randint(-5, 9, [333], { device: d }),
      mg.randint(0, 3, [10], { device: d, dtype: 'float32' }), mg.randn([1003], { device: d }), mg.randn([64], { device: d, dtype: 'float64' })];
  },
  rtol: 1e-14,
  atol: 1e-14,
});

// ---- the comparison ---------------------------------------------------------------------------
function flat(o: Out): mg.Tensor[] {
  return Array.isArray(o) ? o : [o];
}

function expectClose(name: string, got: mg.Tensor, want: mg.Tensor, rtol: number, atol: number): void {
  expect(got.device, name).toBe('cuda');
  expect([got.dtype, got.shape], name).toEqual([want.dtype, want.shape]);
  const g = got.data();
  const w = want.data();
  let bad = -1;
  for (let i = 0; i < w.length; i++) {
    const a = g[i];
    const b = w[i];
    if (Number.isNaN(b) ? !Number.isNaN(a) : !(a === b || Math.abs(a - b) <= atol + rtol * Math.abs(b))) {
      bad = i;
      break;
    }
  }
  expect(bad === -1 ? 'ok' : `element ${bad}: cuda ${g[bad]} vs cpu ${w[bad]}`, name).toBe('ok');
}

describe.skipIf(!gpu)('cuda kernels against the cpu kernels', () => {
  test('every op of the op table has a CUDA kernel and a row here', () => {
    const covered = new Set(rows.flatMap((r) => r.ops));
    const missing = addon.opNames().filter((n) => !covered.has(n));
    expect(missing).toEqual([]);
  });

  for (const r of rows) {
    test(r.name, () => {
      mg.tidy(() => {
        const want = flat(r.run('cpu'));
        const got = flat(r.run('cuda'));
        expect(got.length).toBe(want.length);
        got.forEach((t, i) => expectClose(`${r.name} [output ${i}]`, t, want[i], r.rtol ?? tolFor(t.dtype).rtol, r.atol ?? tolFor(t.dtype).atol));
      });
    });
  }

  test('TF32 (opt-in) stays within 1e-2 of the fp32 result; off again gives exact fp32', () => {
    mg.tidy(() => {
      const a = R([512, 384], 130, 'float32', -1, 1);
      const b = R([384, 256], 131, 'float32', -1, 1);
      const ref = mg.matmul(a, b);
      const before = mg.cuda.tf32Enabled();
      try {
        mg.cuda.setTF32(true);
        const t = mg.matmul(a.to('cuda'), b.to('cuda')).to('cpu');
        const err = mg.max(mg.abs(mg.sub(t, ref))).item() / mg.max(mg.abs(ref)).item();
        expect(err).toBeLessThan(1e-2);
        mg.cuda.setTF32(false);
        expectClose('exact', mg.matmul(a.to('cuda'), b.to('cuda')), ref, 1e-5, 1e-4);
      } finally {
        mg.cuda.setTF32(before);
      }
    });
  });

  test('one seed, one stream across devices: cpu then cuda continues where the cpu left off', () => {
    mg.tidy(() => {
      mg.manualSeed(99);
      const whole = mg.rand([40]).data();
      mg.manualSeed(99);
      const a = mg.rand([20]).data();
      const b = mg.rand([20], { device: 'cuda' }).data();
      expect([...a, ...b]).toEqual(Array.from(whole));
    });
  });

  test('an out-of-range index is an Error naming the op (at the next synchronisation), and the process goes on', () => {
    const x = mg.zeros([3, 4], { device: 'cuda' });
    const bad = mg.tensor([[0, 5]], { dtype: 'int32', device: 'cuda' });
    expect(() => {
      const y = mg.gather(x, 1, bad);
      mg.cuda.synchronize();
      y.dispose();
    }).toThrow(/gather: index 5 is out of range for axis 1 of size 4/);
    expect(mg.sum(mg.add(x, 1)).item()).toBe(12);
    x.dispose();
    bad.dispose();
  });

  test('out of device memory is a JS Error; the process stays usable and memory returns to its baseline', () => {
    const before = mg.memory().cuda;
    expect(() => mg.zeros([2 ** 40], { device: 'cuda' })).toThrow(/out of memory/);
    const y = mg.tidy(() => mg.sum(mg.ones([1000], { device: 'cuda' })).item());
    expect(y).toBe(1000);
    expect(mg.memory().cuda).toMatchObject({ tensors: before.tensors, bytes: before.bytes });
  });

  test('the caching allocator reuses freed blocks and reports device memory', () => {
    mg.releaseCachedMemory();
    const m0 = mg.memory().cuda;
    for (let i = 0; i < 20; i++) mg.tidy(() => mg.add(mg.ones([1 << 18], { device: 'cuda' }), 1).sum().item());
    const m1 = mg.memory().cuda;
    expect(m1.bytes).toBe(m0.bytes);
    expect(m1.cachedBytes).toBeGreaterThan(0);
    expect(m1.reservedBytes - m0.reservedBytes).toBeLessThanOrEqual(4 * (1 << 20) + (1 << 16)); // a few blocks, not one per op
    expect(m1.deviceTotalBytes).toBeGreaterThan(0);
    mg.releaseCachedMemory();
    expect(mg.memory().cuda.cachedBytes).toBe(0);
  });
});
