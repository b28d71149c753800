// The package as a user gets it: `npm pack`, installed into a new project offline and with no
// compiler on PATH (so the prebuilt addon must be used), then imported from ESM, CommonJS and
// TypeScript (`tsc --strict`), and its `metagrad` bin run.
//
// The tarball's prebuild is prebuilds/<platform>-<arch> (made by `npm run prebuild`, as .ci/run
// does); without one, the source build in build/Release is packed in its place (the same Node-API
// binary, CPU kernels chosen at run time), with a note. Dependencies come from this repository's
// node_modules (its production closure is copied into the project first), so `npm install
// --offline` needs no network and no npm cache.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const tuple = `${process.platform}-${process.arch}`;
const repoPrebuild = path.join(root, 'prebuilds', tuple);
const hasRepoPrebuild = fs.existsSync(repoPrebuild) && fs.readdirSync(repoPrebuild).some((f) => f.endsWith('.node'));
const sourceBuild = path.join(root, 'build', 'Release', 'metagrad.node');
const npmCli = fs.realpathSync(execFileSync('sh', ['-c', 'command -v npm']).toString().trim());
const canRun = fs.existsSync(path.join(root, 'dist', 'index.js')) && (hasRepoPrebuild || fs.existsSync(sourceBuild));
if (!canRun) console.warn(`pack test skipped: it needs dist/ and either prebuilds/${tuple} (npm run prebuild) or build/Release/metagrad.node`);

let tmp = '';
let project = '';
let bin = '';
let installLog = '';
/** The stripped environment: PATH holds node, npm and sh only. */
let env: NodeJS.ProcessEnv = {};

function sh(cmd: string, args: string[], cwd: string, e: NodeJS.ProcessEnv = env) {
  const r = spawnSync(cmd, args, { cwd, env: e, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

beforeAll(() => {
  if (!canRun) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'metagrad-pack-'));
  bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(npmCli, path.join(bin, 'npm'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  env = { HOME: process.env.HOME ?? tmp, PATH: bin, npm_config_cache: path.join(tmp, 'npm-cache'), npm_config_update_notifier: 'false' };

  // --ignore-scripts: dist/ is already built (prepare would rebuild it under the other tests' feet).
  const packed = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: root }).toString()) as { filename: string }[];
  let tarball = path.join(tmp, packed[0].filename);
  if (!hasRepoPrebuild) {
    console.warn(`pack test: no prebuilds/${tuple} (npm run prebuild makes it); packing build/Release/metagrad.node as the prebuild`);
    const x = path.join(tmp, 'x');
    fs.mkdirSync(x);
    execFileSync('tar', ['xzf', tarball, '-C', x]);
    fs.mkdirSync(path.join(x, 'package', 'prebuilds', tuple), { recursive: true });
    fs.copyFileSync(sourceBuild, path.join(x, 'package', 'prebuilds', tuple, 'node.node'));
    tarball = path.join(tmp, 'metagrad-with-prebuild.tgz');
    execFileSync('tar', ['czf', tarball, '-C', x, 'package']);
  }

  project = path.join(tmp, 'project');
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The dependencies, offline: the production closure of this repository's node_modules.
  const deps = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root }).toString().split('\n')
    .map((p) => path.relative(root, p.trim())).filter((p) => p.startsWith('node_modules'));
  for (const d of deps) fs.cpSync(path.join(root, d), path.join(project, d), { recursive: true });
  // Their bin links too: without them npm counts a package as changed and fetches it again.
  const binDir = path.join(root, 'node_modules', '.bin');
  fs.mkdirSync(path.join(project, 'node_modules', '.bin'), { recursive: true });
  for (const name of fs.existsSync(binDir) ? fs.readdirSync(binDir) : []) {
    const target = fs.readlinkSync(path.join(binDir, name));
    const pkg = path.relative(path.join(root, 'node_modules'), path.resolve(binDir, target)).split(path.sep);
    const pkgDir = pkg[0].startsWith('@') ? `${pkg[0]}/${pkg[1]}` : pkg[0];
    if (deps.includes(path.join('node_modules', pkgDir))) fs.symlinkSync(target, path.join(project, 'node_modules', '.bin', name));
  }
  const r = sh('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--foreground-scripts'], project);
  installLog = r.out;
  if (r.code !== 0) throw new Error(`npm install of the tarball failed:\n${r.out}`);
}, 180_000);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(!canRun)('npm pack, installed offline with no compiler on PATH', () => {
  test('the install used the prebuilt addon and built nothing', () => {
    expect(sh('sh', ['-c', 'command -v cc c++ g++ gcc cmake make ninja || true'], project).out.trim()).toBe('');
    expect(installLog).toContain(`using the prebuilt addon in ${path.join(project, 'node_modules', 'metagrad', 'prebuilds', tuple)}`);
    expect(fs.existsSync(path.join(project, 'node_modules', 'metagrad', 'build'))).toBe(false);
  });

  // d/dw sum(w^3) = 3 w^2; d2/dw2 (via grad of the grad) = 6 w.
  const script = `const w = mg.tensor([1, 2, -3], { dtype: 'float64', requiresGrad: true });
const [g] = mg.grad(w.pow(3).sum(), [w], { createGraph: true });
const [h] = mg.grad(g.sum(), [w]);
process.stdout.write(JSON.stringify({ g: g.toArray(), h: h.toArray(), isa: mg.backend.cpuInfo().isa }));`;
  const expectGrads = (out: string) => {
    const r = JSON.parse(out) as { g: number[]; h: number[]; isa: string };
    expect(r.g).toEqual([3, 12, 27]);
    expect(r.h).toEqual([6, 12, -18]);
    expect(['base', 'avx2', 'avx512']).toContain(r.isa);
  };

  test('import from ESM', () => {
    fs.writeFileSync(path.join(project, 'esm.mjs'), `import * as mg from 'metagrad';\n${script}\n`);
    const r = sh('node', ['esm.mjs'], project);
    expect(r.code, r.out).toBe(0);
    expectGrads(r.out);
  });

  test('require from CommonJS', () => {
    fs.writeFileSync(path.join(project, 'cjs.cjs'), `const mg = require('metagrad');\n${script}\n`);
    const r = sh('node', ['cjs.cjs'], project);
    expect(r.code, r.out).toBe(0);
    expectGrads(r.out);
  });

  test('the types: tsc --strict --noEmit, ESM and CommonJS, no @types/node', () => {
    fs.writeFileSync(path.join(project, 'a.mts'), `import * as mg from 'metagrad';
const w: mg.Tensor = mg.randn([3], { dtype: 'float64', requiresGrad: true });
const [g] = mg.grad(w.square().sum(), [w]);
const model = new mg.nn.Linear(2, 1);
const params: mg.Tensor[] = model.parameters();
export const out: [number, number] = [g!.sub(w.mul(2)).abs().max().item(), params.length];
`);
    fs.writeFileSync(path.join(project, 'b.cts'), `import mg = require('metagrad');
export const shape: readonly number[] = mg.tensor([1, 2]).shape;
`);
    // A type error must fail: the same check on a wrong program.
    fs.writeFileSync(path.join(project, 'bad.mts'), `import * as mg from 'metagrad';\nexport const n: string = mg.tensor([1]).item();\n`);
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const config = (files: string[]) => JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'esnext.disposable'], types: [] },
      files,
    });
    fs.writeFileSync(path.join(project, 'tsconfig.json'), config(['a.mts', 'b.cts']));
    const ok = sh('node', [tsc, '-p', '.'], project);
    expect(ok.code, ok.out).toBe(0);
    fs.writeFileSync(path.join(project, 'tsconfig.json'), config(['bad.mts']));
    const bad = sh('node', [tsc, '-p', '.'], project);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('bad.mts');
  });

  test('the metagrad bin: --help, and the shipped benchmarks', () => {
    const help = sh(path.join(project, 'node_modules', '.bin', 'metagrad'), ['--help'], project);
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain('bench');
    const list = sh(path.join(project, 'node_modules', '.bin', 'metagrad'), ['bench', '--list'], project);
    expect(list.code, list.out).toBe(0);
    expect(list.out.split('\n')).toContain('matmul');
  });

  test('metagrad bench runs a shipped benchmark from the installed package (no benny there: the plain timing loop)', () => {
    const r = sh(path.join(project, 'node_modules', '.bin', 'metagrad'), ['bench', 'overhead', '--json'], project);
    expect(r.code, r.out).toBe(0);
    const rows = r.out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { bench: string; case: string; ours: number; torch: number | null; unit: string });
    expect(rows.map((x) => x.case)).toEqual(['add 10 f32', 'mul scalar 10 f32', 'tanh 10 f32', 'sum 10 f32', 'matmul 10x40 @ 40x40']);
    for (const x of rows) {
      expect(x.unit).toBe('µs');
      expect(x.ours).toBeGreaterThan(0);
      expect(Number.isFinite(x.ours)).toBe(true);
    }
  }, 60_000);

  test('--build-from-source builds instead (and, with no compiler, says what is missing)', () => {
    const r = sh('npm', ['rebuild', 'metagrad', '--build-from-source', '--offline', '--foreground-scripts'], project);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('building the addon from source (asked for)');
    expect(r.out).toContain('CMake >= 3.18 and a C++17 compiler');
  });
});
