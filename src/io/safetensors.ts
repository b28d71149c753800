/**
 * Reading and writing safetensors files (the Hugging Face format).
 *
 * Layout: 8 bytes little-endian u64 header length N, N bytes of UTF-8 JSON mapping tensor names
 * to `{ dtype, shape, data_offsets: [begin, end] }` (plus an optional `__metadata__` object of
 * strings), then the raw little-endian data; offsets are relative to the byte after the header
 * and the tensors cover that buffer completely, in order, with no holes and nothing left over.
 *
 * Loading validates all of that before creating any tensor and reads each tensor's bytes into a
 * fresh buffer of exactly the size the header promises, so a damaged file is refused with an
 * Error naming the file and the problem (never an out-of-bounds read). Saving writes a temporary
 * file next to the target, fsyncs it and renames it over the target, so an interrupted or failed
 * save leaves the previous file intact and no temporary file behind.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { randomBytes } from 'node:crypto';
import { tensor } from '../tensor/creation.js';
import { isDevice, type DType, type Device } from '../tensor/dtype.js';
import { Tensor } from '../tensor/tensor.js';

/** Largest header accepted by {@link load} and written by {@link save} (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** Tensors to save: a plain object or a Map from names to tensors (e.g. a module's `stateDict()`). */
export type TensorDict = Record<string, Tensor> | Map<string, Tensor>;

/** Options of {@link load} and {@link loadAsync}. */
export interface LoadOptions {
  /** Where the loaded tensors live; `cpu` by default. */
  device?: Device;
  /**
   * The dtype of every floating-point tensor (F16, BF16, F32, F64 entries): `float32` or
   * `float64`. By default F64 loads as float64 and the other floating types as float32. Integer
   * and boolean entries always load as int32.
   */
  dtype?: 'float32' | 'float64';
}

/** What {@link load} returns. */
export interface Loaded {
  /** The tensors, in the order their data appears in the file. A Map keeps that order even for integer-like names. */
  tensors: Map<string, Tensor>;
  /** The file's `__metadata__` entry (an empty object when there is none). */
  metadata: Record<string, string>;
}

// ---- dtypes ----------------------------------------------------------------------------------

/** Element sizes of the safetensors dtypes metagrad can read. */
const READABLE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1,
};
/** Dtypes of the format that metagrad recognises but cannot convert. */
const KNOWN_UNSUPPORTED = new Set(['F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64', 'C128']);
const WRITE_CODE: Record<DType, string> = { float32: 'F32', float64: 'F64', int32: 'I32' };
const WRITE_SIZE: Record<DType, number> = { float32: 4, float64: 8, int32: 4 };

const LITTLE_ENDIAN = os.endianness() === 'LE';

/** Byte-swaps `bytes` in place in groups of `size` (only used on big-endian hosts). */
function swapBytes(bytes: Uint8Array, size: number): void {
  if (size === 1) return;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 2) b.swap16();
  else if (size === 4) b.swap32();
  else b.swap64();
}

let halfTable: Float32Array | null = null;
/** float32 value of every IEEE half-precision bit pattern (built once, 256 KiB). */
function halfToFloat(): Float32Array {
  if (halfTable !== null) return halfTable;
  const t = new Float32Array(65536);
  const bits = new Uint32Array(t.buffer);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0x1f) {
      bits[h] = sign | 0x7f800000 | (man << 13); // inf, or NaN keeping its payload
    } else if (exp === 0) {
      t[h] = (sign ? -1 : 1) * man * 2 ** -24; // zero or subnormal: exact in float32
    } else {
      bits[h] = sign | ((exp + 112) << 23) | (man << 13);
    }
  }
  halfTable = t;
  return t;
}

// ---- errors ----------------------------------------------------------------------------------

class FileError extends Error {}

function fail(op: string, path: string, problem: string): never {
  throw new FileError(`${op}: ${path}: ${problem}`);
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---- reading ---------------------------------------------------------------------------------

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

interface Plan {
  headerLen: number;
  entries: Entry[];
  metadata: Record<string, string>;
}

/** Reads the 8-byte header length and checks it against the file size. */
function headerLength(op: string, path: string, first8: Uint8Array, fileSize: number): number {
  if (fileSize < 8) fail(op, path, `file is ${fileSize} bytes, shorter than the 8-byte header length of a safetensors file`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(op, path, `header length ${n} is absurd (more than ${MAX_HEADER_BYTES} bytes); not a safetensors file?`);
  if (n > BigInt(fileSize - 8)) fail(op, path, `header length ${n} is larger than the ${fileSize - 8} bytes that follow it (truncated file?)`);
  return Number(n);
}

/**
 * Finds duplicate keys in any object of already-validated JSON text (JSON.parse silently keeps
 * the last of them). Returns the first duplicate key, or undefined.
 */
function findDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Validates the header against the specification and the size of the data buffer. */
function parseHeader(op: string, path: string, bytes: Uint8Array, dataLen: number): Plan {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail(op, path, 'header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(op, path, `header is not valid JSON (${describe(e)})`);
  }
  if (!isPlainObject(json)) fail(op, path, `header is not a JSON object (got ${Array.isArray(json) ? 'an array' : json === null ? 'null' : typeof json})`);
  const dup = findDuplicateKey(text);
  if (dup !== undefined) fail(op, path, `header has the key ${JSON.stringify(dup)} more than once`);

  const metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const name of Object.keys(json)) {
    const v = json[name];
    if (name === '__metadata__') {
      if (!isPlainObject(v)) fail(op, path, '__metadata__ is not an object of strings');
      for (const k of Object.keys(v)) {
        const s = v[k];
        if (typeof s !== 'string') fail(op, path, `__metadata__ value of ${JSON.stringify(k)} is not a string (got ${s === null ? 'null' : Array.isArray(s) ? 'an array' : typeof s})`);
        Object.defineProperty(metadata, k, { value: s, enumerable: true, writable: true, configurable: true });
      }
      continue;
    }
    const what = `tensor ${JSON.stringify(name)}`;
    if (!isPlainObject(v)) fail(op, path, `${what}: entry is not an object`);
    if (!('dtype' in v)) fail(op, path, `${what}: entry has no dtype`);
    if (!('shape' in v)) fail(op, path, `${what}: entry has no shape`);
    if (!('data_offsets' in v)) fail(op, path, `${what}: entry has no data_offsets`);
    const { dtype, shape, data_offsets: offs } = v;
    if (typeof dtype !== 'string') fail(op, path, `${what}: dtype is not a string`);
    if (!(dtype in READABLE)) {
      if (KNOWN_UNSUPPORTED.has(dtype)) fail(op, path, `${what}: dtype ${dtype} is not supported by metagrad (readable: ${Object.keys(READABLE).join(', ')})`);
      fail(op, path, `${what}: unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape)) fail(op, path, `${what}: shape is not an array`);
    for (const d of shape) {
      if (!isCount(d)) fail(op, path, `${what}: shape ${JSON.stringify(shape)} has an entry that is not a non-negative integer`);
    }
    if (!Array.isArray(offs) || offs.length !== 2) fail(op, path, `${what}: data_offsets is not an array of two integers`);
    const [begin, end] = offs as unknown[];
    if (!isCount(begin) || !isCount(end)) fail(op, path, `${what}: data_offsets ${JSON.stringify(offs)} are not non-negative integers`);
    if (end < begin) fail(op, path, `${what}: data_offsets [${begin},${end}] are reversed`);
    if (end > dataLen) fail(op, path, `${what}: data_offsets [${begin},${end}] are out of range (the data buffer has ${dataLen} bytes)`);
    let expected = READABLE[dtype];
    for (const d of shape as number[]) expected *= d;
    if (expected !== end - begin) {
      fail(op, path, `${what}: data_offsets [${begin},${end}] hold ${end - begin} bytes but shape ${JSON.stringify(shape)} of ${dtype} needs ${expected}`);
    }
    entries.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  let prev: Entry | null = null;
  for (const e of entries) {
    if (e.begin < pos) fail(op, path, `tensor ${JSON.stringify(e.name)}: data_offsets [${e.begin},${e.end}] overlap those of ${JSON.stringify(prev!.name)} [${prev!.begin},${prev!.end}]`);
    if (e.begin > pos) fail(op, path, `data bytes [${pos},${e.begin}) belong to no tensor (a hole before ${JSON.stringify(e.name)})`);
    pos = e.end;
    prev = e;
  }
  if (pos !== dataLen) fail(op, path, `${dataLen - pos} trailing bytes after the last tensor's data (the buffer has ${dataLen} bytes, the tensors cover ${pos})`);
  return { headerLen: bytes.length, entries, metadata };
}

/** Converts one entry's little-endian bytes (a fresh, exclusively owned buffer) into a tensor. */
function decode(op: string, path: string, e: Entry, bytes: Uint8Array, o: LoadOptions): Tensor {
  const size = READABLE[e.dtype];
  if (!LITTLE_ENDIAN) swapBytes(bytes, size);
  const buf = bytes.buffer;
  const n = (e.end - e.begin) / size;
  const what = `tensor ${JSON.stringify(e.name)}`;
  let data: Float32Array | Float64Array | Int32Array;
  let dtype: DType;
  switch (e.dtype) {
    case 'F64': data = new Float64Array(buf, 0, n); dtype = 'float64'; break;
    case 'F32': data = new Float32Array(buf, 0, n); dtype = 'float32'; break;
    case 'F16': {
      const src = new Uint16Array(buf, 0, n);
      const table = halfToFloat();
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = table[src[i]];
      dtype = 'float32';
      break;
    }
    case 'BF16': {
      const src = new Uint16Array(buf, 0, n);
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = src[i] << 16;
      data = new Float32Array(out.buffer);
      dtype = 'float32';
      break;
    }
    case 'I32': data = new Int32Array(buf, 0, n); dtype = 'int32'; break;
    case 'I64':
    case 'U64': {
      const words = new Int32Array(buf, 0, 2 * n);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const lo = words[LITTLE_ENDIAN ? 2 * i : 2 * i + 1];
        const hi = words[LITTLE_ENDIAN ? 2 * i + 1 : 2 * i];
        if (e.dtype === 'I64' ? hi !== lo >> 31 : hi !== 0 || lo < 0) {
          const v = e.dtype === 'I64' ? new BigInt64Array(buf, 0, n)[i] : new BigUint64Array(buf, 0, n)[i];
          fail(op, path, `${what}: ${e.dtype} value ${v} at element ${i} does not fit in int32`);
        }
        out[i] = lo;
      }
      data = out;
      dtype = 'int32';
      break;
    }
    case 'U32': {
      const src = new Uint32Array(buf, 0, n);
      for (let i = 0; i < n; i++) if (src[i] > 0x7fffffff) fail(op, path, `${what}: U32 value ${src[i]} at element ${i} does not fit in int32`);
      data = new Int32Array(buf, 0, n);
      dtype = 'int32';
      break;
    }
    case 'I16': data = Int32Array.from(new Int16Array(buf, 0, n)); dtype = 'int32'; break;
    case 'U16': data = Int32Array.from(new Uint16Array(buf, 0, n)); dtype = 'int32'; break;
    case 'I8': data = Int32Array.from(new Int8Array(buf, 0, n)); dtype = 'int32'; break;
    case 'U8': data = Int32Array.from(bytes); dtype = 'int32'; break;
    case 'BOOL': {
      for (let i = 0; i < n; i++) if (bytes[i] > 1) fail(op, path, `${what}: BOOL byte ${bytes[i]} at element ${i} is neither 0 nor 1`);
      data = Int32Array.from(bytes);
      dtype = 'int32';
      break;
    }
    default:
      fail(op, path, `${what}: unknown dtype ${e.dtype}`);
  }
  if (dtype !== 'int32' && o.dtype !== undefined) dtype = o.dtype;
  return tensor(data, { shape: e.shape, dtype, device: o.device ?? 'cpu' });
}

function checkLoadOptions(op: string, o: LoadOptions): void {
  if (typeof o !== 'object' || o === null) throw new Error(`${op}: options must be an object`);
  if (o.device !== undefined && !isDevice(o.device)) throw new Error(`${op}: unknown device ${String(o.device)} (use 'cpu' or 'cuda')`);
  if (o.dtype !== undefined && o.dtype !== 'float32' && o.dtype !== 'float64') {
    throw new Error(`${op}: dtype must be 'float32' or 'float64' (it applies to floating-point entries; integer entries load as int32), got ${String(o.dtype)}`);
  }
}

function readFully(op: string, path: string, fd: number, len: number, pos: number): Uint8Array {
  const out = new Uint8Array(len);
  let got = 0;
  while (got < len) {
    const r = fs.readSync(fd, out, got, len - got, pos + got);
    if (r === 0) fail(op, path, `file ended after ${pos + got} bytes while reading (was it truncated during the load?)`);
    got += r;
  }
  return out;
}

async function readFullyAsync(op: string, path: string, fh: fsp.FileHandle, len: number, pos: number): Promise<Uint8Array> {
  const out = new Uint8Array(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(out, got, len - got, pos + got);
    if (bytesRead === 0) fail(op, path, `file ended after ${pos + got} bytes while reading (was it truncated during the load?)`);
    got += bytesRead;
  }
  return out;
}

function wrapIo(op: string, path: string, e: unknown): Error {
  if (e instanceof FileError) return e;
  // Errors from tensor creation (e.g. no CUDA device) already name the op; add the file.
  return new Error(`${op}: ${path}: ${describe(e)}`, { cause: e });
}

/**
 * Loads a safetensors file. F32, F64 and I32 entries load as float32, float64 and int32; F16 and
 * BF16 as float32; I64, U64, U32, I16, U16, I8, U8 and BOOL as int32 (a 64-bit or U32 value that
 * does not fit is an error naming the tensor). Every malformed file — truncated, absurd header
 * length, invalid UTF-8 or JSON, duplicate keys, missing or mistyped fields, unknown dtype, bad
 * shape, offsets out of range, reversed, overlapping or leaving holes, sizes not matching the
 * shape, trailing bytes, non-string metadata — is refused with an Error naming the file and the
 * problem, and no tensor is left allocated.
 *
 * ```ts
 * const { tensors, metadata } = mg.io.load('model.safetensors');
 * const w = tensors.get('fc.weight');
 * ```
 */
export function load(path: string, options: LoadOptions = {}): Loaded {
  const op = 'io.load';
  checkLoadOptions(op, options);
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Error(`${op}: cannot open ${path}: ${describe(e)}`, { cause: e });
  }
  const made: Tensor[] = [];
  try {
    const size = fs.fstatSync(fd).size;
    const n = headerLength(op, path, size >= 8 ? readFully(op, path, fd, 8, 0) : new Uint8Array(8), size);
    const plan = parseHeader(op, path, readFully(op, path, fd, n, 8), size - 8 - n);
    const tensors = new Map<string, Tensor>();
    for (const e of plan.entries) {
      const t = decode(op, path, e, readFully(op, path, fd, e.end - e.begin, 8 + n + e.begin), options);
      made.push(t);
      tensors.set(e.name, t);
    }
    return { tensors, metadata: plan.metadata };
  } catch (e) {
    for (const t of made) t.dispose();
    throw wrapIo(op, path, e);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The `__metadata__` of a safetensors file, reading only its header (which is validated as
 * {@link load} validates it). Checkpoints keep small records there, e.g. the CLI's run config.
 */
export function loadMetadata(path: string): Record<string, string> {
  const op = 'io.loadMetadata';
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new Error(`${op}: cannot open ${path}: ${describe(e)}`, { cause: e });
  }
  try {
    const size = fs.fstatSync(fd).size;
    const n = headerLength(op, path, size >= 8 ? readFully(op, path, fd, 8, 0) : new Uint8Array(8), size);
    return parseHeader(op, path, readFully(op, path, fd, n, 8), size - 8 - n).metadata;
  } catch (e) {
    throw wrapIo(op, path, e);
  } finally {
    fs.closeSync(fd);
  }
}

/** {@link load} with non-blocking file reads (the tensors themselves are created synchronously). */
export async function loadAsync(path: string, options: LoadOptions = {}): Promise<Loaded> {
  const op = 'io.loadAsync';
  checkLoadOptions(op, options);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(path, 'r');
  } catch (e) {
    throw new Error(`${op}: cannot open ${path}: ${describe(e)}`, { cause: e });
  }
  const made: Tensor[] = [];
  try {
    const size = (await fh.stat()).size;
    const n = headerLength(op, path, size >= 8 ? await readFullyAsync(op, path, fh, 8, 0) : new Uint8Array(8), size);
    const plan = parseHeader(op, path, await readFullyAsync(op, path, fh, n, 8), size - 8 - n);
    const tensors = new Map<string, Tensor>();
    for (const e of plan.entries) {
      const t = decode(op, path, e, await readFullyAsync(op, path, fh, e.end - e.begin, 8 + n + e.begin), options);
      made.push(t);
      tensors.set(e.name, t);
    }
    return { tensors, metadata: plan.metadata };
  } catch (e) {
    for (const t of made) t.dispose();
    throw wrapIo(op, path, e);
  } finally {
    await fh.close();
  }
}

// ---- writing ---------------------------------------------------------------------------------

interface Layout {
  header: Uint8Array;
  items: { name: string; t: Tensor; bytes: number }[];
}

/**
 * Validates the arguments and lays the file out: tensors sorted by element size (8-byte types
 * first, so every tensor's data is aligned to its element size), then by name (UTF-16 code
 * units); the header is padded with spaces to a multiple of 8 bytes.
 */
function layout(op: string, path: string, tensors: TensorDict, metadata: Record<string, string> | undefined): Layout {
  if (typeof path !== 'string' || path.length === 0) throw new Error(`${op}: path must be a non-empty string`);
  let pairs: [unknown, unknown][];
  if (tensors instanceof Map) pairs = [...tensors.entries()];
  else if (typeof tensors === 'object' && tensors !== null && !Array.isArray(tensors)) pairs = Object.entries(tensors);
  else throw new Error(`${op}: ${path}: tensors must be a Record<string, Tensor> or a Map, got ${Array.isArray(tensors) ? 'an array' : String(tensors)}`);
  const items: Layout['items'] = [];
  for (const [name, t] of pairs) {
    if (typeof name !== 'string') throw new Error(`${op}: ${path}: tensor names must be strings, got ${typeof name}`);
    if (name === '__metadata__') throw new Error(`${op}: ${path}: the name __metadata__ is reserved by the format`);
    if (!(t instanceof Tensor)) throw new Error(`${op}: ${path}: ${JSON.stringify(name)} is not a Tensor`);
    if (t.isDisposed) throw new Error(`${op}: ${path}: tensor ${JSON.stringify(name)} (shape [${t.shape.join(',')}], ${t.dtype}) was disposed`);
    items.push({ name, t, bytes: t.size * WRITE_SIZE[t.dtype] });
  }
  items.sort((a, b) => WRITE_SIZE[b.t.dtype] - WRITE_SIZE[a.t.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts: string[] = [];
  if (metadata !== undefined) {
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new Error(`${op}: ${path}: metadata must be a Record<string, string>`);
    const m: string[] = [];
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`${op}: ${path}: metadata value of ${JSON.stringify(k)} is not a string (got ${typeof v})`);
      m.push(`${JSON.stringify(k)}:${JSON.stringify(v)}`);
    }
    if (m.length > 0) parts.push(`"__metadata__":{${m.join(',')}}`);
  }
  let off = 0;
  for (const it of items) {
    parts.push(`${JSON.stringify(it.name)}:{"dtype":"${WRITE_CODE[it.t.dtype]}","shape":[${it.t.shape.join(',')}],"data_offsets":[${off},${off + it.bytes}]}`);
    off += it.bytes;
  }
  // Built by hand: JSON.stringify of an object would move integer-like names to the front.
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new Error(`${op}: ${path}: the header would be ${padded} bytes, more than the format's limit of ${MAX_HEADER_BYTES}`);
  const header = Buffer.alloc(8 + padded, 0x20);
  header.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(header, 8);
  return { header, items };
}

/** A tensor's bytes, little-endian, copied to the host. */
function bytesOf(t: Tensor): Uint8Array {
  const d = t.data();
  const b = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  if (!LITTLE_ENDIAN) swapBytes(b, d.BYTES_PER_ELEMENT);
  return b;
}

async function writeAllAsync(fh: fsp.FileHandle, b: Uint8Array, pos: number): Promise<number> {
  let done = 0;
  while (done < b.length) done += (await fh.write(b, done, b.length - done, pos + done)).bytesWritten;
  return pos + done;
}

function tempPath(path: string): string {
  return nodePath.join(nodePath.dirname(path), `.${nodePath.basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function writeAll(fd: number, b: Uint8Array): void {
  let done = 0;
  while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done);
}

/**
 * Saves tensors (float32, float64 and int32, as F32, F64 and I32; CUDA tensors are copied to the
 * host) and optional string metadata to a safetensors file. The data is ordered by element size
 * (F64 first) and then by name, so every tensor is aligned; the header is padded with spaces to a
 * multiple of 8 bytes. The write is atomic: the file is written to a temporary file in the same
 * directory, fsynced and renamed over `path`. On any error the temporary file is removed and an
 * existing file at `path` is left untouched.
 *
 * ```ts
 * mg.io.save('model.safetensors', { 'fc.weight': w, 'fc.bias': b }, { epoch: '3' });
 * ```
 */
export function save(path: string, tensors: TensorDict, metadata?: Record<string, string>): void {
  const op = 'io.save';
  const { header, items } = layout(op, path, tensors, metadata);
  const tmp = tempPath(path);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
  } catch (e) {
    throw new Error(`${op}: ${path}: cannot create a temporary file in ${nodePath.dirname(path)}: ${describe(e)}`, { cause: e });
  }
  let open = true;
  try {
    writeAll(fd, header);
    for (const it of items) writeAll(fd, bytesOf(it.t));
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    open = false;
    fs.renameSync(tmp, path);
  } catch (e) {
    if (open) try { fs.closeSync(fd); } catch { /* already failing */ }
    try { fs.unlinkSync(tmp); } catch { /* never created or already gone */ }
    throw new Error(`${op}: ${path}: ${describe(e)} (the temporary file was removed; ${path} is unchanged)`, { cause: e });
  }
  syncDir(nodePath.dirname(path));
}

/** Best-effort fsync of a directory so the rename itself is durable (not possible on every platform). */
function syncDir(dir: string): void {
  try {
    const d = fs.openSync(dir, 'r');
    try { fs.fsyncSync(d); } finally { fs.closeSync(d); }
  } catch { /* e.g. Windows */ }
}

/** {@link save} with non-blocking file writes (tensor data is copied to the host synchronously). */
export async function saveAsync(path: string, tensors: TensorDict, metadata?: Record<string, string>): Promise<void> {
  const op = 'io.saveAsync';
  const { header, items } = layout(op, path, tensors, metadata);
  const tmp = tempPath(path);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(tmp, 'wx', 0o666);
  } catch (e) {
    throw new Error(`${op}: ${path}: cannot create a temporary file in ${nodePath.dirname(path)}: ${describe(e)}`, { cause: e });
  }
  let open = true;
  try {
    let pos = await writeAllAsync(fh, header, 0);
    for (const it of items) pos = await writeAllAsync(fh, bytesOf(it.t), pos);
    await fh.sync();
    await fh.close();
    open = false;
    await fsp.rename(tmp, path);
  } catch (e) {
    if (open) await fh.close().catch(() => undefined);
    await fsp.unlink(tmp).catch(() => undefined);
    throw new Error(`${op}: ${path}: ${describe(e)} (the temporary file was removed; ${path} is unchanged)`, { cause: e });
  }
  syncDir(nodePath.dirname(path));
}
