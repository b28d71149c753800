// `npm run prebuild`: the prebuilt addon shipped in the package, prebuilds/<platform>-<arch>/node.node
// (prebuildify's layout, which node-gyp-build loads). One Node-API binary serves every Node >= 20.4;
// the CPU kernels pick AVX2 or AVX-512 at run time (native/cpu/isa.cc), so one x64 build fits every
// x64 CPU. It is built CPU-only (METAGRAD_CUDA=OFF) unless METAGRAD_CUDA says otherwise: a CUDA build
// needs the CUDA driver on the user's machine, so CUDA users build from source
// (`npm install metagrad --build-from-source`). Likewise without mg.distributed's Gloo and NCCL
// backends (they link shared libraries users may not have): METAGRAD_GLOO=ON turns Gloo on.
//
// prebuildify drives node-gyp; we build with cmake-js, so its `--node-gyp` is
// scripts/cmake-js-as-node-gyp.mjs, and the build happens in build/prebuild (its own CMake cache,
// so the developer's build/ is left as it is).
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const staging = join(root, 'build', 'prebuild');
mkdirSync(staging, { recursive: true });
rmSync(join(staging, 'build', 'Release'), { recursive: true, force: true }); // no stale binary for prebuildify to pick up
const prebuildify = createRequire(import.meta.url)('prebuildify');
process.env.METAGRAD_CUDA ??= 'OFF';
process.env.METAGRAD_GLOO ??= 'OFF';
process.env.METAGRAD_NCCL ??= 'OFF';
process.env.METAGRAD_SOURCE_DIR = root;
prebuildify(
  { cwd: staging, out: root, napi: true, strip: true, nodeGyp: join(root, 'scripts', 'cmake-js-as-node-gyp.mjs') },
  (err) => {
    if (err) {
      console.error(`prebuild: ${err.message ?? err}`);
      process.exit(1);
    }
    const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    console.log(`prebuild: wrote ${readdirSync(dir).filter((f) => f.endsWith('.node')).map((f) => join(dir, f)).join(', ')}`);
  },
);
