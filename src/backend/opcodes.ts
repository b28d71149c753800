/**
 * Op codes of the native op table, in the order of native/core/ops.def. The addon exports its own
 * list and {@link checkOpcodes} refuses to run against an addon built from a different list.
 */
export const Op = {
  FILL: 0,
  RAND_UNIFORM: 1,
  RAND_NORMAL: 2,
  RAND_INT: 3,
  CAST: 4,
  COPY: 5,
  RESHAPE: 6,
  ASSIGN: 7,
  NEG: 8,
  EXP: 9,
  LOG: 10,
  SIN: 11,
  COS: 12,
  TANH: 13,
  SIGMOID: 14,
  RELU: 15,
  ABS: 16,
  SQRT: 17,
  SQUARE: 18,
  SIGN: 19,
  CLAMP: 20,
  ADD: 21,
  SUB: 22,
  MUL: 23,
  DIV: 24,
  POW: 25,
  MAXIMUM: 26,
  MINIMUM: 27,
  EQ: 28,
  NE: 29,
  LT: 30,
  LE: 31,
  GT: 32,
  GE: 33,
  WHERE: 34,
  SUM: 35,
  MEAN: 36,
  MAX: 37,
  MIN: 38,
  ARGMAX: 39,
  LOGSUMEXP: 40,
  MATMUL: 41,
  PERMUTE: 42,
  EXPAND: 43,
  SLICE: 44,
  CAT: 45,
  GATHER: 46,
  SCATTER_ADD: 47,
  INDEX_SELECT: 48,
  INDEX_ADD: 49,
  ONE_HOT: 50,
  PAD: 51,
  CONV2D: 52,
  CONV2D_INPUT_GRAD: 53,
  CONV2D_WEIGHT_GRAD: 54,
  MAXPOOL2D: 55,
  MAXPOOL2D_BACKWARD: 56,
  AVGPOOL2D: 57,
  AVGPOOL2D_BACKWARD: 58,
  SOFTMAX: 59,
  LOG_SOFTMAX: 60,
  BATCH_NORM: 61,
  BATCH_NORM_BACKWARD: 62,
  BATCH_NORM_GAMMA_GRAD: 63,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

/** Throws if the addon's op list differs from this file's (a stale build). */
export function checkOpcodes(native: string[]): void {
  const ours = Object.keys(Op);
  if (native.length !== ours.length || native.some((n, i) => n !== ours[i])) {
    throw new Error(
      'metagrad: the native addon was built from a different op list than this package ' +
        '(rebuild it with `npm run build:native`)',
    );
  }
}
