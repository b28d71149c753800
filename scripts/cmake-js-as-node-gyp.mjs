#!/usr/bin/env node
// Stands in for node-gyp under prebuildify (scripts/prebuild.mjs): prebuildify runs
// `node-gyp rebuild --target=... --arch=... --release` in its working folder and takes the .node
// file from ./build/Release; we build the addon with cmake-js instead (a Node-API build, so the
// target version does not matter) from the source tree in METAGRAD_SOURCE_DIR into ./build.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';

const src = process.env.METAGRAD_SOURCE_DIR;
if (!src) {
  console.error('cmake-js-as-node-gyp: METAGRAD_SOURCE_DIR is not set (run it through scripts/prebuild.mjs)');
  process.exit(2);
}
const require = createRequire(join(src, 'package.json'));
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, 'compile', '--directory', src, '--out', resolve('build')];
const cuda = (process.env.METAGRAD_CUDA ?? '').toUpperCase();
if (cuda) args.push(`--CDMETAGRAD_CUDA=${cuda}`);
for (const v of ['METAGRAD_GLOO', 'METAGRAD_NCCL']) if (process.env[v]) args.push(`--CD${v}=${process.env[v].toUpperCase()}`);
if (process.env.METAGRAD_CUDA_ARCHS) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.METAGRAD_CUDA_ARCHS}`);
const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
process.exit(r.status ?? 1);
