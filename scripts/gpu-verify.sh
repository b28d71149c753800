#!/usr/bin/env bash
# The CUDA verification in one command, on the lent GPU machine (shared/gpu/README.md), from the
# repository root, after scripts/gpu-prepare.sh here and `run` with carry [".gpu", "build/Release", "dist"]:
#
#   bash scripts/gpu-verify.sh [tests] [bench] [quick]     (default: tests and bench)
#
# Writes everything under $OUT (default ./gpu-out):
#   device.txt            nvidia-smi, the addon's view of the GPU (mg.cuda.*), node version
#   test-cuda.log         vitest on test/cuda (kernels vs the CPU, the autograd table on CUDA,
#                         device layer, errors, allocator); test-cuda-sync.log: the indexing and
#                         error tests again with METAGRAD_CUDA_SYNC=1
#   bench-*.log           benchmarks beside PyTorch on the same GPU: HVP (S, M, L MLPs), MAML
#                         sinusoid, MAML Omniglot conv4 (meta-batch 32), exact fp32 and TF32
#   summary.md            the tables and pass/fail lines gathered, and the targets
# Each step has its own time limit, so one hang does not lose the rest; the exit status is the
# test suite's.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
OUT=${OUT:-$root/gpu-out}
mkdir -p "$OUT"
phases="${*:-tests bench}"
if [ -f .gpu/unpack.sh ]; then bash .gpu/unpack.sh; export PATH=/tmp/node-bin:$PATH; fi
NODE=$(command -v node || true)
[ -n "$NODE" ] || { echo "gpu-verify: no node (run scripts/gpu-prepare.sh here and carry .gpu)" | tee "$OUT/summary.md"; exit 2; }
VITEST="node node_modules/vitest/vitest.mjs"
export FORCE_COLOR=0 NO_COLOR=1
# The Python with PyTorch (the benchmarks' reference): the first that imports torch.
for py in "${METAGRAD_PYTHON:-}" python3 /usr/bin/python3 /usr/local/bin/python3 python; do
  [ -n "$py" ] && command -v "$py" > /dev/null && "$py" -c 'import torch' 2> /dev/null && { export METAGRAD_PYTHON=$(command -v "$py"); break; }
done
step() {  # step NAME SECONDS CMD...: runs CMD with a limit, log in $OUT/NAME.log
  local name=$1 limit=$2; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/steps.txt"
  return $rc
}
{
  echo "node $(node --version)"
  nvidia-smi 2>&1 | head -20
  node -e "import('./dist/index.js').then((mg) => { console.log(JSON.stringify({ compiled: mg.cuda.isCompiled(), available: mg.cuda.isAvailable(), devices: mg.cuda.deviceNames(), tf32: mg.cuda.tf32Enabled() })); })"
  "${METAGRAD_PYTHON:-python3}" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0))'
} > "$OUT/device.txt" 2>&1
cat "$OUT/device.txt"
: > "$OUT/steps.txt"
test_rc=0
if [[ " $phases " == *" tests "* ]]; then
  step test-cuda 420 $VITEST run test/cuda test/backend.test.ts --reporter=verbose || test_rc=1
  METAGRAD_CUDA_SYNC=1 step test-cuda-sync 120 $VITEST run test/cuda/ops.test.ts -t "index|memory|TF32|seed" --reporter=verbose || test_rc=1
fi
if [[ " $phases " == *" bench "* ]]; then
  quick=""
  [[ " $phases " == *" quick "* ]] && quick=1
  step bench-hvp 300 node bench/hvp.mjs --device cuda ${quick:+L}
  step bench-hvp-tf32 240 node bench/hvp.mjs --device cuda --tf32 L
  step bench-maml-conv4 300 node bench/maml_conv.mjs --device cuda
  step bench-maml-conv4-tf32 300 node bench/maml_conv.mjs --device cuda --tf32
  [ -n "$quick" ] || step bench-maml-sinusoid 240 node bench/maml.mjs --device cuda
fi
{
  echo "# CUDA verification, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo '```'
  cat "$OUT/device.txt"
  echo '```'
  echo
  echo "## Steps"
  echo '```'
  cat "$OUT/steps.txt"
  echo '```'
  for f in "$OUT"/test-cuda*.log; do
    [ -f "$f" ] || continue
    echo "## $(basename "$f")"
    echo '```'
    grep -E "Test Files|Tests  |FAIL|✗|×|AssertionError|Error:" "$f" | head -60
    echo '```'
  done
  for f in "$OUT"/bench-*.log; do
    [ -f "$f" ] || continue
    echo "## $(basename "$f" .log)"
    echo '```'
    grep -v -E "Running|Progress|^\s*$|^\s+[0-9,.]+ ops/s|Finished|Fastest|Slowest|Saved" "$f" | tail -30
    echo '```'
  done
  echo
  echo "Targets (issue 8): HVP throughput at least PyTorch's at the L size (speed-up >= 1.00x on the L hvp rows);"
  echo "conv4 MAML meta-iteration no slower than PyTorch's (best vs best >= 1.00x)."
} > "$OUT/summary.md"
cat "$OUT/summary.md"
exit $test_rc
