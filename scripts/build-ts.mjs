// Builds dist/: an ESM bundle (index.js), a CommonJS bundle (index.cjs), the CLI, and the
// type declarations (tsc). esbuild bundles; tsc only emits .d.ts files.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { chmodSync, rmSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, packages: 'external', logLevel: 'warning' };
await build({ ...common, entryPoints: ['src/index.ts'], format: 'esm', outfile: 'dist/index.js' });
// CommonJS has no import.meta: give it one from __filename.
await build({
  ...common, entryPoints: ['src/index.ts'], format: 'cjs', outfile: 'dist/index.cjs',
  define: { 'import.meta.url': '__import_meta_url' },
  banner: { js: "const __import_meta_url = require('url').pathToFileURL(__filename).href;" },
});
if (existsSync('src/cli/main.ts')) {
  await build({ ...common, entryPoints: ['src/cli/main.ts'], format: 'esm', outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } });
  chmodSync('dist/cli.js', 0o755);
}
const tsc = require.resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
process.exit(r.status ?? 1);
