/** Matrix products: 2-D, batched, with broadcast batch dims (numpy.matmul semantics). */
import { A, exec, header } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { promoteTypes } from '../tensor/dtype.js';
import { fmt } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { cast } from './convert.js';
import { needsRecord, record, release } from '../autograd/record.js';
import { add } from './elementwise.js';
import { reshape } from './movement.js';
import { sumToShape } from './sum_to_shape.js';

function incompatible(name: string, a: Tensor, b: Tensor, why: string): Error {
  return new Error(`${name}: shapes ${fmt(a.shape)} and ${fmt(b.shape)} are not compatible (${why})`);
}

/** Shared body of {@link matmul} and {@link matmulT}. */
function product(name: string, a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) {
    throw new Error(`${name}: expected two tensors, got ${String(a)} and ${String(b)}`);
  }
  // Disposed inputs fail here, naming this op, before any conversion touches them.
  a.handle(name);
  b.handle(name);
  if (a.device !== b.device) {
    throw new Error(`${name}: tensors are on different devices (${a.device} ${fmt(a.shape)} and ${b.device} ${fmt(b.shape)})`);
  }
  const as = a.shape;
  const bs = b.shape;
  if (as.length === 0 || bs.length === 0) throw incompatible(name, a, b, 'a 0-d tensor has no matrix dimensions');
  // A 1-D a is a row [1,k] and a 1-D b a column [k,1] (transposing a vector changes nothing).
  const ta = as.length >= 2 && transA;
  const tb = bs.length >= 2 && transB;
  const ar = as.length >= 2 ? as[as.length - 2] : 1;
  const ac = as[as.length - 1];
  const br = bs.length >= 2 ? bs[bs.length - 2] : bs[0];
  const bc = bs.length >= 2 ? bs[bs.length - 1] : 1;
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const kb = tb ? bc : br;
  const n = tb ? br : bc;
  if (k !== kb) throw incompatible(name, a, b, `inner dimensions ${k} and ${kb} differ`);
  // Batch dims broadcast, right-aligned.
  const nab = Math.max(as.length - 2, 0);
  const nbb = Math.max(bs.length - 2, 0);
  const nob = Math.max(nab, nbb);
  const batch = new Array<number>(nob);
  for (let i = 0; i < nob; i++) {
    const da = i - (nob - nab) >= 0 ? as[i - (nob - nab)] : 1;
    const db = i - (nob - nbb) >= 0 ? bs[i - (nob - nbb)] : 1;
    if (da !== db && da !== 1 && db !== 1) throw incompatible(name, a, b, `batch dimensions ${da} and ${db} do not broadcast`);
    batch[i] = da === 1 ? db : da;
  }
  const dt = promoteTypes(a.dtype, b.dtype);
  const xa = cast(a, dt, 'matmul');
  const xb = cast(b, dt, 'matmul');
  const full = [...batch, m, n];
  const at = header(dt, a.device, full, 'matmul');
  A[at] = ta ? 1 : 0;
  A[at + 1] = tb ? 1 : 0;
  const out = new Tensor(exec(Op.MATMUL, xa.handle(name), xb.handle(name)), full, dt, a.device);
  let r = out;
  if (as.length < 2 || bs.length < 2) {
    // Remove the dims the 1-D operands added (a view of the same buffer; out records nothing).
    const shape = batch.slice();
    if (as.length >= 2) shape.push(m);
    if (bs.length >= 2) shape.push(n);
    r = out.reshape(shape);
    out.dispose();
  }
  if (dt !== 'int32' && needsRecord(xa, xb)) recordProduct(name, xa, xb, ta, tb, full, r);
  // Free promotion temporaries now (release: the tape node may still hold them).
  if (xa !== a) release(xa);
  if (xb !== b) release(xb);
  return r;
}

/**
 * The derivative rules of `r = op(a) @ op(b)` (r has the final shape, `full` the shape with the
 * dims of 1-D operands kept), written with matmulT's flags so no transpose is materialised. With
 * G the gradient, d op(a) = G op(b)^T and d op(b) = op(a)^T G; a transposed operand takes the
 * transpose of that. Batch broadcasting is undone by sumToShape (ARCHITECTURE.md rule 4) and a
 * 1-D operand is handled as the [1,k] row or [k,1] column it stands for.
 */
function recordProduct(name: string, a: Tensor, b: Tensor, ta: boolean, tb: boolean, full: readonly number[], r: Tensor): void {
  const as = a.shape;
  const bs = b.shape;
  const mat = (x: Tensor, s: readonly number[]) => (x.ndim === s.length ? x : reshape(x, s));
  const a2 = as.length >= 2 ? as : [1, as[0]];
  const b2 = bs.length >= 2 ? bs : [bs[0], 1];
  const back = (d: Tensor, s2: readonly number[], s: readonly number[]) => {
    const ds = sumToShape(d, s2);
    return s.length === s2.length ? ds : reshape(ds, s);
  };
  record(
    r,
    name,
    [a, b],
    (g, needs) => {
      const G = mat(g, full);
      const A2 = mat(a, a2);
      const B2 = mat(b, b2);
      const da = needs[0] ? back(ta ? matmulT(B2, G, tb, true) : matmulT(G, B2, false, !tb), a2, as) : null;
      const db = needs[1] ? back(tb ? matmulT(G, A2, true, ta) : matmulT(A2, G, !ta, false), b2, bs) : null;
      return [da, db];
    },
    ([da, db]) => {
      const t1 = da && matmulT(da, b, ta, tb);
      const t2 = db && matmulT(a, db, ta, tb);
      return t1 === null ? t2 : t2 === null ? t1 : add(t1, t2);
    },
  );
}

/**
 * Matrix product `a @ b` with `numpy.matmul` semantics: the last two dims are the matrices and
 * any leading (batch) dims broadcast; a 1-D `a` is treated as a row `[1,k]` and a 1-D `b` as a
 * column `[k,1]`, and the added dim is removed from the result. Mixed dtypes promote
 * (`promoteTypes`); int32 products wrap on overflow. Throws for 0-d operands, incompatible
 * shapes, or tensors on different devices.
 *
 * @example mg.matmul(mg.ones([2, 3]), mg.ones([3, 4])).shape // [2, 4]
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  return product('matmul', a, b, false, false);
}

/**
 * @internal Mostly for autograd's backward rules: `op(a) @ op(b)` where `op(x)` swaps the last
 * two dims of `x` when its flag is set, computed without materialising the transposes (the GEMM
 * reads the operands transposed). Otherwise identical to {@link matmul}; the flag of a 1-D
 * operand is ignored, since transposing a vector changes nothing.
 *
 * @example matmulT(g, w, false, true) // g @ w^T, the input gradient of a linear layer
 */
export function matmulT(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Tensor {
  return product('matmulT', a, b, transA === true, transB === true);
}
