/** Softmax and log-softmax along one axis, computed stably in one native pass. */
import { A, exec, header } from '../backend/exec.js';
import { Op, type OpCode } from '../backend/opcodes.js';
import { fmt, normAxis } from '../tensor/shape.js';
import { Tensor } from '../tensor/tensor.js';
import { needsRecord, record } from '../autograd/record.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';

function run(op: OpCode, name: string, x: Tensor, axis: number): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${name}: expected a tensor, got ${String(x)}`);
  if (x.dtype === 'int32') throw new Error(`${name}: input ${fmt(x.shape)} must be float32 or float64, got int32`);
  const ax = normAxis(name, axis, x.ndim);
  A[header(x.dtype, x.device, x.shape)] = ax;
  const y = new Tensor(exec(op, x.handle(name)), x.shape, x.dtype, x.device);
  if (needsRecord(x)) {
    // The rules use the output y (saved with its graph), so second derivatives stay right.
    if (op === Op.SOFTMAX) {
      // dy = y * (dx - sum(dx * y))
      const rule = (t: Tensor) => mul(y, sub(t, sum(mul(t, y), ax, true)));
      record(y, name, [x], (g) => [rule(g)], ([t]) => t && rule(t), undefined, true);
    } else {
      // dy = dx - softmax(x) * sum(dx) (vjp); jvp: dx - sum(softmax(x) * dx)
      record(
        y,
        name,
        [x],
        (g) => [sub(g, mul(exp(y), sum(g, ax, true)))],
        ([t]) => t && sub(t, sum(mul(exp(y), t), ax, true)),
        undefined,
        true,
      );
    }
  }
  return y;
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
