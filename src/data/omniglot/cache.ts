/**
 * The binary cache of a decoded image set, so that loading Omniglot a second time skips unzipping,
 * PNG decoding and resizing (seconds) and only reads one file (tens of milliseconds).
 *
 * One file per (source, image size, filter): `omniglot-<source name>-<size>-<filter>-<hash>.bin`
 * in the cache folder, `<hash>` hashing the source's key (path plus size and mtime of the zip,
 * or of every PNG of an unpacked folder), so a changed source gets a new file. Layout:
 *
 *     8 bytes   magic "MGOMNI01"
 *     4 bytes   header length H (uint32, little-endian)
 *     H bytes   JSON header: { key, set, imageSize, filter, images, characters: [[alphabet,
 *               character, drawings], ...], sha256 (of the pixels) }
 *     rest      pixels: images x imageSize x imageSize uint8, ink intensity (255 = full ink)
 *
 * Reading checks the magic, the header, the key, the length and the SHA-256 of the pixels, so a
 * truncated or damaged file is detected (and then rebuilt by the loader). Writing goes to a
 * temporary file in the same folder that is renamed over the target, so a crash or a concurrent
 * loader never leaves a half-written cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';

const MAGIC = Buffer.from('MGOMNI01', 'latin1');

/** The decoded pixels of one set plus what is needed to index them. */
export interface DecodedSet {
  set: string;
  imageSize: number;
  filter: string;
  /** [alphabet, character, number of drawings], in image order. */
  characters: [string, string, number][];
  /** images x imageSize^2 ink intensities, 0..255. */
  pixels: Uint8Array;
}

interface Header {
  key: string;
  set: string;
  imageSize: number;
  filter: string;
  images: number;
  characters: [string, string, number][];
  sha256: string;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The cache file for a source key (see the module comment). */
export function cacheFile(dir: string, sourcePath: string, key: string, imageSize: number, filter: string): string {
  const base = nodePath.basename(sourcePath).replace(/\.zip$/i, '').replace(/[^A-Za-z0-9_.-]/g, '_');
  const h = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return nodePath.join(dir, `omniglot-${base}-${imageSize}-${filter}-${h}.bin`);
}

/**
 * Reads a cache file. Returns the set, `undefined` if there is no file, or a string saying what
 * is wrong with it (truncated, damaged, for another source or size).
 */
export function readCache(file: string, key: string, imageSize: number, filter: string): DecodedSet | undefined | string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `unreadable (${describe(e)})`;
  }
  if (buf.length < 12 || !buf.subarray(0, 8).equals(MAGIC)) return `not a metagrad Omniglot cache (${buf.length} bytes)`;
  const hlen = buf.readUInt32LE(8);
  if (12 + hlen > buf.length) return `truncated (${buf.length} bytes, header of ${hlen} bytes)`;
  let h: Header;
  try {
    h = JSON.parse(buf.subarray(12, 12 + hlen).toString('utf8')) as Header;
  } catch (e) {
    return `damaged header (${describe(e)})`;
  }
  if (h.key !== key) return 'made from another source (key mismatch)';
  if (h.imageSize !== imageSize || h.filter !== filter) return `made for ${h.imageSize}x${h.imageSize} ${h.filter}, not ${imageSize}x${imageSize} ${filter}`;
  const want = h.images * imageSize * imageSize;
  if (!Array.isArray(h.characters) || h.characters.reduce((s, c) => s + c[2], 0) !== h.images) return 'damaged header (drawing counts)';
  if (buf.length - 12 - hlen !== want) return `truncated (${buf.length - 12 - hlen} bytes of pixels, expected ${want})`;
  const pixels = new Uint8Array(buf.buffer, buf.byteOffset + 12 + hlen, want);
  if (sha256(pixels) !== h.sha256) return 'damaged (the pixels do not match their SHA-256)';
  return { set: h.set, imageSize, filter, characters: h.characters, pixels };
}

/**
 * Writes a cache file atomically (temporary file + rename; see the module comment). Throws an
 * Error naming the file if it cannot; the caller treats that as a warning.
 */
export function writeCache(file: string, key: string, d: DecodedSet): void {
  const dir = nodePath.dirname(file);
  const tmp = nodePath.join(dir, `.${nodePath.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const s2 = d.imageSize * d.imageSize;
  const header: Header = {
    key, set: d.set, imageSize: d.imageSize, filter: d.filter, images: d.pixels.length / s2,
    characters: d.characters, sha256: sha256(d.pixels),
  };
  const hb = Buffer.from(JSON.stringify(header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(hb.length, 0);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(tmp, 'wx', 0o666);
    try {
      for (const part of [MAGIC, len, hb, d.pixels]) {
        let done = 0;
        while (done < part.length) done += fs.writeSync(fd, part, done, part.length - done);
      }
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch { /* never created or already gone */ }
    throw new Error(`cannot write the cache ${file}: ${describe(e)}`, { cause: e });
  }
}
