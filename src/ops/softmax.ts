/** Softmax and log-softmax along one axis, computed stably in one native pass. */
import { A, exec, header } from '../backend/exec.js';
import { Op, type OpCode } from '../backend/opcodes.js';
import { fmt, normAxis } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';

function run(op: OpCode, name: string, x: Tensor, axis: number): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${name}: expected a tensor, got ${String(x)}`);
  if (x.dtype === 'int32') throw new Error(`${name}: input ${fmt(x.shape)} must be float32 or float64, got int32`);
  const ax = normAxis(name, axis, x.ndim);
  A[header(x.dtype, x.device, x.shape)] = ax;
  return new Tensor(exec(op, x.handle(name)), x.shape, x.dtype, x.device);
}

/**
 * `exp(x) / sum(exp(x))` along `axis` (the last by default; negative counts from the end), for
 * float32/float64 input. The maximum is subtracted first, so large inputs stay finite; `-inf`
 * entries give 0, and a slice of all `-inf` (or containing NaN) gives NaN, as in PyTorch.
 */
export function softmax(x: Tensor, axis = -1): Tensor { return run(Op.SOFTMAX, 'softmax', x, axis); }
/**
 * `x - logsumexp(x)` along `axis` (the last by default), computed stably: `-inf` entries stay
 * `-inf`, and a slice of all `-inf` gives NaN, as in PyTorch.
 */
export function logSoftmax(x: Tensor, axis = -1): Tensor { return run(Op.LOG_SOFTMAX, 'logSoftmax', x, axis); }
