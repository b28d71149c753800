// Input validation (issue 23): shapes whose element count or byte size overflows, bad dimensions,
// wrong argument kinds and disposed tensors are refused with an Error that names the public op
// and the input as given; never a native crash, a silently empty tensor, or an internal
// TypeError/RangeError. Each case below was a crash, a silent wrong result or a wrong error.
import { describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { addon } from '../../src/backend/addon.js';
import { A } from '../../src/backend/exec.js';
import { Op } from '../../src/backend/opcodes.js';

/** The Error `fn` throws (failing if it returns, or throws something other than a plain Error). */
function errorOf(fn: () => unknown): Error {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown, 'expected a throw').toBeInstanceOf(Error);
  expect((thrown as Error).constructor, String(thrown)).toBe(Error);
  return thrown as Error;
}
const message = (fn: () => unknown) => errorOf(fn).message;

describe('element counts that overflow 64 bits (were SIGSEGV, SIGFPE or silent)', () => {
  test.each([
    ['zeros', () => mg.zeros([2 ** 31, 2 ** 31])],
    ['ones', () => mg.ones([2 ** 31, 2 ** 31])],
    ['full', () => mg.full([2 ** 31, 2 ** 31], 3)],
    ['rand', () => mg.rand([2 ** 31, 2 ** 31])],
    ['randn', () => mg.randn([2 ** 31, 2 ** 31])],
    ['randint', () => mg.randint(0, 5, [2 ** 31, 2 ** 31])],
  ])('%s([2^31, 2^31])', (op, fn) => {
    expect(message(fn)).toBe(`${op}: shape [2147483648,2147483648] has 4611686018427388000 elements, more than a tensor can hold (2^53 - 1)`);
  });

  test('expand to [2^32, 2^32] and [2^32, 2^32, 4], as a method and as mg.expand', () => {
    const t = mg.tensor([1]);
    expect(message(() => t.expand([2 ** 32, 2 ** 32]))).toMatch(/^expand: shape \[4294967296,4294967296\] has .* elements, more than a tensor can hold/);
    expect(message(() => mg.expand(t, [2 ** 32, 2 ** 32, 4]))).toMatch(/^expand: shape \[4294967296,4294967296,4\] has/);
  });

  test('pad whose output overflows', () => {
    expect(message(() => mg.pad(mg.ones([2, 2, 3]), [1, 1e13, 1e13, 0]))).toMatch(/^pad: shape \[2,10000000000002,10000000000004\] has .* elements/);
  });

  test('zeros([2^32, 2^32]) and randn([2^62, 4]) no longer return an empty tensor', () => {
    expect(message(() => mg.zeros([2 ** 32, 2 ** 32]))).toMatch(/^zeros: shape \[4294967296,4294967296\] has/);
    expect(message(() => mg.randn([2 ** 62, 4]))).toBe('randn: dimension 4611686018427388000 in shape [4611686018427388000,4] is not a safe integer');
  });

  test('computed output shapes: broadcasting and matmul (zero-size inputs whose result would overflow the strides)', () => {
    const a = mg.zeros([0, 2 ** 27, 1]);
    const b = mg.zeros([0, 1, 2 ** 27]);
    expect(message(() => mg.add(a, b))).toMatch(/^add: shape \[0,134217728,134217728\] has 18014398509481984 elements/);
    expect(message(() => a.mul(b))).toMatch(/^mul: shape \[0,134217728,134217728\]/);
    expect(message(() => mg.matmul(mg.zeros([2 ** 27, 0]), mg.zeros([0, 2 ** 27])))).toMatch(/^matmul: shape \[134217728,134217728\] has/);
  });

  test('byte sizes beyond any address space', () => {
    expect(message(() => mg.zeros([2 ** 45], { dtype: 'float64' }))).toBe('zeros: shape [35184372088832] of float64 needs 281474976710656 bytes, more than can be allocated (2^47)');
  });

  test('a buffer larger than memory and swap: an Error naming zeros (was "FILL: ...")', () => {
    expect(message(() => mg.zeros([1e6, 1e6]))).toMatch(/^zeros: out of memory: 4000000000000 bytes is more than this machine's \d+ bytes/);
    expect(message(() => mg.ones([1e6, 1e6]).sum())).toMatch(/^ones: out of memory/);
  });
});

describe('dimensions are reported as given', () => {
  test.each([
    [[1e308], 'zeros: dimension 1e+308 in shape [1e+308] is not a safe integer'],
    [[2 ** 53], 'zeros: dimension 9007199254740992 in shape [9007199254740992] is not a safe integer'],
    [[2, -1], 'zeros: dimension -1 in shape [2,-1] is negative'],
    [[-0.5], 'zeros: dimension -0.5 in shape [-0.5] is negative'],
    [[NaN, 2], 'zeros: dimension NaN in shape [NaN,2] is not a number'],
    [[Infinity], 'zeros: dimension Infinity in shape [Infinity] is not finite'],
    [[2.5], 'zeros: dimension 2.5 in shape [2.5] is not an integer'],
    [['3'], 'zeros: dimension "3" in shape ["3"] is not a number (string)'],
    [[null], 'zeros: dimension null in shape [null] is not a number (object)'],
  ])('zeros(%j)', (shape, msg) => {
    expect(message(() => mg.zeros(shape as number[]))).toBe(msg);
  });

  test('the same check in reshape, expand, tensor(typed array), eye and randint', () => {
    const t = mg.ones([2, 3]);
    expect(message(() => t.reshape([1e308]))).toBe('reshape: dimension 1e+308 in shape [1e+308] is not a safe integer');
    expect(message(() => t.expand([2, NaN]))).toBe('expand: dimension NaN in shape [2,NaN] is not a number');
    expect(message(() => mg.tensor(new Float32Array(2), { shape: [2, 0.5] }))).toBe('tensor: dimension 0.5 in shape [2,0.5] is not an integer');
    expect(message(() => mg.eye(-3))).toBe('eye: dimension -3 in shape [-3,-3] is negative');
    expect(message(() => mg.randint(0, 2, [3, 1e20]))).toBe('randint: dimension 100000000000000000000 in shape [3,100000000000000000000] is not a safe integer');
    expect(message(() => mg.zeros('3' as never))).toBe('zeros: shape must be an array of integers, got "3"');
  });

  test('valid shapes at the limits still work', () => {
    expect(mg.zeros([0, 2 ** 40]).shape).toEqual([0, 2 ** 40]);
    expect(mg.zeros([0, 2 ** 40]).toArray()).toEqual([]);
    expect(mg.ones([3, 1]).expand([3, 4]).sum().item()).toBe(12);
  });
});

describe('the native side checks too (an addon call that skips the TypeScript checks)', () => {
  /** Runs FILL with a hand-written header of `dims`: the addon must throw, not crash or wrap around. */
  function rawFill(dims: number[]): string {
    A[0] = 0; // float32
    A[1] = 0; // cpu
    A[2] = dims.length;
    dims.forEach((d, i) => (A[3 + i] = d));
    A[3 + dims.length] = 0;
    return message(() => addon.exec(Op.FILL));
  }
  test.each([
    [[2 ** 32, 2 ** 32], /shape \[4294967296,4294967296\] has more than 2\^53 - 1 elements/],
    [[2 ** 62, 4], /is not an integer in \[0, 2\^53 - 1\]/],
    [[1e308], /is not an integer in \[0, 2\^53 - 1\]/],
    [[-1], /is not an integer in \[0, 2\^53 - 1\]/],
    [[NaN], /is not an integer in \[0, 2\^53 - 1\]/],
    [[2.5], /is not an integer in \[0, 2\^53 - 1\]/],
  ])('FILL %j', (dims, re) => {
    expect(rawFill(dims)).toMatch(re);
  });
  test('an attribute beyond 2^53 (pad widths) is refused', () => {
    const x = mg.ones([2]);
    A[0] = 0;
    A[1] = 0;
    A[2] = 1;
    A[3] = 4;
    A[4] = 1e300; // before
    A[5] = 1; // after
    A[6] = 0; // value
    expect(message(() => addon.exec(Op.PAD, x.handle('test')))).toMatch(/attribute 0 .* is not an integer of magnitude at most 2\^53/);
  });
});

describe('ranges and identities too large for a JS buffer (were RangeError naming no op)', () => {
  test('linspace, arange, eye', () => {
    expect(message(() => mg.linspace(0, 1, 1e13))).toBe('linspace: shape [10000000000000] of float32 needs 40000000000000 bytes, more than a JavaScript buffer holds (4294967296)');
    expect(message(() => mg.arange(0, 1, 1e-13))).toMatch(/^arange: shape \[10000000000000\] of float32 needs 40000000000000 bytes/);
    expect(message(() => mg.eye(1e7))).toBe('eye: shape [10000000,10000000] of float32 needs 400000000000000 bytes, more than can be allocated (2^47)');
    expect(message(() => mg.linspace(0, NaN, 3))).toMatch(/^linspace: start and end must be finite numbers/);
    expect(message(() => mg.linspace(0, 1, 2.5))).toMatch(/^linspace: steps must be a non-negative safe integer, got 2.5/);
  });
});

describe('wrong kinds of argument get validation errors (were TypeError: Cannot read properties)', () => {
  test('vjp with a NaN, a non-tensor, a disposed or a mismatched cotangent', () => {
    const [y, vjpFn] = mg.vjp((a) => a.sin(), [mg.ones([3])]);
    expect(message(() => vjpFn(NaN as never))).toBe("vjp: the cotangent must be a tensor of the output's shape [3], got NaN");
    expect(message(() => vjpFn(null as never))).toMatch(/^vjp: the cotangent must be a tensor/);
    // A mismatched cotangent said "grad: gradOutputs[0] ...".
    expect(message(() => vjpFn(mg.ones([4])))).toBe("vjp: the cotangent has shape [4] but f's output has shape [3]");
    const d = mg.ones([3]);
    d.dispose();
    expect(message(() => vjpFn(d))).toMatch(/^vjp: this tensor .* was disposed/);
    // A valid cotangent still gives the vjp: cos(1) * [1, 2, 3].
    const [g] = vjpFn(mg.tensor([1, 2, 3]));
    const c = Math.cos(1);
    Array.from(g.data()).forEach((v, i) => expect(v).toBeCloseTo(c * (i + 1), 6));
    expect(y.shape).toEqual([3]);
  });

  test.each([
    ['"x"', 'x', 'copy_: the source must be a tensor, got "x"'],
    ['null', null, 'copy_: the source must be a tensor, got null'],
    ['undefined', undefined, 'copy_: the source must be a tensor, got undefined'],
    ['a BigInt', 1n, 'copy_: the source must be a tensor, got 1n'],
    ['a ragged array', [[1], [1, 2]], 'copy_: the source must be a tensor, got [[1],[1,2]]'],
  ])('copy_ with %s', (_, src, msg) => {
    expect(message(() => mg.copy_(mg.zeros([2]), src as never))).toBe(msg);
  });

  test('copy_ still copies and casts', () => {
    const dst = mg.zeros([2], { dtype: 'float64' });
    mg.copy_(dst, mg.tensor([1.5, 2.5]));
    expect(dst.toArray()).toEqual([1.5, 2.5]);
    expect(message(() => mg.copy_(null as never, dst))).toBe('copy_: the destination must be a tensor, got null');
  });

  test('zerosLike(null), tensor(data, null), options that are not objects', () => {
    expect(message(() => mg.zerosLike(null as never))).toBe('zerosLike: expected a tensor, got null');
    expect(message(() => mg.onesLike(3 as never))).toBe('onesLike: expected a tensor, got 3');
    expect(message(() => mg.tensor([1, 2], null as never))).toBe('tensor: options must be an object, got null');
    expect(message(() => mg.zeros([2], 'float64' as never))).toBe('zeros: options must be an object, got "float64"');
    expect(message(() => mg.tensor([1, 2n] as never))).toBe('tensor: expected numbers, got 2n');
  });

  test('requiresGrad must be a boolean (the string was stored)', () => {
    expect(message(() => mg.zeros([2], { requiresGrad: 'yes' as never }))).toBe('zeros: requiresGrad must be true or false, got "yes"');
    expect(message(() => mg.ones([2]).requiresGrad_(1 as never))).toBe('requiresGrad_: expected true or false, got 1');
    expect(mg.zeros([2], { requiresGrad: true }).requiresGrad).toBe(true);
  });

  test('zerosLike, onesLike and fullLike of a disposed tensor throw like every other op', () => {
    const t = mg.ones([2]);
    t.dispose();
    for (const [op, fn] of [['zerosLike', () => mg.zerosLike(t)], ['onesLike', () => mg.onesLike(t)], ['fullLike', () => mg.fullLike(t, 2)], ['sqrt', () => mg.sqrt(t)]] as const) {
      expect(message(fn)).toBe(`${op}: this tensor (shape [2], float32) was disposed and cannot be used`);
    }
  });
});

describe('errors name the public op that was called', () => {
  test('sqrt of a disposed int32 tensor (said "to:"), as a function and as a method', () => {
    const t = mg.tensor([1, 4], { dtype: 'int32' });
    t.dispose();
    expect(message(() => mg.sqrt(t))).toBe('sqrt: this tensor (shape [2], int32) was disposed and cannot be used');
    expect(message(() => t.sqrt())).toBe('sqrt: this tensor (shape [2], int32) was disposed and cannot be used');
    expect(message(() => mg.add(t, 1.5))).toMatch(/^add: this tensor/);
  });

  test('mseLoss with shapes that do not broadcast (said "sub:")', () => {
    expect(message(() => mg.nn.functional.mseLoss(mg.ones([2]), mg.ones([3])))).toBe('mseLoss: shapes [2] and [3] cannot be broadcast together (in sub)');
    // Broadcasting shapes still work: mean((1 - [0, 2])^2) = 1.
    expect(mg.nn.functional.mseLoss(mg.ones([2, 1]), mg.tensor([0, 2])).item()).toBe(1);
  });

  test('an error inside a backward rule names grad, and detectAnomaly keeps its own report', () => {
    const x = mg.tensor([0, 1, 4], { dtype: 'float64', requiresGrad: true });
    expect(message(() => mg.detectAnomaly(() => mg.grad(x.sqrt().sum(), [x])))).toMatch(/^detectAnomaly: the backward of 'sqrt' returned Infinity/);
  });

  test('an error inside the user function of a transform keeps the name of the op that failed', () => {
    expect(message(() => mg.hvp((a) => a.matmul(mg.ones([5, 1])).sum(), [mg.ones([1, 3])], [mg.ones([1, 3])]))).toMatch(/^matmul: /);
  });
});
