/**
 * Functional transforms in the style of torch.autograd.functional / JAX: `vjp`, `valueAndGrad`,
 * `hvp` (forward-over-reverse or reverse-over-reverse), `vhp`, `hessian` and `jacobian`.
 * `f` takes tensors and returns a tensor; each transform calls it on fresh aliases of the primals,
 * so the primals' own graphs (if they require grad) stay connected for nesting.
 */
import { grad } from './engine.js';
import { checkTangents, jvp, jvpBody } from './forward.js';
import { isGradEnabled } from './engine.js';
import { alias } from '../ops/convert.js';
import { mul } from '../ops/elementwise.js';
import { reshape, stack } from '../ops/movement.js';
import { sum } from '../ops/reduce.js';
import { tensor, zeros, zerosLike } from '../tensor/creation.js';
import { tidy } from '../tensor/memory.js';
import { describeValue, fmt, sameShape } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

type Fn = (...xs: Tensor[]) => Tensor;

function checkFn(op: string, f: unknown): void {
  if (typeof f !== 'function') throw new Error(`${op}: f must be a function, got ${describeValue(f)}`);
}

function checkPrimals(op: string, primals: unknown): void {
  if (!(primals instanceof Tensor) && !Array.isArray(primals)) throw new Error(`${op}: primals must be a tensor or an array of tensors, got ${describeValue(primals)}`);
}

/** Throws unless `o` is an options object (the default `{}` does not replace a null). */
function checkOptionsObject(op: string, o: unknown): void {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`${op}: options must be an object, got ${describeValue(o)}`);
}

/** Inputs to differentiate: aliases that require grad, still connected to the primals' graphs. */
function inputsFor(op: string, primals: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(primals)) throw new Error(`${op}: primals must be an array of tensors, got ${describeValue(primals)}`);
  return primals.map((p, i) => {
    if (!(p instanceof Tensor)) throw new Error(`${op}: primal ${i} is not a tensor`);
    p.handle(op);
    if (p.dtype === 'int32') throw new Error(`${op}: primal ${i} is int32; only floating-point inputs can be differentiated`);
    const a = alias(p);
    a.requiresGrad = true;
    return a;
  });
}

/** Whether results must stay differentiable (an outer transform or grad is watching). */
function nested(primals: readonly Tensor[]): boolean {
  return isGradEnabled() && primals.some((p) => p.requiresGrad || p._tangents !== null);
}

function scalarOut(op: string, y: Tensor): void {
  if (!(y instanceof Tensor)) throw new Error(`${op}: f must return a tensor`);
  if (y.size !== 1) throw new Error(`${op}: f must return a scalar, got shape ${fmt(y.shape)}`);
}

/**
 * Returns `[f(...primals), vjpFn]`; `vjpFn(cotangent)` gives the gradients of `<cotangent, f>`
 * with respect to each primal (zeros for unused ones). The graph is kept, so vjpFn may be called
 * several times.
 */
export function vjp(f: Fn, primals: readonly Tensor[]): [Tensor, (cotangent: Tensor) => Tensor[]] {
  checkFn('vjp', f);
  const xs = inputsFor('vjp', primals);
  const y = f(...xs);
  if (!(y instanceof Tensor)) throw new Error('vjp: f must return a tensor');
  const createGraph = nested(primals);
  const fn = (ct: Tensor): Tensor[] => {
    if (!(ct instanceof Tensor)) throw new Error(`vjp: the cotangent must be a tensor of the output's shape ${fmt(y.shape)}, got ${describeValue(ct)}`);
    ct.handle('vjp');
    if (!sameShape(ct.shape, y.shape)) throw new Error(`vjp: the cotangent has shape ${fmt(ct.shape)} but f's output has shape ${fmt(y.shape)}`);
    if (ct.device !== y.device) throw new Error(`vjp: the cotangent is on ${ct.device} but f's output is on ${y.device}`);
    if (!y.requiresGrad) return xs.map((x) => zerosLike(x));
    const gs = grad(y, xs, { gradOutputs: ct, createGraph, retainGraph: true, allowUnused: true });
    return gs.map((g, i) => g ?? zerosLike(xs[i]));
  };
  return [y, fn];
}

/**
 * `valueAndGrad(f)` is a function returning `[f(...args), gradients]`, the gradients of the scalar
 * `f` with respect to every argument (zeros for arguments it does not use).
 */
export function valueAndGrad(f: Fn): (...args: Tensor[]) => [Tensor, Tensor[]] {
  checkFn('valueAndGrad', f);
  return (...args: Tensor[]) => tidy((): [Tensor, Tensor[]] => {
    const xs = inputsFor('valueAndGrad', args);
    const y = f(...xs);
    scalarOut('valueAndGrad', y);
    if (!y.requiresGrad) return [y, xs.map((x) => zerosLike(x))];
    const gs = grad(y, xs, { createGraph: nested(args), allowUnused: true });
    return [y, gs.map((g, i) => g ?? zerosLike(xs[i]))];
  });
}

/** Options of {@link hvp}. */
export interface HvpOptions {
  /** 'fwd-rev': jvp of grad (forward over reverse, the cheaper); 'rev-rev': double backward. */
  mode?: 'fwd-rev' | 'rev-rev';
}

/** The gradient of scalar `f` at `xs`, differentiable (for the second pass). */
function gradOf(op: string, f: Fn, xs: Tensor[], createGraph = true): [Tensor, Tensor[]] {
  const y = f(...xs);
  scalarOut(op, y);
  if (!y.requiresGrad) return [y, xs.map((x) => zerosLike(x))];
  const gs = grad(y, xs, { createGraph, allowUnused: true });
  return [y, gs.map((g, i) => g ?? zerosLike(xs[i]))];
}

/** <a, b> summed over a list of tensor pairs. */
function dot(a: readonly Tensor[], b: readonly Tensor[]): Tensor {
  let acc: Tensor | null = null;
  for (let i = 0; i < a.length; i++) {
    const d = sum(mul(a[i], b[i]));
    acc = acc === null ? d : acc.add(d);
  }
  return acc!;
}

/**
 * Hessian-vector product of scalar `f`: returns `[f(...primals), H·tangents]`. Both modes give
 * the same result; 'fwd-rev' (default) pushes the tangents forward through the gradient
 * computation, 'rev-rev' differentiates <grad f, v> once more.
 */
export function hvp(f: Fn, primals: readonly Tensor[], tangents: readonly Tensor[], opts: HvpOptions = {}): [Tensor, Tensor[]] {
  checkFn('hvp', f);
  checkOptionsObject('hvp', opts);
  const { mode = 'fwd-rev' } = opts;
  checkTangents('hvp', primals, tangents);
  // Note [Transforms free their intermediates]: only the results outlive the call.
  return tidy(() => hvpBody(f, primals, tangents, mode));
}

/**
 * Note [Transforms free their intermediates]: hvp, vhp, hessian, jacobian, jvp and valueAndGrad
 * run in their own `tidy` scope, so a plain loop of calls (no tidy, no await) leaves exactly their
 * results alive: f's activations, the aliases of the primals, the gradient graph and its tangents
 * are freed when the call returns (results that must stay differentiable for an outer transform
 * keep what their graph needs: Note [Scope frees graphs] in tensor/scope.ts).
 */
function hvpBody(f: Fn, primals: readonly Tensor[], tangents: readonly Tensor[], mode: HvpOptions['mode']): [Tensor, Tensor[]] {
  if (mode === 'fwd-rev') {
    const xs = inputsFor('hvp', primals);
    // Forward mode pushes the tangents through the backward pass whatever the grad mode, so the
    // gradient need not be recorded unless something outside differentiates the result.
    const outer = isGradEnabled() && primals.some((p) => p.requiresGrad);
    let value: Tensor | null = null;
    const [, hv] = jvpBody(
      (...ds: Tensor[]) => {
        const [y, gs] = gradOf('hvp', f, ds, outer);
        value = y;
        return gs;
      },
      xs,
      tangents,
    );
    return [value!, hv as Tensor[]];
  }
  if (mode === 'rev-rev') return vhpBody(f, primals, tangents, 'hvp');
  throw new Error(`hvp: mode must be 'fwd-rev' or 'rev-rev', got ${String(mode)}`);
}

/**
 * Vector-Hessian product `v^T H` of scalar `f` by double backward: returns `[f(...primals), vH]`.
 * (H is symmetric for smooth f, so this equals `hvp`.)
 */
export function vhp(f: Fn, primals: readonly Tensor[], v: readonly Tensor[], op = 'vhp'): [Tensor, Tensor[]] {
  checkFn(op, f);
  checkTangents(op, primals, v);
  return tidy(() => vhpBody(f, primals, v, op));
}

function vhpBody(f: Fn, primals: readonly Tensor[], v: readonly Tensor[], op: string): [Tensor, Tensor[]] {
  const xs = inputsFor(op, primals);
  const [y, gs] = gradOf(op, f, xs);
  // The first backward kept y's graph for the second; unless an outer transform differentiates
  // the value, return it cut off from that graph so the scope can free it.
  const outer = nested(primals);
  const value = outer ? y : y.detach();
  if (!gs.some((g) => g.requiresGrad)) return [value, xs.map((x) => zerosLike(x))];
  const d = dot(gs, v);
  const hv = grad(d, xs, { createGraph: outer, allowUnused: true });
  return [value, hv.map((h, i) => h ?? zerosLike(xs[i]))];
}

/** Options of {@link jacobian}. */
export interface JacobianOptions {
  /** 'rev': one vjp per output element; 'fwd': one jvp per input element. Default 'rev'. */
  mode?: 'rev' | 'fwd';
}

/**
 * The Jacobian of `f` at `primals`: for one primal a tensor of shape `[...out.shape, ...in.shape]`;
 * for several, one such tensor per primal.
 */
export function jacobian(f: Fn, primals: Tensor | readonly Tensor[], opts: JacobianOptions = {}): Tensor | Tensor[] {
  checkFn('jacobian', f);
  checkOptionsObject('jacobian', opts);
  checkPrimals('jacobian', primals);
  return tidy(() => jacobianBody(f, primals, opts.mode ?? 'rev'));
}

function jacobianBody(f: Fn, primals: Tensor | readonly Tensor[], mode: JacobianOptions['mode']): Tensor | Tensor[] {
  const single = primals instanceof Tensor;
  const ps = single ? [primals as Tensor] : [...(primals as readonly Tensor[])];
  let result: Tensor[];
  if (mode === 'rev') {
    const xs = inputsFor('jacobian', ps);
    const y = f(...xs);
    if (!(y instanceof Tensor)) throw new Error('jacobian: f must return a tensor');
    const m = y.size;
    const createGraph = nested(ps);
    const rows: Tensor[][] = ps.map(() => []);
    for (let k = 0; k < m; k++) {
      const ct = basis(k, y);
      const gs = y.requiresGrad ? grad(y, xs, { gradOutputs: ct, createGraph, retainGraph: true, allowUnused: true }) : xs.map(() => null);
      gs.forEach((g, i) => rows[i].push(g ?? zerosLike(xs[i])));
    }
    result = ps.map((p, i) => (m === 0 ? zeros([...y.shape, ...p.shape], { dtype: p.dtype, device: p.device }) : reshape(stack(rows[i], 0), [...y.shape, ...p.shape])));
  } else if (mode === 'fwd') {
    result = ps.map((p, i) => {
      const n = p.size;
      const cols: Tensor[] = [];
      let outShape: readonly number[] = [];
      for (let j = 0; j < n; j++) {
        const tangents = ps.map((q, k) => (k === i ? basis(j, q) : zerosLike(q)));
        const [y, t] = jvp(f, ps, tangents);
        outShape = y.shape;
        cols.push(t);
      }
      if (n === 0) {
        const y = f(...ps);
        return zeros([...y.shape, ...p.shape], { dtype: p.dtype, device: p.device });
      }
      // cols[j] has the output's shape: stack on a new last axis, then unflatten the input dims.
      return reshape(stack(cols, outShape.length), [...outShape, ...p.shape]);
    });
  } else {
    throw new Error(`jacobian: mode must be 'rev' or 'fwd', got ${String(mode)}`);
  }
  return single ? result[0] : result;
}

/** The k-th standard basis tensor with `like`'s shape, dtype and device. */
function basis(k: number, like: Tensor): Tensor {
  const data = new (like.dtype === 'float64' ? Float64Array : Float32Array)(like.size);
  data[k] = 1;
  return tensor(data, { shape: like.shape, dtype: like.dtype, device: like.device });
}

/**
 * The Hessian of scalar `f`: for one primal of shape s, a tensor of shape [...s, ...s]; for
 * several, `H[i][j]` of shape [...s_i, ...s_j].
 */
export function hessian(f: Fn, primals: Tensor | readonly Tensor[]): Tensor | Tensor[][] {
  checkFn('hessian', f);
  checkPrimals('hessian', primals);
  inputsFor('hessian', primals instanceof Tensor ? [primals] : primals).forEach((a) => a.dispose()); // checks them
  const single = primals instanceof Tensor;
  const ps = single ? [primals as Tensor] : [...(primals as readonly Tensor[])];
  return tidy(() => {
    const blocks = ps.map((_, i) =>
      jacobianBody((...xs: Tensor[]) => gradOf('hessian', f, xs)[1][i], ps, 'rev') as Tensor[],
    );
    return single ? blocks[0][0] : blocks;
  });
}

/** Options of {@link constantGrad}. */
export interface ConstantGradOptions {
  /** Indices of `at` to differentiate with respect to (default: all); the others enter `f` as they are. */
  wrt?: readonly number[];
  /** Keep the graphs `f` reaches beyond its inputs (e.g. features an outer graph computed). Default false. */
  retainGraph?: boolean;
}

/**
 * The gradient of `f` at the values of `at`, as constants: `f` runs on detached copies inside its
 * own `tidy`, so none of its graph or activations outlives the call (first-order MAML's inner
 * gradient: memory flat in the number of inner steps). Entry i is null where i is not in `wrt` or
 * `f` does not use it.
 */
export function constantGrad(f: (xs: Tensor[]) => Tensor, at: readonly Tensor[], opts: ConstantGradOptions = {}): (Tensor | null)[] {
  const wrt = opts.wrt ?? at.map((_, i) => i);
  const sel = new Set(wrt);
  return tidy(() => {
    const xs = at.map((p, i) => (sel.has(i) ? p.detach().requiresGrad_() : p));
    const gs = grad(f(xs), wrt.map((i) => xs[i]), { retainGraph: opts.retainGraph ?? false, allowUnused: true });
    const out: (Tensor | null)[] = at.map(() => null);
    wrt.forEach((i, k) => (out[i] = gs[k]));
    return out;
  });
}
