// `npm install` / `npm ci`: uses the prebuilt addon when the package ships one for this platform
// (prebuilds/<platform>-<arch>, made by `npm run prebuild`; node-gyp-build loads it at run time),
// and builds the addon from source (cmake-js: CMake >= 3.18 and a C++17 compiler) otherwise, or
// when asked to:
//   npm install metagrad --build-from-source   (npm_config_build_from_source, node-gyp-build's flag)
//   METAGRAD_BUILD_FROM_SOURCE=1               the same, as an environment variable
// Build settings (from source only):
//   METAGRAD_CUDA=OFF  skip the CUDA sources even when nvcc is found
//   METAGRAD_CUDA=ON   require CUDA (fail if nvcc is missing)
//   METAGRAD_CUDA_ARCHS="90"  CUDA architectures to compile for (default: 75, with PTX for newer GPUs)
//   METAGRAD_GLOO=ON|OFF, METAGRAD_NCCL=ON|OFF  mg.distributed's backends (default AUTO: built when found)
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const flag = (v) => v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
const fromSource = flag(process.env.METAGRAD_BUILD_FROM_SOURCE) || flag(process.env.npm_config_build_from_source);
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const hasPrebuild = existsSync(prebuilt) && readdirSync(prebuilt).some((f) => f.endsWith('.node'));
if (hasPrebuild && !fromSource) {
  console.log(`metagrad: using the prebuilt addon in ${prebuilt} (--build-from-source to compile it)`);
  process.exit(0);
}
console.log(fromSource ? 'metagrad: building the addon from source (asked for)' : `metagrad: no prebuilt addon for ${process.platform}-${process.arch}; building it from source (cmake-js)`);
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, 'compile', '--out', 'build'];
const cuda = (process.env.METAGRAD_CUDA ?? process.env.npm_config_metagrad_cuda ?? '').toUpperCase();
if (cuda) args.push(`--CDMETAGRAD_CUDA=${cuda}`);
for (const v of ['METAGRAD_GLOO', 'METAGRAD_NCCL']) if (process.env[v]) args.push(`--CD${v}=${process.env[v].toUpperCase()}`);
if (process.env.METAGRAD_CUDA_ARCHS) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.METAGRAD_CUDA_ARCHS}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  console.error(
    `metagrad: building the native addon failed${r.error ? ` (${r.error.message})` : ''}. It needs CMake >= 3.18 and a C++17 compiler ` +
      `on PATH${hasPrebuild ? '' : `, since no prebuilt addon for ${process.platform}-${process.arch} ships with this package`}.`,
  );
}
process.exit(r.status ?? 1);
