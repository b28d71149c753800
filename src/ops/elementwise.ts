/**
 * Elementwise ops with NumPy broadcasting. A JS number operand is a scalar that takes the other
 * operand's dtype (as a Python scalar does in PyTorch), except that a non-integer number with an
 * int32 tensor promotes to float32. Comparisons return int32 0/1 (the library's boolean type).
 */
import { A, exec, header } from '../backend/exec.js';
import { Op, type OpCode } from '../backend/opcodes.js';
import { promoteTypes, type DType } from '../tensor/dtype.js';
import { broadcastShapes, fmt, sameShape } from '../tensor/shape.js';
import { Tensor, type TensorLike } from '../tensor/tensor.js';

function checkScalar(name: string, v: number): void {
  if (typeof v !== 'number') throw new Error(`${name}: expected a tensor or a number, got ${typeof v}`);
}

/** The dtype both operands take before the op (ints meet non-integer scalars as float32). */
function operandType(name: string, a: TensorLike, b: TensorLike): DType {
  if (typeof a === 'number') {
    if (typeof b === 'number') throw new Error(`${name}: at least one operand must be a tensor`);
    checkScalar(name, a);
    return b.dtype === 'int32' && !Number.isInteger(a) ? 'float32' : b.dtype;
  }
  if (!(a instanceof Tensor)) throw new Error(`${name}: expected a tensor or a number, got ${String(a)}`);
  if (typeof b === 'number') {
    checkScalar(name, b);
    return a.dtype === 'int32' && !Number.isInteger(b) ? 'float32' : a.dtype;
  }
  if (!(b instanceof Tensor)) throw new Error(`${name}: expected a tensor or a number, got ${String(b)}`);
  if (a.device !== b.device) {
    throw new Error(`${name}: tensors are on different devices (${a.device} ${fmt(a.shape)} and ${b.device} ${fmt(b.shape)})`);
  }
  return promoteTypes(a.dtype, b.dtype);
}

function asType(t: Tensor, d: DType): Tensor {
  return t.dtype === d ? t : t.to(d);
}

/** @internal Shared body of the binary ops; `outType` overrides the result dtype (comparisons). */
export function binary(op: OpCode, name: string, a: TensorLike, b: TensorLike, outType?: DType): Tensor {
  let dt = operandType(name, a, b);
  if (op === Op.DIV && dt === 'int32') dt = 'float32'; // true division, as in PyTorch
  let ha, hb, shape: readonly number[], device;
  if (typeof a === 'number') {
    const tb = asType(b as Tensor, dt);
    ha = a;
    hb = tb.handle(name);
    shape = tb.shape;
    device = tb.device;
  } else if (typeof b === 'number') {
    const ta = asType(a, dt);
    ha = ta.handle(name);
    hb = b;
    shape = ta.shape;
    device = ta.device;
  } else {
    const ta = asType(a, dt);
    const tb = asType(b, dt);
    ha = ta.handle(name);
    hb = tb.handle(name);
    shape = sameShape(ta.shape, tb.shape) ? ta.shape : broadcastShapes(name, ta.shape, tb.shape);
    device = ta.device;
  }
  const od = outType ?? dt;
  header(od, device, shape);
  return new Tensor(exec(op, ha, hb), shape, od, device);
}

/** Elementwise `a + b`. */
export function add(a: TensorLike, b: TensorLike): Tensor { return binary(Op.ADD, 'add', a, b); }
/** Elementwise `a - b`. */
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
  const t = floatOnly && x.dtype === 'int32' ? x.to('float32') : x;
  header(t.dtype, t.device, t.shape);
  return new Tensor(exec(op, t.handle(name)), t.shape, t.dtype, t.device);
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
  return new Tensor(exec(Op.CLAMP, x.handle('clamp')), x.shape, x.dtype, x.device);
}

/**
 * `cond ? a : b` elementwise, broadcasting all three. `cond` is true where nonzero.
 * `a` and `b` may be numbers (at least one must be a tensor).
 */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(cond instanceof Tensor)) throw new Error(`where: condition must be a tensor, got ${String(cond)}`);
  const dt = operandType('where', a, b);
  const c = cond.dtype === 'int32' ? cond : ne(cond, 0);
  const ta = typeof a === 'number' ? a : asType(a, dt);
  const tb = typeof b === 'number' ? b : asType(b, dt);
  const device = typeof ta === 'number' ? (tb as Tensor).device : ta.device;
  if (c.device !== device) throw new Error(`where: condition is on ${c.device} but the values are on ${device}`);
  const shapes = [c.shape];
  if (typeof ta !== 'number') shapes.push(ta.shape);
  if (typeof tb !== 'number') shapes.push(tb.shape);
  const shape = broadcastShapes('where', ...shapes);
  header(dt, device, shape);
  const h = exec(Op.WHERE, c.handle('where'), typeof ta === 'number' ? ta : ta.handle('where'), typeof tb === 'number' ? tb : tb.handle('where'));
  return new Tensor(h, shape, dt, device);
}
