/**
 * Elementwise ops with NumPy broadcasting. A JS number operand is a scalar that takes the other
 * operand's dtype (as a Python scalar does in PyTorch), except that a non-integer number with an
 * int32 tensor promotes to float32. Comparisons return int32 0/1 (the library's boolean type).
 */
import { A, exec, header } from '../backend/exec.js';
import { needsRecord, record, type JvpRule, type VjpRule } from '../autograd/record.js';
import { broadcastTo, sumToShape } from './sum_to_shape.js';
import { Op, type OpCode } from '../backend/opcodes.js';
import { promoteTypes, type DType } from '../tensor/dtype.js';
import { broadcastShapes, describeValue, fmt, sameShape } from '../tensor/shape.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';
import { cast } from './convert.js';


/** The dtype both operands take before the op (ints meet non-integer scalars as float32). */
function operandType(name: string, a: TensorLike, b: TensorLike): DType {
  if (typeof a === 'number') {
    if (typeof b === 'number') throw new Error(`${name}: at least one operand must be a tensor`);
    if (!(b instanceof Tensor)) throw new Error(`${name}: expected a tensor or a number, got ${describeValue(b)}`);
    return b.dtype === 'int32' && !Number.isInteger(a) ? 'float32' : b.dtype;
  }
  if (!(a instanceof Tensor)) throw new Error(`${name}: expected a tensor or a number, got ${describeValue(a)}`);
  if (typeof b === 'number') {
    return a.dtype === 'int32' && !Number.isInteger(b) ? 'float32' : a.dtype;
  }
  if (!(b instanceof Tensor)) throw new Error(`${name}: expected a tensor or a number, got ${describeValue(b)}`);
  if (a.device !== b.device) {
    throw new Error(`${name}: tensors are on different devices (${a.device} ${fmt(a.shape)} and ${b.device} ${fmt(b.shape)})`);
  }
  return promoteTypes(a.dtype, b.dtype);
}

function asType(t: Tensor, d: DType, name: string): Tensor {
  return t.dtype === d ? t : cast(t, d, name);
}

/** @internal Shared body of the binary ops; `outType` overrides the result dtype (comparisons). */
export function binary(op: OpCode, name: string, a: TensorLike, b: TensorLike, outType?: DType): Tensor {
  let dt = operandType(name, a, b);
  if (op === Op.DIV && dt === 'int32') dt = 'float32'; // true division, as in PyTorch
  let ha, hb, shape: readonly number[], device;
  let ca: Operand | undefined, cb: Operand | undefined; // the operands after promotion
  if (typeof a === 'number') {
    const tb = asType(b as Tensor, dt, name);
    ca = a;
    cb = tb;
    ha = a;
    hb = tb.handle(name);
    shape = tb.shape;
    device = tb.device;
  } else if (typeof b === 'number') {
    const ta = asType(a, dt, name);
    ca = ta;
    cb = b;
    ha = ta.handle(name);
    hb = b;
    shape = ta.shape;
    device = ta.device;
  } else {
    const ta = asType(a, dt, name);
    const tb = asType(b, dt, name);
    ca = ta;
    cb = tb;
    ha = ta.handle(name);
    hb = tb.handle(name);
    shape = sameShape(ta.shape, tb.shape) ? ta.shape : broadcastShapes(name, ta.shape, tb.shape);
    device = ta.device;
  }
  const od = outType ?? dt;
  header(od, device, shape, name);
  const y = new Tensor(exec(op, ha, hb), shape, od, device);
  if (outType === undefined && needsRecord(ca, cb)) recordBinary(op, name, ca!, cb!, y);
  return y;
}

type Operand = Tensor | number;
const grad = (g: Tensor, x: Operand): Tensor | null => (typeof x === 'number' ? null : sumToShape(g, x.shape));
const negGrad = (g: Tensor | null): Tensor | null => (g === null ? null : neg(g));
const tan = (t: Tensor | null, shape: readonly number[]): Tensor | null => (t === null ? null : broadcastTo(t, shape));
/** t1 + t2 where either may be a zero (null) tangent. */
function plus(t1: Tensor | null, t2: Tensor | null, shape: readonly number[]): Tensor | null {
  if (t1 === null) return tan(t2, shape);
  if (t2 === null) return tan(t1, shape);
  return broadcastTo(add(t1, t2), shape);
}

/**
 * The derivative rules of the binary ops (ARCHITECTURE.md rule 1: only differentiable ops).
 * `a` and `b` are the operands after promotion; numbers are constants.
 */
function recordBinary(op: OpCode, name: string, a: Operand, b: Operand, y: Tensor): void {
  const ta = typeof a === 'number' ? null : a;
  const tb = typeof b === 'number' ? null : b;
  const s = y.shape;
  let vjp: VjpRule, jvp: JvpRule;
  let savesOut = false;
  switch (op) {
    case Op.ADD:
      vjp = (g) => [grad(g, a), grad(g, b)];
      jvp = ([da, db]) => plus(da, db, s);
      break;
    case Op.SUB:
      // neg after the reduction to b's shape: the same numbers (negation is exact), one pass over
      // b's elements instead of the output's when b was broadcast.
      vjp = (g, n) => [grad(g, a), n[1] ? negGrad(grad(g, b)) : null];
      jvp = ([da, db]) => plus(da, db === null ? null : neg(db), s);
      break;
    case Op.MUL:
      vjp = (g, n) => [n[0] ? grad(mul(g, b), a) : null, n[1] ? grad(mul(g, a), b) : null];
      jvp = ([da, db]) => plus(da && mul(da, b), db && mul(a, db), s);
      break;
    case Op.DIV:
      // d(a/b) = da/b - y db/b
      vjp = (g, n) => [n[0] ? grad(div(g, b), a) : null, n[1] ? negGrad(grad(div(mul(g, y), b), b)) : null];
      jvp = ([da, db]) => {
        const t = plus(da, db && neg(mul(y, db)), s);
        return t && div(t, b);
      };
      savesOut = true;
      break;
    case Op.POW: {
      // d(a^b) = b a^(b-1) da + a^b log(a) db; the log term is taken as 0 where a == 0 (as PyTorch)
      const dA = () => mul(b, pow(a, typeof b === 'number' ? b - 1 : sub(b, 1)));
      const dB = () => (typeof a === 'number' ? mul(y, a === 0 ? 0 : Math.log(a)) : where(eq(a, 0), 0, mul(y, log(a))));
      vjp = (g, n) => [n[0] ? grad(mul(g, dA()), a) : null, n[1] ? grad(mul(g, dB()), b) : null];
      jvp = ([da, db]) => plus(da && mul(da, dA()), db && mul(db, dB()), s);
      savesOut = true;
      break;
    }
    case Op.MAXIMUM:
    case Op.MINIMUM: {
      // The gradient goes to the larger (smaller) operand and is split evenly on ties, as PyTorch.
      const mask = () => add(op === Op.MAXIMUM ? gt(a, b) : lt(a, b), mul(eq(a, b), 0.5));
      vjp = (g, n) => {
        const m = mask();
        return [n[0] ? grad(mul(g, m), a) : null, n[1] ? grad(sub(g, mul(g, m)), b) : null];
      };
      jvp = ([da, db]) => {
        const m = mask();
        return plus(da && mul(da, m), db && sub(db, mul(db, m)), s);
      };
      break;
    }
    default:
      throw new Error(`${name}: no derivative rule`);
  }
  record(y, name, [ta, tb], vjp, jvp, undefined, savesOut);
}

/** Elementwise `a + b`. */
export function add(a: TensorLike, b: TensorLike): Tensor { return binary(Op.ADD, 'add', a, b); }
/** Elementwise `a - b`. */
/** @internal a + b where either may be a zero (null) tangent or gradient: the sum in jvp/vjp rules. */
export function addOrNull(a: Tensor | null, b: Tensor | null): Tensor | null {
  return a === null ? b : b === null ? a : add(a, b);
}

export function sub(a: TensorLike, b: TensorLike): Tensor { return binary(Op.SUB, 'sub', a, b); }
/** Elementwise `a * b`. */
export function mul(a: TensorLike, b: TensorLike): Tensor { return binary(Op.MUL, 'mul', a, b); }
/** Elementwise true division `a / b` (int32 operands give float32). */
export function div(a: TensorLike, b: TensorLike): Tensor { return binary(Op.DIV, 'div', a, b); }
/** Elementwise `a ** b`. */
export function pow(a: TensorLike, b: TensorLike): Tensor { return binary(Op.POW, 'pow', a, b); }
/** Elementwise maximum (NaN-propagating, like torch.maximum). */
export function maximum(a: TensorLike, b: TensorLike): Tensor { return binary(Op.MAXIMUM, 'maximum', a, b); }
/** Elementwise minimum (NaN-propagating, like torch.minimum). */
export function minimum(a: TensorLike, b: TensorLike): Tensor { return binary(Op.MINIMUM, 'minimum', a, b); }
/** `a == b` as int32 0/1. */
export function eq(a: TensorLike, b: TensorLike): Tensor { return binary(Op.EQ, 'eq', a, b, 'int32'); }
/** `a != b` as int32 0/1. */
export function ne(a: TensorLike, b: TensorLike): Tensor { return binary(Op.NE, 'ne', a, b, 'int32'); }
/** `a < b` as int32 0/1. */
export function lt(a: TensorLike, b: TensorLike): Tensor { return binary(Op.LT, 'lt', a, b, 'int32'); }
/** `a <= b` as int32 0/1. */
export function le(a: TensorLike, b: TensorLike): Tensor { return binary(Op.LE, 'le', a, b, 'int32'); }
/** `a > b` as int32 0/1. */
export function gt(a: TensorLike, b: TensorLike): Tensor { return binary(Op.GT, 'gt', a, b, 'int32'); }
/** `a >= b` as int32 0/1. */
export function ge(a: TensorLike, b: TensorLike): Tensor { return binary(Op.GE, 'ge', a, b, 'int32'); }

/** @internal Shared body of the unary ops; `floatOnly` ops compute int32 input in float32. */
export function unary(op: OpCode, name: string, x: Tensor, floatOnly: boolean): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${name}: expected a tensor, got ${String(x)}`);
  const t = floatOnly && x.dtype === 'int32' ? cast(x, 'float32', name) : x;
  header(t.dtype, t.device, t.shape);
  const y = new Tensor(exec(op, t.handle(name)), t.shape, t.dtype, t.device);
  if (needsRecord(t)) recordUnary(op, name, t, y);
  return y;
}

/**
 * The derivative rules of the unary ops, as `y' = d(x)` so that vjp is `g * d` and jvp is
 * `t * d`. Rules that reuse the output y (exp, tanh, sigmoid, sqrt) keep y's own graph, so their
 * second derivatives are right (the tfjs#3252 trap).
 */
function recordUnary(op: OpCode, name: string, x: Tensor, y: Tensor): void {
  let d: () => Tensor | number;
  let savesOut = false;
  switch (op) {
    case Op.NEG: d = () => -1; break;
    case Op.EXP: d = () => y; savesOut = true; break;
    case Op.LOG: d = () => reciprocal(x); break;
    case Op.SIN: d = () => cos(x); break;
    case Op.COS: d = () => neg(sin(x)); break;
    case Op.TANH: d = () => sub(1, square(y)); savesOut = true; break;
    case Op.SIGMOID: d = () => mul(y, sub(1, y)); savesOut = true; break;
    // relu'(0) = 0, as PyTorch (the subgradient that keeps dead units dead).
    case Op.RELU: d = () => gt(x, 0); break;
    case Op.ABS: d = () => sign(x); break;
    case Op.SQRT: d = () => div(0.5, y); savesOut = true; break;
    case Op.SQUARE: d = () => mul(x, 2); break;
    // sign is piecewise constant: its derivative is zero wherever it exists.
    case Op.SIGN:
      record(y, name, [x], () => [null], () => null);
      return;
    default:
      throw new Error(`${name}: no derivative rule`);
  }
  const times = (g: Tensor) => {
    const dv = d();
    return typeof dv === 'number' ? mul(g, dv) : mul(g, dv);
  };
  record(y, name, [x], (g) => [times(g)], ([t]) => (t === null ? null : times(t)), undefined, savesOut);
}

function reciprocal(x: Tensor): Tensor {
  return div(1, x);
}

/** `-x`. */
export function neg(x: Tensor): Tensor { return unary(Op.NEG, 'neg', x, false); }
/** `e^x`. */
export function exp(x: Tensor): Tensor { return unary(Op.EXP, 'exp', x, true); }
/** Natural logarithm. */
export function log(x: Tensor): Tensor { return unary(Op.LOG, 'log', x, true); }
/** Sine. */
export function sin(x: Tensor): Tensor { return unary(Op.SIN, 'sin', x, true); }
/** Cosine. */
export function cos(x: Tensor): Tensor { return unary(Op.COS, 'cos', x, true); }
/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor { return unary(Op.TANH, 'tanh', x, true); }
/** Logistic sigmoid `1 / (1 + e^-x)`, computed without overflow. */
export function sigmoid(x: Tensor): Tensor { return unary(Op.SIGMOID, 'sigmoid', x, true); }
/** `max(x, 0)`. */
export function relu(x: Tensor): Tensor { return unary(Op.RELU, 'relu', x, false); }
/** `|x|`. */
export function abs(x: Tensor): Tensor { return unary(Op.ABS, 'abs', x, false); }
/** Square root. */
export function sqrt(x: Tensor): Tensor { return unary(Op.SQRT, 'sqrt', x, true); }
/** `x * x`. */
export function square(x: Tensor): Tensor { return unary(Op.SQUARE, 'square', x, false); }
/** -1, 0 or 1 by the sign of x (0 for NaN-free zero). */
export function sign(x: Tensor): Tensor { return unary(Op.SIGN, 'sign', x, false); }

/** Limits x to [min, max]; either bound may be omitted (null/undefined). */
export function clamp(x: Tensor, min?: number | null, max?: number | null): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`clamp: expected a tensor, got ${String(x)}`);
  const lo = min ?? -Infinity;
  const hi = max ?? Infinity;
  if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi)) {
    throw new Error(`clamp: bounds must be numbers, got ${String(min)} and ${String(max)}`);
  }
  if (lo > hi) throw new Error(`clamp: min ${lo} is greater than max ${hi}`);
  const at = header(x.dtype, x.device, x.shape);
  A[at] = lo;
  A[at + 1] = hi;
  const y = new Tensor(exec(Op.CLAMP, x.handle('clamp')), x.shape, x.dtype, x.device);
  if (needsRecord(x)) {
    // The gradient passes where lo <= x <= hi (PyTorch's convention at the bounds).
    const inside = () => mul(ge(x, lo), le(x, hi));
    record(y, 'clamp', [x], (g) => [mul(g, inside())], ([t]) => t && mul(t, inside()));
  }
  return y;
}

/**
 * `cond ? a : b` elementwise, broadcasting all three. `cond` is true where nonzero.
 * `a` and `b` may be numbers (at least one must be a tensor).
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) throw new Error(`where: condition must be a tensor, got ${String(cond)}`);
  const dt = operandType('where', a, b);
  const c = cond.dtype === 'int32' ? cond : ne(cond, 0);
  const ta = typeof a === 'number' ? a : asType(a, dt, 'where');
  const tb = typeof b === 'number' ? b : asType(b, dt, 'where');
  const device = typeof ta === 'number' ? (tb as Tensor).device : ta.device;
  if (c.device !== device) throw new Error(`where: condition is on ${c.device} but the values are on ${device}`);
  const shapes = [c.shape];
  if (typeof ta !== 'number') shapes.push(ta.shape);
  if (typeof tb !== 'number') shapes.push(tb.shape);
  const shape = broadcastShapes('where', ...shapes);
  header(dt, device, shape, 'where');
  const h = exec(Op.WHERE, c.handle('where'), typeof ta === 'number' ? ta : ta.handle('where'), typeof tb === 'number' ? tb : tb.handle('where'));
  const y = new Tensor(h, shape, dt, device);
  if (needsRecord(ta, tb)) {
    const xa = typeof ta === 'number' ? null : ta;
    const xb = typeof tb === 'number' ? null : tb;
    record(
      y,
      'where',
      [xa, xb],
      (g, n) => [n[0] ? sumToShape(where(c, g, 0), xa!.shape) : null, n[1] ? sumToShape(where(c, 0, g), xb!.shape) : null],
      ([da, db]) => (da === null && db === null ? null : where(c, da ?? 0, db ?? 0)),
      [c],
    );
  }
  return y;
}
