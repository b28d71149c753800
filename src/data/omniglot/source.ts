/**
 * Where the Omniglot images come from: finding the image sets under a path, keying them for the
 * cache, and listing their characters and drawings.
 *
 * The official layout (Lake et al., github.com/brendenlake/omniglot, `python/`): each set is a zip
 * `images_<set>.zip` holding one folder `images_<set>/<alphabet>/<character>/<drawing>.png`, the
 * sets being `background` (30 alphabets, 964 characters), `evaluation` (20 alphabets, 659
 * characters), and the two small background subsets of Lake's "minimal" condition,
 * `background_small1` (5 alphabets, 136 characters) and `background_small2` (5 alphabets, 156
 * characters). Every character has 20 drawings, by 20 different people.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { isJunk, readZip } from './zip.js';

/** The official image sets. */
export type OmniglotSetName = 'background' | 'evaluation' | 'background_small1' | 'background_small2';

/** Every {@link OmniglotSetName}. */
export const OMNIGLOT_SETS: readonly OmniglotSetName[] = ['background', 'evaluation', 'background_small1', 'background_small2'];

/** One image set found on disk, before it is read. */
export interface SetSource {
  /** The set's name, e.g. `background` (from `images_background`), once known. */
  set?: string;
  kind: 'zip' | 'dir';
  /** Absolute path of the zip file or of the `images_<set>` folder. */
  path: string;
  /** Identifies the content for the cache: path, size and mtime of the zip or of every PNG. */
  key: string;
  /** For a folder: the drawings found while keying it (relative paths, sorted). */
  files?: string[];
}

/** A character's drawings, as listed (not yet decoded). */
export interface CharacterListing {
  alphabet: string;
  character: string;
  /** Paths of its PNGs (inside the zip, or relative to the set folder), sorted. */
  files: string[];
}

/** A set's characters with a way to read each drawing's bytes. */
export interface SetListing {
  set: string;
  characters: CharacterListing[];
  read(file: string): Uint8Array;
  /** How a drawing is named in errors: `images_background.zip: images_background/...png`. */
  where(file: string): string;
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function stat(op: string, path: string): fs.Stats {
  try {
    return fs.statSync(path);
  } catch (e) {
    throw new Error(`${op}: cannot read ${path}: ${describe(e)}`, { cause: e });
  }
}

const SET_FOLDER = /^images_(.+)$/;

function zipSource(path: string, st: fs.Stats, set?: string): SetSource {
  return { set, kind: 'zip', path, key: `zip\n${path}\n${st.size}\n${st.mtimeMs}` };
}

/** Lists the PNGs of a set folder (`<alphabet>/<character>/<file>`) and keys them by size and mtime. */
function dirSource(op: string, path: string, set: string): SetSource {
  const files: string[] = [];
  const h = createHash('sha256');
  h.update(`dir\n${path}\n`);
  const list = (dir: string): fs.Dirent[] => {
    try {
      return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => !isJunk(d.name)).sort((a, b) => cmp(a.name, b.name));
    } catch (e) {
      throw new Error(`${op}: cannot read ${dir}: ${describe(e)}`, { cause: e });
    }
  };
  const alphabets = list(path);
  if (alphabets.length === 0) throw new Error(`${op}: ${path}: empty folder (expected <alphabet>/<character>/<drawing>.png)`);
  for (const a of alphabets) {
    const ap = nodePath.join(path, a.name);
    if (!a.isDirectory()) throw new Error(`${op}: ${ap}: unexpected file (expected alphabet folders in ${path})`);
    const chars = list(ap);
    if (chars.length === 0) throw new Error(`${op}: ${ap}: alphabet folder without character folders`);
    for (const c of chars) {
      const cp = nodePath.join(ap, c.name);
      if (!c.isDirectory()) throw new Error(`${op}: ${cp}: unexpected file (expected character folders in ${ap})`);
      const pngs = list(cp);
      if (pngs.length === 0) throw new Error(`${op}: ${cp}: character folder without drawings`);
      for (const p of pngs) {
        const rel = `${a.name}/${c.name}/${p.name}`;
        const full = nodePath.join(cp, p.name);
        if (!p.isFile() || !p.name.toLowerCase().endsWith('.png')) throw new Error(`${op}: ${full}: unexpected entry (expected only .png drawings in ${cp})`);
        const st = stat(op, full);
        h.update(`${rel}\t${st.size}\t${st.mtimeMs}\n`);
        files.push(rel);
      }
    }
  }
  return { set, kind: 'dir', path, key: h.digest('hex'), files };
}

/** Code-point order (as Python's `sorted` on str), independent of the locale. */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The image sets to read under `source`:
 * - a zip file: that archive (its set named by its top folder, `images_<set>/`);
 * - an `images_<set>` folder: that set, unpacked;
 * - any other folder: for each of `sets`, `images_<set>.zip` in it, or else the unpacked
 *   `images_<set>/` folder.
 * `sets` (default `['background', 'evaluation']`) also restricts the first two cases.
 */
export function findSources(op: string, source: string, sets?: readonly string[]): SetSource[] {
  if (typeof source !== 'string' || source.length === 0) throw new Error(`${op}: the source must be a path (a folder or a zip file), got ${String(source)}`);
  const path = nodePath.resolve(source);
  const st = stat(op, path);
  const check = (set: string | undefined, where: string): void => {
    if (sets && set !== undefined && !sets.includes(set)) throw new Error(`${op}: ${where} holds the set '${set}', not one of the requested sets (${sets.join(', ')})`);
  };
  if (st.isFile()) {
    const m = SET_FOLDER.exec(nodePath.basename(path).replace(/\.zip$/i, ''));
    const set = m && nodePath.extname(path).toLowerCase() === '.zip' ? m[1] : undefined;
    check(set, path);
    return [zipSource(path, st, set)];
  }
  const own = SET_FOLDER.exec(nodePath.basename(path));
  if (own) {
    check(own[1], path);
    return [dirSource(op, path, own[1])];
  }
  const wanted = sets ?? ['background', 'evaluation'];
  const out: SetSource[] = [];
  const missing: string[] = [];
  for (const set of wanted) {
    const zip = nodePath.join(path, `images_${set}.zip`);
    const dir = nodePath.join(path, `images_${set}`);
    if (fs.existsSync(zip) && fs.statSync(zip).isFile()) out.push(zipSource(zip, fs.statSync(zip), set));
    else if (fs.existsSync(dir) && fs.statSync(dir).isDirectory()) out.push(dirSource(op, dir, set));
    else missing.push(`images_${set}.zip (or the folder images_${set}/)`);
  }
  if (missing.length > 0) {
    let found: string[] = [];
    try { found = fs.readdirSync(path).filter((n) => !isJunk(n)); } catch { /* reported below as empty */ }
    throw new Error(`${op}: ${path}: missing ${missing.join(' and ')}; found: ${found.length ? found.join(', ') : 'nothing'}`);
  }
  return out;
}

/** Groups drawing paths `<alphabet>/<character>/<file>` into characters, sorted by name. */
function group(paths: Iterable<string>): CharacterListing[] {
  const chars = new Map<string, CharacterListing>();
  for (const p of paths) {
    const [alphabet, character] = p.split('/');
    const id = `${alphabet}/${character}`;
    let c = chars.get(id);
    if (!c) chars.set(id, (c = { alphabet, character, files: [] }));
    c.files.push(p);
  }
  const out = [...chars.values()].sort((a, b) => cmp(a.alphabet, b.alphabet) || cmp(a.character, b.character));
  for (const c of out) c.files.sort(cmp);
  return out;
}

/** Reads the listing of a set: unpacks a zip (checking its layout), or uses a folder's walk. */
export function listSet(op: string, src: SetSource): SetListing {
  if (src.kind === 'dir') {
    const set = src.set!;
    const chars = group(src.files!);
    return {
      set,
      characters: chars.map((c) => ({ ...c, files: c.files })),
      read: (f) => {
        const full = nodePath.join(src.path, f);
        try {
          return fs.readFileSync(full);
        } catch (e) {
          throw new Error(`${op}: cannot read ${full}: ${describe(e)}`, { cause: e });
        }
      },
      where: (f) => nodePath.join(src.path, f),
    };
  }
  const entries = readZip(src.path, op);
  const name = nodePath.basename(src.path);
  let root: string | undefined;
  const drawings = new Map<string, Uint8Array>();
  for (const [entry, bytes] of entries) {
    const parts = entry.split('/');
    if (root === undefined) root = parts[0];
    if (parts[0] !== root) throw new Error(`${op}: ${src.path}: unexpected entry ${entry} (everything should be under ${root}/)`);
    if (parts.length !== 4 || parts.some((p) => p.length === 0) || !parts[3].toLowerCase().endsWith('.png')) {
      throw new Error(`${op}: ${src.path}: unexpected entry ${entry} (expected ${root}/<alphabet>/<character>/<drawing>.png)`);
    }
    drawings.set(parts.slice(1).join('/'), bytes);
  }
  if (root === undefined) throw new Error(`${op}: ${src.path}: no drawings in the archive (expected images_<set>/<alphabet>/<character>/<drawing>.png)`);
  const m = SET_FOLDER.exec(root);
  if (!m) throw new Error(`${op}: ${src.path}: top folder ${root}/ is not an Omniglot image set (expected images_<set>/, e.g. images_background/)`);
  if (src.set !== undefined && m[1] !== src.set) throw new Error(`${op}: ${src.path}: top folder is ${root}/, expected images_${src.set}/`);
  return {
    set: m[1],
    characters: group(drawings.keys()),
    read: (f) => drawings.get(f)!,
    where: (f) => `${name}: ${root}/${f}`,
  };
}
