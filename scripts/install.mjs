// Builds the native addon on `npm install` / `npm ci`, unless a prebuilt binary for this
// platform is shipped in prebuilds/ (node-gyp-build loads those first at run time).
//   METAGRAD_CUDA=OFF  skip the CUDA sources even when nvcc is found
//   METAGRAD_CUDA=ON   require CUDA (fail if nvcc is missing)
//   METAGRAD_CUDA_ARCHS="90"  CUDA architectures to compile for (default: 75, with PTX for newer GPUs)
//   METAGRAD_GLOO=ON|OFF, METAGRAD_NCCL=ON|OFF  mg.distributed's backends (default AUTO: built when found)
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const prebuilt = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
if (existsSync(prebuilt) && !process.env.METAGRAD_BUILD_FROM_SOURCE) {
  console.log(`metagrad: using the prebuilt addon in ${prebuilt}`);
  process.exit(0);
}
const require = createRequire(import.meta.url);
const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
const args = [cmakeJs, 'compile', '--out', 'build'];
const cuda = (process.env.METAGRAD_CUDA ?? process.env.npm_config_metagrad_cuda ?? '').toUpperCase();
if (cuda) args.push(`--CDMETAGRAD_CUDA=${cuda}`);
for (const v of ['METAGRAD_GLOO', 'METAGRAD_NCCL']) if (process.env[v]) args.push(`--CD${v}=${process.env[v].toUpperCase()}`);
if (process.env.METAGRAD_CUDA_ARCHS) args.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.METAGRAD_CUDA_ARCHS}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
