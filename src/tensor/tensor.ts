/**
 * The Tensor: an immutable n-d array backed by a native buffer (ARCHITECTURE.md rule 3).
 * Ops return new tensors; the only writes are explicit in-place updates under noGrad.
 */
import { addon, type NativeHandle } from '../backend/addon.js';
import { A, exec, header } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { arrayClass, isDType, isDevice, type AnyTypedArray, type DType, type Device } from './dtype.js';
import { ids, scopes } from './scope.js';
import { hooks } from './hooks.js';
import { describeValue, fmt, numel } from './shape.js';
import * as ew from '../ops/elementwise.js';
import * as red from '../ops/reduce.js';
import * as mm from '../ops/matmul.js';
import * as mv from '../ops/movement.js';
import { copy_ } from '../ops/inplace.js';
import { cast, clone } from '../ops/convert.js';
import { requireCuda } from './creation.js';
import { publicOp } from './public_op.js';

/**
 * The garbage-collection backstop (Note [Handles] in native/core/binding.cc): frees the native
 * buffer of a tensor that became unreachable without being disposed. Registration costs about as
 * much as a small op, so tensors created inside a `tidy` scope are registered only if they
 * outlive it (see `track`); the scope disposes the rest.
 */
const backstop = new FinalizationRegistry<{ h: NativeHandle | null }>((cell) => {
  if (cell.h !== null) {
    addon.dispose(cell.h);
    cell.h = null;
  }
});


/**
 * Tensors waiting to be registered with the backstop. Registration is deferred to a microtask:
 * finalizers only run once the event loop turns, so a tensor disposed before then (the usual
 * create-use-dispose pattern) never needs to pay for registering.
 */
let pending: Tensor[] = [];
let flushQueued = false;
function flushPending(): void {
  const list = pending;
  pending = [];
  flushQueued = false;
  for (const t of list) {
    if (t._cell === null && t._h !== null) {
      t._cell = { h: t._h };
      backstop.register(t, t._cell);
    }
  }
}

/** @internal Puts `t` under the garbage-collection backstop (once). */
export function track(t: Tensor): void {
  if (t._cell !== null || t._h === null) return;
  pending.push(t);
  // Bound the queue in long synchronous loops: it holds disposed tensors too (skipped by the
  // flush), and with them their graphs, until it is flushed.
  if (pending.length >= 1024) flushPending();
  else if (!flushQueued) {
    flushQueued = true;
    queueMicrotask(flushPending);
  }
}

/** Nested arrays of numbers, as `toArray()` returns them. */
export type NestedArray = number | NestedArray[];

/** A tensor or a number standing for a scalar of the other operand's dtype. */
export type TensorLike = Tensor | number;

export class Tensor {
  /** @internal The native buffer; null once disposed. */
  _h: NativeHandle | null;
  /** Dimensions, outermost first. Never mutate it. */
  readonly shape: readonly number[];
  /** Element type. */
  readonly dtype: DType;
  /** Where the data lives. */
  readonly device: Device;
  /** Whether autograd records ops on this tensor. */
  requiresGrad = false;
  /** Gradient accumulated by `backward()` (leaves only). */
  grad: Tensor | null = null;
  /** @internal The autograd node that produced this tensor (null for leaves). */
  _node: unknown = null;
  /** @internal Exempt from the enclosing `tidy` scope (see {@link keep}). */
  _kept = false;
  /** @internal This tensor's entry in the garbage-collection backstop, if registered. */
  _cell: { h: NativeHandle | null } | null = null;
  /** @internal Number of tape nodes (and duals) saving this tensor (Note [Saved tensors]). */
  _refs = 0;
  /** @internal Released by its scope while still saved: disposed when `_refs` reaches 0. */
  _released = false;
  /** @internal Creation order (scopes use it to bound their graph walks). */
  readonly _id = ids.next++;
  /** @internal Forward-mode tangents by level (Note [Forward levels]). */
  _tangents: Map<number, Tensor> | null = null;

  /** @internal Tensors are made by ops and creation functions, not by `new`. */
  constructor(h: NativeHandle, shape: readonly number[], dtype: DType, device: Device) {
    this._h = h;
    this.shape = shape;
    this.dtype = dtype;
    this.device = device;
    if (scopes.length !== 0) scopes[scopes.length - 1].push(this);
    else track(this);
  }

  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }
  /** True for tensors not produced by a recorded op (user-created tensors and parameters). */
  get isLeaf(): boolean {
    return this._node === null;
  }
  /** Whether `dispose()` has been called. */
  get isDisposed(): boolean {
    return this._h === null;
  }

  /** @internal The native handle; throws a clear error if this tensor was disposed. */
  handle(op: string): NativeHandle {
    const h = this._h;
    if (h === null) throw new Error(`${op}: this tensor (shape ${fmt(this.shape)}, ${this.dtype}) was disposed and cannot be used`);
    return h;
  }

  /** Frees the native buffer now (idempotent). Later use throws. */
  dispose(): void {
    if (this._h !== null) {
      addon.dispose(this._h);
      this._h = null;
      if (this._cell !== null) this._cell.h = null;
      if (this._tangents !== null) hooks.tangentCleanup!(this);
    }
  }
  /**
   * @internal Disposes this tensor unless tape nodes still save it; then it is disposed when the
   * last of them is freed, or by the garbage-collection backstop (Note [Saved tensors]).
   */
  _release(): void {
    if (this._refs > 0) {
      this._released = true;
      track(this);
    } else {
      this.dispose();
    }
  }
  /** `using t = ...` disposes `t` at the end of the block. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- data out ------------------------------------------------------------------------------

  /** A typed-array copy of the elements, row-major. */
  data(): AnyTypedArray {
    const buf = addon.toBuffer(this.handle('data'));
    return new (arrayClass(this.dtype))(buf);
  }
  /** The elements as nested arrays (a number for a 0-d tensor). */
  toArray(): NestedArray {
    const d = this.data();
    const shape = this.shape;
    if (shape.length === 0) return d[0];
    const build = (dim: number, off: number): NestedArray[] => {
      const n = shape[dim];
      const out: NestedArray[] = new Array(n);
      if (dim === shape.length - 1) {
        for (let i = 0; i < n; i++) out[i] = d[off + i];
        return out;
      }
      let stride = 1;
      for (let k = dim + 1; k < shape.length; k++) stride *= shape[k];
      for (let i = 0; i < n; i++) out[i] = build(dim + 1, off + i * stride);
      return out;
    };
    return build(0, 0);
  }
  /** The single element of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: tensor of shape ${fmt(this.shape)} has ${this.size} elements, not 1`);
    return this.data()[0];
  }

  // ---- conversions ---------------------------------------------------------------------------

  /** A copy on another device or with another dtype (the same tensor if nothing changes). */
  to(target: Device | DType): Tensor {
    if (isDType(target)) return cast(this, target);
    if (isDevice(target)) {
      if (target === this.device) return this;
      if (target === 'cuda') requireCuda('to');
      const view = this.data();
      header(this.dtype, target, this.shape);
      return new Tensor(addon.fromBuffer(view), this.shape, this.dtype, target);
    }
    throw new Error(`to: expected 'cpu', 'cuda', 'float32', 'float64' or 'int32', got ${String(target)}`);
  }
  /** A new tensor with the same data, cut off from autograd. Shares the buffer (tensors are immutable). */
  detach(): Tensor {
    header(this.dtype, this.device, this.shape);
    return new Tensor(exec(Op.RESHAPE, this.handle('detach')), this.shape, this.dtype, this.device);
  }
  /** A copy with its own buffer. */
  clone(): Tensor {
    return clone(this);
  }
  /** Accumulates the gradient of this tensor into the `.grad` of the leaves it depends on. */
  backward(gradOutput?: Tensor | null, opts: { createGraph?: boolean; retainGraph?: boolean } = {}): void {
    hooks.backward!(this, gradOutput, opts);
  }
  /** Sets `requiresGrad` and returns this tensor, for chaining. */
  requiresGrad_(flag = true): this {
    if (typeof flag !== 'boolean') throw new Error(`requiresGrad_: expected true or false, got ${String(flag)}`);
    if (flag && this.dtype === 'int32') throw new Error('requiresGrad_: only floating-point tensors can require gradients');
    this.requiresGrad = flag;
    return this;
  }
  /** Overwrites this tensor's values with `src`'s, in place (for optimizers, under noGrad). */
  copy_(src: Tensor): this {
    copy_(this, src);
    return this;
  }
  /** A short description: `Tensor(float32 [2,3] cpu)` plus the values for small tensors. */
  toString(): string {
    const head = `Tensor(${this.dtype} ${fmt(this.shape)} ${this.device}`;
    if (this._h === null) return `${head}, disposed)`;
    return this.size <= 64 ? `${head}, ${JSON.stringify(this.toArray())})` : `${head})`;
  }

  // ---- elementwise ---------------------------------------------------------------------------
  add(b: TensorLike): Tensor { return ew.add(this, b); }
  sub(b: TensorLike): Tensor { return ew.sub(this, b); }
  mul(b: TensorLike): Tensor { return ew.mul(this, b); }
  div(b: TensorLike): Tensor { return ew.div(this, b); }
  pow(b: TensorLike): Tensor { return ew.pow(this, b); }
  maximum(b: TensorLike): Tensor { return ew.maximum(this, b); }
  minimum(b: TensorLike): Tensor { return ew.minimum(this, b); }
  eq(b: TensorLike): Tensor { return ew.eq(this, b); }
  ne(b: TensorLike): Tensor { return ew.ne(this, b); }
  lt(b: TensorLike): Tensor { return ew.lt(this, b); }
  le(b: TensorLike): Tensor { return ew.le(this, b); }
  gt(b: TensorLike): Tensor { return ew.gt(this, b); }
  ge(b: TensorLike): Tensor { return ew.ge(this, b); }
  neg(): Tensor { return ew.neg(this); }
  exp(): Tensor { return ew.exp(this); }
  log(): Tensor { return ew.log(this); }
  sin(): Tensor { return ew.sin(this); }
  cos(): Tensor { return ew.cos(this); }
  tanh(): Tensor { return ew.tanh(this); }
  sigmoid(): Tensor { return ew.sigmoid(this); }
  relu(): Tensor { return ew.relu(this); }
  abs(): Tensor { return ew.abs(this); }
  sqrt(): Tensor { return ew.sqrt(this); }
  square(): Tensor { return ew.square(this); }
  sign(): Tensor { return ew.sign(this); }
  clamp(min?: number | null, max?: number | null): Tensor { return ew.clamp(this, min, max); }

  // ---- reductions ----------------------------------------------------------------------------
  sum(axis?: number | number[], keepdim = false): Tensor { return red.sum(this, axis, keepdim); }
  mean(axis?: number | number[], keepdim = false): Tensor { return red.mean(this, axis, keepdim); }
  max(axis?: number | number[], keepdim = false): Tensor { return red.max(this, axis, keepdim); }
  min(axis?: number | number[], keepdim = false): Tensor { return red.min(this, axis, keepdim); }
  argmax(axis?: number, keepdim = false): Tensor { return red.argmax(this, axis, keepdim); }
  logsumexp(axis?: number | number[], keepdim = false): Tensor { return red.logsumexp(this, axis, keepdim); }

  // ---- linear algebra ------------------------------------------------------------------------
  matmul(b: Tensor): Tensor { return mm.matmul(this, b); }

  // ---- movement ------------------------------------------------------------------------------
  reshape(shape: readonly number[]): Tensor { return mv.reshape(this, shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return mv.flatten(this, startDim, endDim); }
  squeeze(axis?: number | number[]): Tensor { return mv.squeeze(this, axis); }
  unsqueeze(axis: number): Tensor { return mv.unsqueeze(this, axis); }
  transpose(dim0 = -2, dim1 = -1): Tensor { return mv.transpose(this, dim0, dim1); }
  permute(perm: readonly number[]): Tensor { return mv.permute(this, perm); }
  expand(shape: readonly number[]): Tensor { return mv.expand(this, shape); }
  slice(axis: number, start: number, end?: number, step = 1): Tensor { return mv.slice(this, axis, start, end, step); }
  gather(axis: number, index: Tensor): Tensor { return mv.gather(this, axis, index); }
  scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor { return mv.scatterAdd(this, axis, index, src); }
  indexSelect(axis: number, index: Tensor): Tensor { return mv.indexSelect(this, axis, index); }
  indexAdd(axis: number, index: Tensor, src: Tensor): Tensor { return mv.indexAdd(this, axis, index, src); }
  pad(pads: readonly number[], value = 0): Tensor { return mv.pad(this, pads, value); }
}

// The methods are public ops too (Note [Public op names] in public_op.ts): an error inside one
// names the method that was called.
for (const m of [
  'data', 'toArray', 'item', 'to', 'detach', 'clone', 'backward', 'requiresGrad_', 'copy_',
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'eq', 'ne', 'lt', 'le', 'gt', 'ge',
  'neg', 'exp', 'log', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'abs', 'sqrt', 'square', 'sign', 'clamp',
  'sum', 'mean', 'max', 'min', 'argmax', 'logsumexp', 'matmul',
  'reshape', 'flatten', 'squeeze', 'unsqueeze', 'transpose', 'permute', 'expand', 'slice', 'gather',
  'scatterAdd', 'indexSelect', 'indexAdd', 'pad',
] as const) {
  const proto = Tensor.prototype as unknown as Record<string, (...args: never[]) => unknown>;
  proto[m] = publicOp(m, proto[m]);
}

/**
 * Throws an Error naming `op` unless `x` is a live tensor (`what` names the argument): the check
 * that composite ops make before touching their arguments' properties.
 */
export function checkTensorArg(op: string, what: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${op}: ${what} must be a tensor, got ${describeValue(x)}`);
  x.handle(op);
}

/** Keeps `t` alive past the end of the enclosing `tidy` scopes. Returns `t`. */
export function keep<T extends Tensor>(t: T): T {
  t._kept = true;
  track(t);
  return t;
}

/** @internal Wraps a fresh native handle. */
export function wrap(h: NativeHandle, shape: readonly number[], dtype: DType, device: Device): Tensor {
  return new Tensor(h, shape, dtype, device);
}

/** @internal The attribute buffer, for ops that write attributes. */
export { A };
