/**
 * The one road into native code for ops (Note [One op table] in native/core/dispatch.h).
 * An op writes the output's dtype, device and shape with {@link header}, then its attributes
 * after the returned offset into {@link A}, then calls {@link exec} with its inputs.
 */
import { addon, type NativeHandle } from './addon.js';
import { checkOpcodes, type OpCode } from './opcodes.js';
import { DTYPE_CODE, DEVICE_CODE, type DType, type Device } from '../tensor/dtype.js';
import { checkShape, shapeOk } from '../tensor/shape.js';

/** The attribute buffer shared with the addon. */
export const A = new Float64Array(1024);
const CAP = addon.init(A);
checkOpcodes(addon.opNames());

/**
 * Writes the output header; returns the index where the op's attributes start. Every native
 * allocation goes through here, so this is where an output shape is checked against Note [Shape
 * limits] (tensor/shape.ts): an Error naming `op` instead of a count that wraps around in native code.
 */
export function header(dtype: DType, device: Device, shape: readonly number[], op = 'metagrad'): number {
  if (!shapeOk(shape, dtype)) checkShape(op, shape, dtype);
  A[0] = DTYPE_CODE[dtype];
  A[1] = DEVICE_CODE[device];
  const n = shape.length;
  A[2] = n;
  for (let i = 0; i < n; i++) A[3 + i] = shape[i];
  return 3 + n;
}

/** Checks that `count` attributes starting at `at` fit in the buffer. */
export function reserve(op: string, at: number, count: number): void {
  if (at + count > CAP) throw new Error(`${op}: too many attributes (${count})`);
}

/** Runs native op `op` on `inputs` (handles, JS numbers as scalars, or null). */
export const exec = addon.exec as (op: OpCode, ...inputs: (NativeHandle | number | null)[]) => NativeHandle;
/** Like {@link exec}, for ops with several outputs. */
export const execMulti = addon.exec as (op: OpCode, ...inputs: (NativeHandle | number | null)[]) => NativeHandle[];
/** Like {@link exec}, for ops that write in place and return nothing. */
export const execVoid = addon.exec as (op: OpCode, ...inputs: (NativeHandle | number | null)[]) => undefined;
