#!/usr/bin/env bash
# Prepares the CUDA verification on a lent GPU machine (see scripts/gpu-verify.sh and
# shared/gpu/README.md), on this machine (it has nvcc but no GPU):
#   1. builds the addon with the CUDA backend for Hopper (METAGRAD_CUDA_ARCHS, default 90),
#   2. builds dist/ (the benchmarks import it),
#   3. packs Node.js and node_modules into .gpu/ (shared/gpu/prepare.sh; a symlinked node_modules,
#      as in git worktrees, is packed through the link, without typescript, which nothing needs there).
# Then, with the device tool:  run  carry [".gpu", "build/Release", "dist"]  command "bash scripts/gpu-verify.sh"
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
archs=${METAGRAD_CUDA_ARCHS:-90}
start=$(date +%s)
npx cmake-js compile --out build --CDMETAGRAD_CUDA=ON "--CDCMAKE_CUDA_ARCHITECTURES=$archs"
echo "gpu-prepare: addon built for sm_$archs in $(( $(date +%s) - start )) s"
npm run build:ts --silent
prep=""
for p in "$root/../shared/gpu/prepare.sh" /work/shared/gpu/prepare.sh; do [ -f "$p" ] && { prep=$p; break; }; done
[ -n "$prep" ] || { echo "gpu-prepare: shared/gpu/prepare.sh not found" >&2; exit 1; }
bash "$prep"
if [ -L node_modules ]; then
  echo "gpu-prepare: node_modules is a symlink; packing the tree it points to"
  tar -chf - --exclude=node_modules/typescript node_modules | xz -T2 -6 > .gpu/node_modules.tar.xz
fi
du -sh .gpu build/Release dist | sed 's/^/  /'
