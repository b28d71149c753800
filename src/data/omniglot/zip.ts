/**
 * Reading a zip archive into memory with `fflate` (stored and deflated entries, the two methods
 * the official Omniglot zips use). Folder entries, macOS resource forks (`__MACOSX/`) and dotfiles
 * are skipped.
 */
import { readFileSync } from 'node:fs';
import { unzipSync } from 'fflate';

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Whether a path inside an archive or a folder is clutter to skip (`__MACOSX`, `.DS_Store`...). */
export function isJunk(path: string): boolean {
  return path.split('/').some((p) => p === '__MACOSX' || p.startsWith('.'));
}

/**
 * The files of the zip archive at `file`: entry name to bytes. `op` prefixes errors, which name
 * the file: unreadable, not a zip archive, or damaged (fflate's reason).
 */
export function readZip(file: string, op: string): Map<string, Uint8Array> {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new Error(`${op}: cannot read ${file}: ${describe(e)}`, { cause: e });
  }
  // Local file header or (empty archive) end of central directory.
  const sig = buf.length >= 4 ? buf.readUInt32LE(0) : 0;
  if (sig !== 0x04034b50 && sig !== 0x06054b50) {
    throw new Error(`${op}: ${file} is not a zip archive (${buf.length} bytes, starting ${buf.subarray(0, 4).toString('hex') || 'empty'})`);
  }
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), {
      filter: (f) => !f.name.endsWith('/') && !isJunk(f.name),
    });
  } catch (e) {
    throw new Error(`${op}: ${file}: damaged zip archive (${describe(e)})`, { cause: e });
  }
  return new Map(Object.entries(entries));
}
