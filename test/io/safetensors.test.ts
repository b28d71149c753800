/**
 * mg.io.save / mg.io.load against the safetensors specification: files laid out by hand byte by
 * byte, our own files parsed by hand, bit-exact round trips, every refusal, and atomic saves.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as mg from '../../src/index.js';
import { prng } from '../helpers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-io-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

let fileNo = 0;
/** A fresh file path in the test directory. */
function fresh(name: string): string {
  return path.join(dir, `${fileNo++}-${name}.safetensors`);
}

/** Bytes of a safetensors file: u64 LE header length, the header bytes, the data bytes. */
function fileBytes(header: string | Uint8Array, data: Uint8Array = new Uint8Array(0), length?: bigint): Uint8Array {
  const h = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, length ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function writeFile(name: string, bytes: Uint8Array): string {
  const p = fresh(name);
  fs.writeFileSync(p, bytes);
  return p;
}

/** The bits of a typed array, for bit-exact comparison (NaN payloads, -0). */
function bits(a: ArrayBufferView): number[] {
  return Array.from(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

/** Names of the entries of the test directory (to find stray temporary files). */
function listing(d = dir): string[] {
  return fs.readdirSync(d).sort();
}

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

async function caughtAsync(fn: () => Promise<unknown>): Promise<Error> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Error);
    return e as Error;
  }
  throw new Error('expected an error, got none');
}

const F32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });

describe('a file laid out by hand from the specification', () => {
  // Data buffer (71 bytes), offsets written out by hand:
  //   [0,8)   x64  F64  []     0.1
  //   [8,40)  idx  I64  [2,2]  -1, 2147483647, -2147483648, 7
  //   [40,50) half F16  [5]    0x3C00 0xC000 0x7BFF 0x0001 0x3555
  //   [50,56) bf   BF16 [3]    0x3F80 0xC049 0x0001
  //   [56,64) i32  I32  [2]    0x80000001, 0x00000100
  //   [64,64) none F32  [2,0]  (empty)
  //   [64,67) mask BOOL [3]    1 0 1
  //   [67,69) u8   U8   [2]    255 0
  //   [69,71) i8   I8   [2]    0xFF 0x80
  function handFile(): string {
    const data = new Uint8Array(71);
    const dv = new DataView(data.buffer);
    dv.setFloat64(0, 0.1, true);
    dv.setBigInt64(8, -1n, true);
    dv.setBigInt64(16, 2147483647n, true);
    dv.setBigInt64(24, -2147483648n, true);
    dv.setBigInt64(32, 7n, true);
    [0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555].forEach((h, i) => dv.setUint16(40 + 2 * i, h, true));
    [0x3f80, 0xc049, 0x0001].forEach((h, i) => dv.setUint16(50 + 2 * i, h, true));
    data.set([0x01, 0x00, 0x00, 0x80, 0x00, 0x01, 0x00, 0x00], 56);
    data.set([1, 0, 1, 255, 0, 0xff, 0x80], 64);
    // Keys deliberately not in data order; a header length that is not a multiple of 8, padded with spaces.
    const header =
      '{"mask":{"dtype":"BOOL","shape":[3],"data_offsets":[64,67]},' +
      '"half":{"shape":[5],"dtype":"F16","data_offsets":[40,50]},' +
      '"__metadata__":{"format":"pt","note":"hand made ✓"},' +
      '"x64":{"dtype":"F64","shape":[],"data_offsets":[0,8]},' +
      '"bf":{"dtype":"BF16","shape":[3],"data_offsets":[50,56]},' +
      '"u8":{"dtype":"U8","shape":[2],"data_offsets":[67,69]},' +
      '"idx":{"dtype":"I64","shape":[2,2],"data_offsets":[8,40]},' +
      '"i8":{"dtype":"I8","shape":[2],"data_offsets":[69,71]},' +
      '"none":{"dtype":"F32","shape":[2,0],"data_offsets":[64,64]},' +
      '"i32":{"dtype":"I32","shape":[2],"data_offsets":[56,64]}}   ';
    return writeFile('hand', fileBytes(header, data));
  }

  test('every dtype decodes to the hand-computed values', () => {
    const { tensors, metadata } = mg.io.load(handFile());
    expect(metadata).toEqual({ format: 'pt', note: 'hand made ✓' });
    expect([...tensors.keys()]).toEqual(['x64', 'idx', 'half', 'bf', 'i32', 'none', 'mask', 'u8', 'i8']);
    const t = (k: string) => tensors.get(k)!;

    expect([t('x64').dtype, t('x64').shape]).toEqual(['float64', []]);
    expect(t('x64').item()).toBe(0.1);
    expect([t('idx').dtype, t('idx').shape]).toEqual(['int32', [2, 2]]);
    expect(t('idx').toArray()).toEqual([[-1, 2147483647], [-2147483648, 7]]);
    // F16: 1, -2, 65504 (largest half), 2^-24 (smallest subnormal), 0.25 * (1 + 341/1024).
    expect(t('half').dtype).toBe('float32');
    expect(t('half').toArray()).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125]);
    // BF16 is the top half of a float32: 0x3F800000 = 1, 0xC0490000 = -3.140625, 0x00010000 = 2^-133.
    expect(t('bf').dtype).toBe('float32');
    expect(t('bf').toArray()).toEqual([1, -3.140625, 2 ** -133]);
    expect(t('i32').toArray()).toEqual([-2147483647, 256]);
    expect([t('none').dtype, t('none').shape, t('none').size]).toEqual(['float32', [2, 0], 0]);
    expect([t('mask').dtype, t('mask').toArray()]).toEqual(['int32', [1, 0, 1]]);
    expect(t('u8').toArray()).toEqual([255, 0]);
    expect(t('i8').toArray()).toEqual([-1, -128]);
    for (const x of tensors.values()) x.dispose();
  });

  test('F16 infinities and NaN, and the dtype option', () => {
    const data = new Uint8Array(8);
    const dv = new DataView(data.buffer);
    [0x7c00, 0xfc00, 0x7e00, 0x8000].forEach((h, i) => dv.setUint16(2 * i, h, true));
    const p = writeFile('half-special', fileBytes('{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}', data));
    const h = mg.io.load(p).tensors.get('h')!;
    const v = h.data();
    expect([v[0], v[1], Number.isNaN(v[2]), Object.is(v[3], -0)]).toEqual([Infinity, -Infinity, true, true]);
    const h64 = mg.io.load(p, { dtype: 'float64' }).tensors.get('h')!;
    expect(h64.dtype).toBe('float64');
    const ints = mg.io.load(handFileInts(), { dtype: 'float64' }).tensors;
    expect(ints.get('a')!.dtype).toBe('int32'); // integer entries stay int32
    expect(ints.get('b')!.dtype).toBe('float64');
    expect(ints.get('b')!.item()).toBe(0.5);
  });

  function handFileInts(): string {
    const data = new Uint8Array(8);
    const dv = new DataView(data.buffer);
    dv.setInt32(0, 3, true);
    dv.setFloat32(4, 0.5, true);
    return writeFile('ints', fileBytes('{"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}', data));
  }

  test('a file with only a header (no tensors) loads empty', () => {
    const r = mg.io.load(writeFile('empty', fileBytes('{}')));
    expect(r.tensors.size).toBe(0);
    expect(r.metadata).toEqual({});
  });

  test('loadAsync reads the same file', async () => {
    const { tensors } = await mg.io.loadAsync(handFile());
    expect(tensors.get('half')!.toArray()).toEqual([1, -2, 65504, 2 ** -24, 0.333251953125]);
    expect(tensors.get('idx')!.toArray()).toEqual([[-1, 2147483647], [-2147483648, 7]]);
  });
});

describe('our files match the specification', () => {
  test('header length, JSON, offsets and data parsed by hand', () => {
    const p = fresh('ours');
    const a = mg.tensor(new Float32Array([1.5, -2, 3.25]), { shape: [3] });
    const b = mg.tensor(new Float64Array([0.1, -0, 1e300, 7]), { shape: [2, 2] });
    const c = mg.tensor(new Int32Array([-5]), { shape: [] });
    mg.io.save(p, { c, a, b }, { step: '10' });
    const buf = fs.readFileSync(p);
    const n = Number(buf.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = buf.subarray(8, 8 + n).toString('utf8');
    // JSON then space padding only.
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    expect(/^\{.*\} *$/s.test(text)).toBe(true);
    expect(JSON.parse(text)).toEqual({
      __metadata__: { step: '10' },
      b: { dtype: 'F64', shape: [2, 2], data_offsets: [0, 32] },
      a: { dtype: 'F32', shape: [3], data_offsets: [32, 44] },
      c: { dtype: 'I32', shape: [], data_offsets: [44, 48] },
    });
    // Keys in data order (8-byte types first, then by name), metadata first.
    expect(text.indexOf('"__metadata__"')).toBe(1);
    expect(text.indexOf('"b"')).toBeLessThan(text.indexOf('"a"'));
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"c"'));
    expect(buf.length).toBe(8 + n + 48);
    const base = 8 + n;
    expect(base % 8).toBe(0);
    expect([0, 1, 2, 3].map((i) => buf.readDoubleLE(base + 8 * i))).toEqual([0.1, -0, 1e300, 7]);
    expect(Object.is(buf.readDoubleLE(base + 8), -0)).toBe(true);
    expect([0, 1, 2].map((i) => buf.readFloatLE(base + 32 + 4 * i))).toEqual([1.5, -2, 3.25]);
    expect(buf.readInt32LE(base + 44)).toBe(-5);
  });

  test('integer-like names keep their own keys, and Map input works', () => {
    const p = fresh('names');
    const m = new Map<string, mg.Tensor>([['10', mg.tensor([1])], ['2', mg.tensor([2])], ['a', mg.tensor([3])]]);
    mg.io.save(p, m);
    const buf = fs.readFileSync(p);
    const text = buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString();
    expect(text.startsWith('{"10":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"2":')).toBe(true);
    const { tensors, metadata } = mg.io.load(p);
    expect(metadata).toEqual({});
    expect([...tensors].map(([k, t]) => [k, t.item()])).toEqual([['10', 1], ['2', 2], ['a', 3]]);
  });
});

describe('round trips', () => {
  test('float32, float64 and int32 of many shapes, with metadata', () => {
    const r = prng(7);
    const shapes = [[], [0], [1], [7], [3, 0, 2], [2, 3, 4], [1, 1, 1, 5]];
    const src = new Map<string, mg.Tensor>();
    const arrays = new Map<string, ArrayBufferView>();
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      shapes.forEach((shape, i) => {
        const n = shape.reduce((a, b) => a * b, 1);
        const vals = Array.from({ length: n }, () => (r() - 0.5) * 1e4);
        const arr = dtype === 'float32' ? Float32Array.from(vals) : dtype === 'float64' ? Float64Array.from(vals) : Int32Array.from(vals.map(Math.round));
        const name = `${dtype}.${i}`;
        arrays.set(name, arr);
        src.set(name, mg.tensor(arr, { shape }));
      });
    }
    const meta = { format: 'pt', note: 'ünïcødé ✓ "quoted"\n', empty: '', __proto__x: 'y' };
    const p = fresh('round');
    mg.io.save(p, src, meta);
    const { tensors, metadata } = mg.io.load(p);
    expect(metadata).toEqual(meta);
    expect(tensors.size).toBe(src.size);
    for (const [name, t] of src) {
      const got = tensors.get(name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(bits(got.data())).toEqual(bits(arrays.get(name)!));
    }
  });

  test('bit-exact: NaN payloads, -0, subnormals, infinities', async () => {
    const f32 = new Float32Array(new Uint32Array([0x7fc00001, 0xffc12345, 0x80000000, 0x00000001, 0x007fffff, 0x7f800000, 0xff800000, 0x7f7fffff]).buffer);
    const f64bits = new BigUint64Array([0x7ff8000000000123n, 0xfff8000000abcdefn, 0x8000000000000000n, 1n, 0x000fffffffffffffn, 0x7ff0000000000000n]);
    const f64 = new Float64Array(f64bits.buffer);
    const a = mg.tensor(f32, { shape: [8] });
    const b = mg.tensor(f64, { shape: [2, 3] });
    const p = fresh('bits');
    mg.io.save(p, { a, b });
    // The file holds the exact bits (b, 8-byte, comes first).
    const buf = fs.readFileSync(p);
    const base = 8 + Number(buf.readBigUInt64LE(0));
    expect(buf.readBigUInt64LE(base)).toBe(0x7ff8000000000123n);
    expect(buf.readUInt32LE(base + 48)).toBe(0x7fc00001);
    const { tensors } = mg.io.load(p);
    expect(bits(tensors.get('a')!.data())).toEqual(bits(f32));
    expect(bits(tensors.get('b')!.data())).toEqual(bits(f64));
    const again = await mg.io.loadAsync(p);
    expect(bits(again.tensors.get('b')!.data())).toEqual(bits(f64));
  });

  test('saveAsync and loadAsync', async () => {
    const p = fresh('async');
    await mg.io.saveAsync(p, { w: mg.tensor([[1, 2], [3, 4]]), n: mg.tensor([9], { dtype: 'int32' }) }, { k: 'v' });
    const { tensors, metadata } = await mg.io.loadAsync(p);
    expect(metadata).toEqual({ k: 'v' });
    expect(tensors.get('w')!.toArray()).toEqual([[1, 2], [3, 4]]);
    expect(tensors.get('n')!.toArray()).toEqual([9]);
    // Same bytes as the sync writer.
    const q = fresh('sync');
    mg.io.save(q, { w: mg.tensor([[1, 2], [3, 4]]), n: mg.tensor([9], { dtype: 'int32' }) }, { k: 'v' });
    expect(fs.readFileSync(p).equals(fs.readFileSync(q))).toBe(true);
  });

  test('a large tensor (8M floats)', () => {
    const n = 8 * 1024 * 1024;
    const arr = new Float32Array(n);
    for (let i = 0; i < n; i++) arr[i] = (i % 9973) * 0.25 - i * 1e-3;
    const t = mg.tensor(arr, { shape: [2048, 4096] });
    const p = fresh('large');
    mg.io.save(p, { big: t, small: mg.tensor([1, 2, 3], { dtype: 'float64' }) });
    expect(fs.statSync(p).size).toBeGreaterThan(4 * n);
    const got = mg.io.load(p).tensors.get('big')!;
    expect(got.shape).toEqual([2048, 4096]);
    expect(Buffer.from(got.data().buffer).equals(Buffer.from(arr.buffer))).toBe(true);
    t.dispose();
    got.dispose();
  });

  test.skipIf(!mg.cuda.isAvailable())('cuda tensors are copied to the host and can be loaded onto cuda', () => {
    const t = mg.tensor([[1, -2], [3, 4.5]], { device: 'cuda' });
    const p = fresh('cuda');
    mg.io.save(p, { t });
    const onCpu = mg.io.load(p).tensors.get('t')!;
    expect([onCpu.device, onCpu.toArray()]).toEqual(['cpu', [[1, -2], [3, 4.5]]]);
    const onGpu = mg.io.load(p, { device: 'cuda' }).tensors.get('t')!;
    expect([onGpu.device, onGpu.toArray()]).toEqual(['cuda', [[1, -2], [3, 4.5]]]);
  });
});

describe('refusals: every malformed file fails with the file and the problem named', () => {
  const i64 = (v: bigint) => {
    const d = new Uint8Array(8);
    new DataView(d.buffer).setBigInt64(0, v, true);
    return d;
  };
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(0), /file is 0 bytes, shorter than the 8-byte header length/],
    ['shorter than 8 bytes', new Uint8Array([2, 0, 0, 0, 0]), /file is 5 bytes, shorter than the 8-byte/],
    ['header length larger than the file', fileBytes('{}', new Uint8Array(0), 100n), /header length 100 is larger than the 2 bytes that follow/],
    ['absurd header length', fileBytes('{}', new Uint8Array(0), 1n << 63n), /header length 9223372036854775808 is absurd/],
    ['max u64 header length', fileBytes('{}', new Uint8Array(0), 0xffffffffffffffffn), /header length 18446744073709551615 is absurd/],
    ['just over the header limit', fileBytes('{}', new Uint8Array(0), 100_000_001n), /is absurd \(more than 100000000 bytes\)/],
    ['invalid UTF-8', fileBytes(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8/],
    ['truncated UTF-8 sequence', fileBytes(new Uint8Array([0x7b, 0x22, 0xe2, 0x82, 0x22, 0x3a, 0x31, 0x7d])), /header is not valid UTF-8/],
    ['not JSON', fileBytes('{"a":'), /header is not valid JSON/],
    ['NUL padding is not JSON', fileBytes(new Uint8Array([0x7b, 0x7d, 0, 0, 0, 0, 0, 0])), /header is not valid JSON/],
    ['a byte-order mark', fileBytes(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d])), /header is not valid JSON/],
    ['JSON array', fileBytes('[1,2]'), /header is not a JSON object \(got an array\)/],
    ['JSON string', fileBytes('"x"'), /header is not a JSON object \(got string\)/],
    ['JSON null', fileBytes('null'), /header is not a JSON object \(got null\)/],
    ['entry not an object', fileBytes('{"w":5}'), /tensor "w": entry is not an object/],
    ['missing dtype', fileBytes('{"w":{"shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": entry has no dtype/],
    ['missing shape', fileBytes('{"w":{"dtype":"F32","data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": entry has no shape/],
    ['missing data_offsets', fileBytes('{"w":{"dtype":"F32","shape":[1]}}', new Uint8Array(4)), /tensor "w": entry has no data_offsets/],
    ['dtype not a string', fileBytes('{"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": dtype is not a string/],
    ['unknown dtype', fileBytes('{"w":{"dtype":"F17","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": unknown dtype "F17"/],
    ['lower-case dtype', fileBytes('{"w":{"dtype":"f32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": unknown dtype "f32"/],
    ['unsupported dtype', fileBytes('{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": dtype F8_E4M3 is not supported/],
    ['shape not an array', fileBytes('{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": shape is not an array/],
    ['negative shape entry', fileBytes('{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": shape \[-1\] has an entry that is not a non-negative integer/],
    ['non-integer shape entry', fileBytes('{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', new Uint8Array(4)), /tensor "w": shape \[1.5\] has an entry that is not a non-negative integer/],
    ['string shape entry', fileBytes('{"w":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}', new Uint8Array(4)), /shape \["1"\] has an entry that is not a non-negative integer/],
    ['one offset', fileBytes('{"w":{"dtype":"F32","shape":[1],"data_offsets":[4]}}', new Uint8Array(4)), /tensor "w": data_offsets is not an array of two integers/],
    ['string offsets', fileBytes('{"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}', new Uint8Array(4)), /tensor "w": data_offsets \["0","4"\] are not non-negative integers/],
    ['negative offset', fileBytes('{"w":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}'), /data_offsets \[-4,-4\] are not non-negative integers/],
    ['fractional offset', fileBytes('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0.5,1.5]}}', new Uint8Array(2)), /are not non-negative integers/],
    ['offsets out of range', fileBytes(JSON.stringify({ w: F32([2], 0, 8) }), new Uint8Array(4)), /tensor "w": data_offsets \[0,8\] are out of range \(the data buffer has 4 bytes\)/],
    ['huge offsets', fileBytes(JSON.stringify({ w: F32([1], 1e15, 1e15 + 4) }), new Uint8Array(4)), /are out of range/],
    ['reversed offsets', fileBytes(JSON.stringify({ w: F32([1], 4, 0) }), new Uint8Array(4)), /tensor "w": data_offsets \[4,0\] are reversed/],
    ['overlapping offsets', fileBytes(JSON.stringify({ a: F32([2], 0, 8), b: F32([2], 4, 12) }), new Uint8Array(12)), /tensor "b": data_offsets \[4,12\] overlap those of "a" \[0,8\]/],
    ['two tensors on the same bytes', fileBytes(JSON.stringify({ a: F32([1], 0, 4), b: F32([1], 0, 4) }), new Uint8Array(4)), /overlap/],
    ['a hole between tensors', fileBytes(JSON.stringify({ a: F32([1], 0, 4), b: F32([1], 8, 12) }), new Uint8Array(12)), /data bytes \[4,8\) belong to no tensor \(a hole before "b"\)/],
    ['a hole at the start', fileBytes(JSON.stringify({ a: F32([1], 4, 8) }), new Uint8Array(8)), /data bytes \[0,4\) belong to no tensor/],
    ['byte length not matching the shape', fileBytes(JSON.stringify({ w: F32([3], 0, 8) }), new Uint8Array(8)), /tensor "w": data_offsets \[0,8\] hold 8 bytes but shape \[3\] of F32 needs 12/],
    ['byte length not matching the dtype', fileBytes('{"w":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /hold 4 bytes but shape \[1\] of F64 needs 8/],
    ['duplicate tensor names', fileBytes('{"w":' + JSON.stringify(F32([1], 0, 4)) + ',"w":' + JSON.stringify(F32([1], 0, 4)) + '}', new Uint8Array(4)), /header has the key "w" more than once/],
    ['duplicate names spelled differently', fileBytes('{"w":' + JSON.stringify(F32([1], 0, 4)) + ',"\\u0077":' + JSON.stringify(F32([1], 0, 4)) + '}', new Uint8Array(4)), /header has the key "w" more than once/],
    ['duplicate field in an entry', fileBytes('{"w":{"dtype":"F64","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', new Uint8Array(4)), /header has the key "dtype" more than once/],
    ['duplicate metadata key', fileBytes('{"__metadata__":{"k":"a","k":"b"}}'), /header has the key "k" more than once/],
    ['duplicate __metadata__', fileBytes('{"__metadata__":{},"__metadata__":{}}'), /header has the key "__metadata__" more than once/],
    ['trailing bytes', fileBytes(JSON.stringify({ w: F32([1], 0, 4) }), new Uint8Array(6)), /2 trailing bytes after the last tensor's data/],
    ['data but no tensors', fileBytes('{}', new Uint8Array(3)), /3 trailing bytes/],
    ['metadata value a number', fileBytes('{"__metadata__":{"epoch":3}}'), /__metadata__ value of "epoch" is not a string \(got number\)/],
    ['metadata value null', fileBytes('{"__metadata__":{"epoch":null}}'), /__metadata__ value of "epoch" is not a string \(got null\)/],
    ['metadata not an object', fileBytes('{"__metadata__":"x"}'), /__metadata__ is not an object of strings/],
    ['I64 value beyond int32', fileBytes('{"big":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', i64(2147483648n)), /tensor "big": I64 value 2147483648 at element 0 does not fit in int32/],
    ['I64 value below int32', fileBytes('{"big":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', i64(-2147483649n)), /tensor "big": I64 value -2147483649 at element 0 does not fit in int32/],
    ['BOOL byte other than 0/1', fileBytes('{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}', new Uint8Array([1, 2])), /tensor "m": BOOL byte 2 at element 1 is neither 0 nor 1/],
  ];

  test.each(cases)('%s', (name, bytes, problem) => {
    const p = writeFile(name.replace(/\W+/g, '-'), bytes);
    const e = caught(() => mg.io.load(p));
    expect(e.message).toContain(`io.load: ${p}: `);
    expect(e.message).toMatch(problem);
  });

  test('loadAsync refuses the same way', async () => {
    for (const [name, bytes, problem] of cases.slice(0, 12)) {
      const p = writeFile(`async-${name.replace(/\W+/g, '-')}`, bytes);
      const e = await caughtAsync(() => mg.io.loadAsync(p));
      expect(e.message).toContain(`io.loadAsync: ${p}: `);
      expect(e.message).toMatch(problem);
    }
  });

  test('a missing file', () => {
    const p = path.join(dir, 'no-such-file.safetensors');
    expect(caught(() => mg.io.load(p)).message).toMatch(new RegExp(`io\\.load: cannot open ${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*ENOENT`));
  });

  test('a refused file leaves no tensor allocated', () => {
    // The F32 entry decodes first; the I64 entry after it overflows.
    const data = new Uint8Array(12);
    data.set(i64(1n << 40n), 4);
    const p = writeFile('partial', fileBytes(JSON.stringify({ a: F32([1], 0, 4), b: { dtype: 'I64', shape: [1], data_offsets: [4, 12] } }), data));
    const before = mg.memory().tensors;
    expect(caught(() => mg.io.load(p)).message).toMatch(/tensor "b": I64 value 1099511627776 at element 0 does not fit/);
    expect(mg.memory().tensors).toBe(before);
  });

  test('bad options', () => {
    const p = writeFile('opts', fileBytes('{}'));
    expect(caught(() => mg.io.load(p, { dtype: 'int32' as 'float32' })).message).toMatch(/io\.load: dtype must be 'float32' or 'float64'/);
    expect(caught(() => mg.io.load(p, { device: 'tpu' as 'cpu' })).message).toMatch(/io\.load: unknown device tpu/);
  });
});

describe('saving is atomic', () => {
  const OLD = Buffer.from('previous contents');

  function target(name: string): { d: string; p: string } {
    const d = fs.mkdtempSync(path.join(dir, `atomic-${name}-`));
    const p = path.join(d, 'model.safetensors');
    fs.writeFileSync(p, OLD);
    return { d, p };
  }

  test('a disposed tensor: refused, the old file untouched, no temporary file', () => {
    const { d, p } = target('disposed');
    const t = mg.tensor([1, 2]);
    t.dispose();
    const e = caught(() => mg.io.save(p, { a: mg.tensor([3]), t }));
    expect(e.message).toMatch(/io\.save: .*model\.safetensors: tensor "t" \(shape \[2\], float32\) was disposed/);
    expect(fs.readFileSync(p).equals(OLD)).toBe(true);
    expect(listing(d)).toEqual(['model.safetensors']);
  });

  test('a failure in the middle of writing removes the temporary file', async () => {
    const { d, p } = target('midwrite');
    const bad = mg.tensor([1, 2, 3]);
    // Simulated failure while copying the second tensor's data (after the header and "a" were written).
    (bad as unknown as { data: () => never }).data = () => {
      throw new Error('simulated device failure');
    };
    const e = caught(() => mg.io.save(p, { a: mg.tensor([1, 2]), b: bad }));
    expect(e.message).toMatch(/io\.save: .*model\.safetensors: simulated device failure/);
    expect(fs.readFileSync(p).equals(OLD)).toBe(true);
    expect(listing(d)).toEqual(['model.safetensors']);

    const ea = await caughtAsync(() => mg.io.saveAsync(p, { a: mg.tensor([1, 2]), b: bad }));
    expect(ea.message).toMatch(/io\.saveAsync: .*model\.safetensors: simulated device failure/);
    expect(fs.readFileSync(p).equals(OLD)).toBe(true);
    expect(listing(d)).toEqual(['model.safetensors']);
  });

  test('a target directory that does not exist', async () => {
    const p = path.join(dir, 'missing-dir', 'sub', 'model.safetensors');
    expect(caught(() => mg.io.save(p, { a: mg.tensor([1]) })).message).toMatch(/io\.save: .*model\.safetensors: cannot create a temporary file in .*missing-dir.*ENOENT/);
    expect((await caughtAsync(() => mg.io.saveAsync(p, { a: mg.tensor([1]) }))).message).toMatch(/io\.saveAsync: .*cannot create a temporary file/);
    expect(fs.existsSync(path.join(dir, 'missing-dir'))).toBe(false);
  });

  test('a failing rename (the target is a non-empty directory) removes the temporary file', () => {
    const d = fs.mkdtempSync(path.join(dir, 'atomic-rename-'));
    const p = path.join(d, 'model.safetensors');
    fs.mkdirSync(p);
    fs.writeFileSync(path.join(p, 'inside'), OLD);
    expect(caught(() => mg.io.save(p, { a: mg.tensor([1]) })).message).toMatch(/io\.save: .*model\.safetensors: .*(EISDIR|ENOTEMPTY|EEXIST|EPERM)/);
    expect(listing(d)).toEqual(['model.safetensors']);
    expect(fs.readFileSync(path.join(p, 'inside')).equals(OLD)).toBe(true);
  });

  test('invalid arguments are refused before anything is written', () => {
    const { d, p } = target('args');
    const a = mg.tensor([1]);
    expect(caught(() => mg.io.save(p, { a }, { epoch: 3 as unknown as string })).message).toMatch(/metadata value of "epoch" is not a string/);
    expect(caught(() => mg.io.save(p, { __metadata__: a })).message).toMatch(/the name __metadata__ is reserved/);
    expect(caught(() => mg.io.save(p, { a: [1, 2] as unknown as mg.Tensor })).message).toMatch(/"a" is not a Tensor/);
    expect(caught(() => mg.io.save(p, [a] as unknown as Record<string, mg.Tensor>)).message).toMatch(/tensors must be a Record<string, Tensor> or a Map/);
    expect(fs.readFileSync(p).equals(OLD)).toBe(true);
    expect(listing(d)).toEqual(['model.safetensors']);
  });

  test('a successful save replaces the old file and leaves nothing else', async () => {
    const { d, p } = target('ok');
    // A hard link elsewhere to the old file: a rename leaves it intact, an in-place rewrite would not.
    const link = path.join(dir, `old-link-${fileNo++}`);
    fs.linkSync(p, link);
    mg.io.save(p, { a: mg.tensor([1, 2]) });
    expect(mg.io.load(p).tensors.get('a')!.toArray()).toEqual([1, 2]);
    expect(fs.readFileSync(link).equals(OLD)).toBe(true);
    await mg.io.saveAsync(p, { a: mg.tensor([3]) });
    expect(mg.io.load(p).tensors.get('a')!.toArray()).toEqual([3]);
    expect(listing(d)).toEqual(['model.safetensors']);
  });
});
