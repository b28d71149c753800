// Fuzzes the public op table (mg.* functions, mg.nn.functional, Tensor methods, the functional
// transforms) with random shapes, dtypes, NaN/Inf, disposed tensors and wrong kinds of argument.
// Run by test/fuzz/public_ops.test.ts in a child process, so a native crash fails the test instead
// of killing vitest: `node test/fuzz/public_ops_fuzz.mjs SEED CALLS`.
//
// Every call must either return (tensors whose data has exactly `size` elements) or throw an
// Error (not a TypeError/RangeError) whose message starts with the public name that was called.
// Before each call its description goes to fd 3 (synchronously), so the parent can name the call
// that crashed the process. At the end one JSON line on stdout: { calls, returned, rejected, failures }.
import * as fs from 'node:fs';
import * as mg from '../../dist/index.js';

const seed0 = Number(process.argv[2] ?? 1);
const calls = Number(process.argv[3] ?? 3000);
let s = seed0 >>> 0 || 1;
/** xorshift32 in [0, 1). */
const rnd = () => {
  s ^= s << 13;
  s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5;
  s >>>= 0;
  return s / 2 ** 32;
};
const pick = (xs) => xs[Math.floor(rnd() * xs.length)];
const chance = (p) => rnd() < p;

// ---- values ----------------------------------------------------------------------------------

const DTYPES = ['float32', 'float64', 'int32'];
// Dimensions: small valid ones, and invalid or absurd ones (the absurd ones are far beyond any
// memory, so a shape that accepted one by mistake could not silently allocate it either).
const GOOD_DIMS = [0, 1, 1, 2, 2, 3, 4];
const BAD_DIMS = [-1, 1.5, NaN, Infinity, 2 ** 40, 2 ** 53, 2 ** 53 + 2, 1e308, '2', null];
const NUMBERS = [0, 1, -1, 2, 3, 0.5, -2.5, NaN, Infinity, -Infinity, 1e308, 2 ** 53, -0, 7];
const GARBAGE = [Symbol('s'), null, undefined, 'x', '', 1n, {}, [], [[1], [1, 2]], true, () => 1, NaN, new Float32Array(2), new Map()];

const made = [];
// Shapes whose element count overflows 64 bits (these crashed the addon or came back empty).
const OVERFLOWING = [[2 ** 31, 2 ** 31], [2 ** 32, 2 ** 32], [2 ** 62, 4], [2 ** 32, 2 ** 32, 4], [1e308]];
function dims() {
  if (chance(0.04)) return pick(OVERFLOWING);
  return Array.from({ length: Math.floor(rnd() * 4) }, () => (chance(0.06) ? pick(BAD_DIMS) : pick(GOOD_DIMS)));
}
function goodShape(maxRank = 3) {
  return Array.from({ length: Math.floor(rnd() * (maxRank + 1)) }, () => pick(GOOD_DIMS));
}
function tensorOf(shape, dtype) {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Array.from({ length: n }, () => (dtype === 'int32' ? Math.floor(rnd() * 7) - 3 : chance(0.05) ? pick([NaN, Infinity, -Infinity]) : rnd() * 4 - 2));
  const C = dtype === 'float64' ? Float64Array : dtype === 'int32' ? Int32Array : Float32Array;
  const t = mg.tensor(C.from(data), { shape, dtype, requiresGrad: dtype !== 'int32' && chance(0.3) });
  made.push(t);
  if (chance(0.05)) t.dispose();
  return t;
}
const tensorArg = (shape = goodShape(), dtype = pick(DTYPES)) => tensorOf(shape, dtype);
const floatTensor = (shape = goodShape()) => tensorOf(shape, pick(['float32', 'float64']));
const indexTensor = (shape = goodShape(2), hi = 4) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = mg.tensor(Int32Array.from({ length: n }, () => Math.floor(rnd() * (hi + 2)) - 1), { shape });
  made.push(t);
  return t;
};
const options = () => pick([undefined, {}, { dtype: pick([...DTYPES, 'float16', 3]) }, { requiresGrad: pick([true, false, 'yes', 1]) }, { device: pick(['cpu', 'tpu']) }, null, 'x']);

/** The fuzzed user functions' own check of their argument (their Error names 'userFn'). */
const live = (a) => {
  if (!(a instanceof mg.Tensor)) throw new Error(`userFn: called with ${describe(a)}`);
  return a;
};

/** One argument of kind `k`; with probability 0.1 something of the wrong kind instead. */
function arg(k) {
  if (k === 'this') return tensorArg(); // a method's receiver is a tensor (possibly disposed)
  if (chance(0.1)) return pick(GARBAGE);
  switch (k) {
    case 't': return tensorArg();
    case 'f': return floatTensor();
    case 'tl': return chance(0.3) ? pick(NUMBERS) : tensorArg();
    case 'num': return pick(NUMBERS);
    case 'int': return chance(0.8) ? pick([0, 1, 2, 3, 4, -1]) : pick(NUMBERS);
    case 'axis': return chance(0.8) ? pick([0, 1, -1, 2, -2]) : pick(NUMBERS);
    case 'axes': return pick([undefined, 0, -1, 1, [0], [0, 1], [1, 1], [5], 1.5]);
    case 'bool': return pick([true, false, undefined]);
    case 'shape': return dims();
    case 'pads': return chance(0.8) ? Array.from({ length: pick([0, 2, 4, 3]) }, () => pick([0, 1, 2])) : Array.from({ length: 2 }, () => pick([...BAD_DIMS, 1e13]));
    case 'perm': return pick([[0], [1, 0], [0, 1, 2], [2, 1, 0], [0, 0], [3], []]);
    case 'tlist': {
      const shape = goodShape();
      return Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => (chance(0.8) ? tensorArg(shape) : tensorArg()));
    }
    case 'idx': return indexTensor();
    case 'img': return floatTensor([pick([1, 2]), pick([1, 2]), pick([1, 3, 4]), pick([1, 3, 4])]);
    case 'w4': return floatTensor([pick([1, 2]), pick([1, 2]), pick([1, 2]), pick([1, 2])]);
    case 'opts': return options();
    case 'data': return pick([1, [1, 2], [[1, 2], [3, 4]], [[1], [2, 3]], [], [[]], new Float32Array(3), [NaN, Infinity], ['a'], [1n]]);
    case 'fn': return pick([(a) => live(a).sin().sum(), (a) => live(a).mul(a).sum(), (a) => live(a), () => 3, (a) => live(a).matmul(a).sum()]);
    case 'primals': return chance(0.8) ? [floatTensor(goodShape(2))] : pick(GARBAGE);
    case 'kernel': return pick([1, 2, [1, 2], 0, -1, 2 ** 40, NaN]);
    case 'poolopts': return pick([undefined, {}, { stride: pick([1, 2, 0, 2 ** 40]) }, { padding: pick([0, 1, 2 ** 40, -1]) }, null]);
    case 'convopts': return pick([undefined, {}, { stride: pick([1, 2, 0]) }, { padding: pick([0, 1, 2 ** 40]) }, { groups: pick([1, 2, 0]) }, null]);
    case 'lossopts': return pick([undefined, {}, { reduction: pick(['mean', 'sum', 'none', 'bad']) }, null]);
    default: throw new Error(`fuzz: unknown kind ${k}`);
  }
}

// ---- the op table ----------------------------------------------------------------------------

const F = mg.nn.functional;
/** name -> [function, argument kinds]; the name is what an error must start with. */
const table = {
  tensor: [mg.tensor, ['data', 'opts']],
  zeros: [mg.zeros, ['shape', 'opts']],
  ones: [mg.ones, ['shape', 'opts']],
  full: [mg.full, ['shape', 'num', 'opts']],
  zerosLike: [mg.zerosLike, ['t', 'opts']],
  onesLike: [mg.onesLike, ['t', 'opts']],
  fullLike: [mg.fullLike, ['t', 'num', 'opts']],
  arange: [mg.arange, ['int', 'int', 'int', 'opts']],
  linspace: [mg.linspace, ['num', 'num', 'int', 'opts']],
  eye: [mg.eye, ['int', 'int', 'opts']],
  rand: [mg.rand, ['shape', 'opts']],
  randn: [mg.randn, ['shape', 'opts']],
  randint: [mg.randint, ['int', 'int', 'shape', 'opts']],
  manualSeed: [mg.manualSeed, ['int']],
  matmul: [mg.matmul, ['t', 't']],
  reshape: [mg.reshape, ['t', 'shape']],
  flatten: [mg.flatten, ['t', 'axis', 'axis']],
  squeeze: [mg.squeeze, ['t', 'axes']],
  unsqueeze: [mg.unsqueeze, ['t', 'axis']],
  transpose: [mg.transpose, ['t', 'axis', 'axis']],
  permute: [mg.permute, ['t', 'perm']],
  expand: [mg.expand, ['t', 'shape']],
  slice: [mg.slice, ['t', 'axis', 'int', 'int', 'int']],
  cat: [mg.cat, ['tlist', 'axis']],
  stack: [mg.stack, ['tlist', 'axis']],
  gather: [mg.gather, ['t', 'axis', 'idx']],
  scatterAdd: [mg.scatterAdd, ['t', 'axis', 'idx', 't']],
  indexSelect: [mg.indexSelect, ['t', 'axis', 'idx']],
  indexAdd: [mg.indexAdd, ['t', 'axis', 'idx', 't']],
  oneHot: [mg.oneHot, ['idx', 'int', 'opts']],
  pad: [mg.pad, ['t', 'pads', 'num']],
  copy_: [mg.copy_, ['t', 't']],
  grad: [mg.grad, ['t', 't', 'opts']],
  where: [mg.where, ['t', 'tl', 'tl']],
  clamp: [mg.clamp, ['t', 'num', 'num']],
  linear: [F.linear, ['f', 'f', 'f']],
  conv2d: [F.conv2d, ['img', 'w4', 'f', 'convopts']],
  maxPool2d: [F.maxPool2d, ['img', 'kernel', 'poolopts']],
  avgPool2d: [F.avgPool2d, ['img', 'kernel', 'poolopts']],
  batchNorm: [F.batchNorm, ['f', 'f', 'f', 'opts']],
  softmax: [F.softmax, ['f', 'axis']],
  logSoftmax: [F.logSoftmax, ['f', 'axis']],
  crossEntropy: [F.crossEntropy, ['f', 'idx', 'lossopts']],
  mseLoss: [F.mseLoss, ['f', 'f', 'lossopts']],
  softplus: [F.softplus, ['f']],
  binaryCrossEntropyWithLogits: [F.binaryCrossEntropyWithLogits, ['f', 'f', 'lossopts']],
  accuracy: [F.accuracy, ['f', 'idx']],
  vjp: [(f, p) => mg.vjp(f, p), ['fn', 'primals']],
  jvp: [(f, p) => mg.jvp(f, p, Array.isArray(p) ? p.map((x) => (x instanceof mg.Tensor && !x.isDisposed ? mg.onesLike(x) : x)) : p), ['fn', 'primals']],
  hvp: [(f, p, m) => mg.hvp(f, p, Array.isArray(p) ? p.map((x) => (x instanceof mg.Tensor && !x.isDisposed ? mg.onesLike(x) : x)) : p, { mode: m }), ['fn', 'primals', 'num']],
  hessian: [mg.hessian, ['fn', 'primals']],
  jacobian: [(f, p, o) => mg.jacobian(f, p, o), ['fn', 'primals', 'opts']],
};
for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge']) table[op] = [mg[op], ['tl', 'tl']];
for (const op of ['neg', 'exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'abs', 'sqrt', 'square', 'sign']) table[op] = [mg[op], ['t']];
for (const op of ['sum', 'mean', 'max', 'min', 'logsumexp']) table[op] = [mg[op], ['t', 'axes', 'bool']];
table.argmax = [mg.argmax, ['t', 'axis', 'bool']];
// Tensor methods: the same ops called on a tensor (the method's name must appear in its errors).
const methods = {
  add: ['tl'], mul: ['tl'], pow: ['tl'], sqrt: [], exp: [], sum: ['axes', 'bool'], mean: ['axes', 'bool'], argmax: ['axis', 'bool'],
  matmul: ['t'], reshape: ['shape'], expand: ['shape'], permute: ['perm'], slice: ['axis', 'int', 'int', 'int'], pad: ['pads', 'num'],
  gather: ['axis', 'idx'], indexSelect: ['axis', 'idx'], transpose: ['axis', 'axis'], clamp: ['num', 'num'], to: ['opts'],
  item: [], data: [], toArray: [], detach: [], clone: [], copy_: ['t'], requiresGrad_: ['bool'], backward: [],
};
for (const [m, kinds] of Object.entries(methods)) table[`.${m}`] = [(t, ...rest) => mg.Tensor.prototype[m].apply(t, rest), ['this', ...kinds]];
// The transforms run the fuzzed f: an error inside it names the op that failed there.
const INSIDE_F = ['matmul', 'sin', 'mul', 'sum', 'userFn'];
for (const t of ['vjp', 'jvp', 'hvp', 'hessian', 'jacobian']) table[t][2] = INSIDE_F;
const names = Object.keys(table);

// ---- the run ---------------------------------------------------------------------------------

const describe = (v) => {
  if (v instanceof mg.Tensor) return v.isDisposed ? `disposed(${v.dtype} [${v.shape}])` : `${v.dtype}[${v.shape}]${v.requiresGrad ? 'rg' : ''}`;
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'fn';
  if (v instanceof Float32Array) return 'Float32Array';
  if (v instanceof Map) return 'Map';
  if (Array.isArray(v)) return `[${v.map(describe).join(',')}]`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
};
const checkResult = (r, where) => {
  if (r instanceof mg.Tensor) {
    if (r.isDisposed) return;
    if (r.size <= 1e6 && r.data().length !== r.size) throw new Error(`fuzz: ${where} returned a tensor of shape [${r.shape}] with ${r.data().length} values`);
    made.push(r);
  } else if (Array.isArray(r)) for (const x of r) checkResult(x, where);
};

const failures = [];
let returned = 0;
let rejected = 0;
for (let i = 0; i < calls; i++) {
  const name = pick(names);
  const [fn, kinds, alsoNamed = []] = table[name];
  let args;
  try {
    args = kinds.map(arg);
  } catch (e) {
    failures.push({ i, name, setup: String(e) });
    continue;
  }
  // Sometimes drop trailing arguments, sometimes add one.
  if (chance(0.05)) args = args.slice(0, Math.max(kinds[0] === 'this' ? 1 : 0, Math.floor(rnd() * args.length)));
  const what = `${i} ${name}(${args.map(describe).join(', ')})`;
  fs.writeSync(3, `${what}\n`);
  const opName = name.startsWith('.') ? name.slice(1) : name;
  try {
    checkResult(fn(...args), what);
    returned++;
  } catch (e) {
    rejected++;
    const ok = e instanceof Error && e.constructor === Error && [opName, ...alsoNamed].some((n) => e.message.startsWith(`${n}: `));
    if (!ok) failures.push({ call: what, error: `${e?.constructor?.name}: ${e?.message ?? String(e)}`.slice(0, 300) });
  }
  if (made.length > 200) for (const t of made.splice(0)) t.dispose();
}
for (const t of made.splice(0)) t.dispose();
process.stdout.write(`${JSON.stringify({ seed: seed0, calls, returned, rejected, failures })}\n`);
