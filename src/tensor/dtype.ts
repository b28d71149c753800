/** Element types. `int32` also serves as the boolean type: comparisons return int32 0/1. */
export type DType = 'float32' | 'float64' | 'int32';
/** Where a tensor's memory lives. */
export type Device = 'cpu' | 'cuda';

/** Native dtype codes (native/core/tensor.h). */
export const DTYPE_CODE: Record<DType, number> = { float32: 0, float64: 1, int32: 2 };
export const DEVICE_CODE: Record<Device, number> = { cpu: 0, cuda: 1 };

export type TypedArrayFor<D extends DType> = D extends 'float64' ? Float64Array : D extends 'int32' ? Int32Array : Float32Array;
export type AnyTypedArray = Float32Array | Float64Array | Int32Array;

export function isDType(x: unknown): x is DType {
  return x === 'float32' || x === 'float64' || x === 'int32';
}
export function isDevice(x: unknown): x is Device {
  return x === 'cpu' || x === 'cuda';
}
export function isFloat(d: DType): boolean {
  return d !== 'int32';
}

/** The array class holding a dtype's elements. */
export function arrayClass(d: DType): Float32ArrayConstructor | Float64ArrayConstructor | Int32ArrayConstructor {
  return d === 'float64' ? Float64Array : d === 'int32' ? Int32Array : Float32Array;
}

/** PyTorch-style promotion of two tensor dtypes: float64 > float32 > int32. */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  return 'float32';
}
