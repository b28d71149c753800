// The doc test: every JavaScript/TypeScript code block of README.md and docs/**/*.md runs as
// written (each block its own module, in its own Node process: esbuild strips the types) and
// type-checks (`tsc --strict`, all blocks at once), and every example in examples/ runs. So a
// snippet cannot rot: an undefined name, a wrong path or a changed API fails here.
//
// Every fenced block must say what it is in its info string (```ts, ```sh, ```text, ...); a
// js/ts block that is deliberately partial says ```ts no-run (it is then skipped, and listed).
// Blocks are written to build/doctest/ (inside the package, so `import 'metagrad'` resolves to
// this package through its "exports", as it does for a user).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';
import { describe, expect, test } from 'vitest';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const work = path.join(root, 'build', 'doctest');

function markdownFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'api' && dir === path.join(root, 'docs') ? [] : markdownFiles(p); // docs/api: generated
    return e.name.endsWith('.md') ? [p] : [];
  });
}

interface Block {
  file: string;
  line: number;
  info: string;
  code: string;
}

/** The fenced blocks of a markdown file (``` fences at the start of a line). */
export function fencedBlocks(file: string, text: string): Block[] {
  const out: Block[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(.*)$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    if (i >= lines.length) throw new Error(`${file}:${start + 1}: unclosed code block`);
    out.push({ file: path.relative(root, file), line: start + 1, info: open[1].trim(), code: body.join('\n') });
  }
  return out;
}

const RUNNABLE = new Set(['js', 'javascript', 'mjs', 'ts', 'typescript', 'mts']);
const files = [path.join(root, 'README.md'), ...markdownFiles(path.join(root, 'docs'))];
const blocks = files.flatMap((f) => fencedBlocks(f, fs.readFileSync(f, 'utf8')));
const lang = (b: Block) => b.info.split(/\s+/)[0];
const runnable = blocks.filter((b) => RUNNABLE.has(lang(b)) && !b.info.split(/\s+/).includes('no-run'));
const skipped = blocks.filter((b) => RUNNABLE.has(lang(b)) && b.info.split(/\s+/).includes('no-run'));
const name = (b: Block) => `${b.file.replace(/[^A-Za-z0-9]+/g, '_')}_${b.line}`;

function run(file: string) {
  const r = spawnSync(process.execPath, [file], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: process.env.TMPDIR ?? '/tmp' } });
  return { code: r.status, out: `${r.stdout}${r.stderr}${r.error ? String(r.error) : ''}` };
}

describe('the documentation', () => {
  test('the fence parser reads info strings and bodies', () => {
    const b = fencedBlocks('x.md', 'text\n```ts no-run\nconst a = 1;\n```\n\n```sh\nls\n```\n');
    expect(b.map((x) => [x.line, x.info, x.code])).toEqual([[2, 'ts no-run', 'const a = 1;'], [6, 'sh', 'ls']]);
    expect(() => fencedBlocks('x.md', '```ts\nnever closed\n')).toThrow('x.md:1: unclosed');
  });

  test('every code block says what it is (```ts, ```sh, ```text, ...)', () => {
    expect(blocks.filter((b) => b.info === '').map((b) => `${b.file}:${b.line}`)).toEqual([]);
    expect(runnable.length).toBeGreaterThanOrEqual(7);
    if (skipped.length) console.log(`doc blocks marked no-run: ${skipped.map((b) => `${b.file}:${b.line}`).join(', ')}`);
  });

  test('the blocks type-check (tsc --strict)', () => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    for (const b of runnable) fs.writeFileSync(path.join(work, `${name(b)}.mts`), `${b.code}\nexport {};\n`);
    fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'esnext.disposable'], types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')] },
      include: ['*.mts'],
    }));
    const r = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work], { encoding: 'utf8' });
    // Name each error by its markdown file and line.
    const where = (s: string) => s.replace(/^(\S+?)_(\d+)\.mts\((\d+),\d+\)/gm, (_, f: string, l: string, k: string) => `${f} block at line ${l}, its line ${k}`);
    expect(where(`${r.stdout}${r.stderr}`).trim()).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  describe.each(runnable.map((b) => [`${b.file}:${b.line}`, b] as const))('%s', (_, b) => {
    test('runs as written', () => {
      fs.mkdirSync(work, { recursive: true });
      const file = path.join(work, `${name(b)}.mjs`);
      fs.writeFileSync(file, transformSync(b.code, { loader: 'ts', format: 'esm', target: 'node20' }).code);
      const r = run(file);
      expect(r.code, r.out).toBe(0);
    }, 120_000);
  });

  test.each(fs.readdirSync(path.join(root, 'examples')).filter((f) => /\.(mjs|cjs|js)$/.test(f)))('examples/%s runs and imports metagrad by name', (f) => {
    const file = path.join(root, 'examples', f);
    expect(fs.readFileSync(file, 'utf8')).not.toMatch(/from '\.\.\/|require\('\.\.\//);
    const r = run(file);
    expect(r.code, r.out).toBe(0);
  }, 120_000);
});
