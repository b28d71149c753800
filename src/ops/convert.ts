/** Differentiable conversions: dtype casts and copies. */
import { exec, header } from '../backend/exec.js';
import { Op } from '../backend/opcodes.js';
import { needsRecord, record } from '../autograd/record.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/**
 * `x` converted to `dtype` (float to int32 truncates toward zero; such results carry no gradient).
 * `op` names the public op in errors (an op promoting its operands passes its own name).
 */
export function cast(x: Tensor, dtype: DType, op = 'to'): Tensor {
  if (dtype === x.dtype) return x;
  header(dtype, x.device, x.shape, op);
  const y = new Tensor(exec(Op.CAST, x.handle(op)), x.shape, dtype, x.device);
  if (dtype !== 'int32' && x.dtype !== 'int32' && needsRecord(x)) {
    record(y, 'cast', [x], (g) => [cast(g, x.dtype)], ([t]) => t && cast(t, dtype));
  }
  return y;
}

/** A copy of `x` with its own buffer (differentiable: the identity). */
export function clone(x: Tensor): Tensor {
  header(x.dtype, x.device, x.shape);
  const y = new Tensor(exec(Op.COPY, x.handle('clone')), x.shape, x.dtype, x.device);
  if (needsRecord(x)) record(y, 'clone', [x], (g) => [g], ([t]) => t);
  return y;
}

/**
 * A new tensor object for the same values (a view; the identity op). The functional transforms
 * use it to give each call its own primal/dual tensor without copying data.
 */
export function alias(x: Tensor): Tensor {
  header(x.dtype, x.device, x.shape);
  const y = new Tensor(exec(Op.RESHAPE, x.handle('alias')), x.shape, x.dtype, x.device);
  if (needsRecord(x)) record(y, 'alias', [x], (g) => [g], ([t]) => t);
  return y;
}
