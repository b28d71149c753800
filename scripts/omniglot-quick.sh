#!/usr/bin/env bash
# The short Omniglot path a newcomer tries, timed phase by phase (wall seconds; the machine's load
# shows in them), from a cold decode cache:
#   1. train --algo mamlpp --task omniglot --meta-batch 8 --iterations 300 (decodes the zips first)
#   2. eval, 5-way 1-shot, 200 episodes
#   3. Lake's evaluation (eval --task omniglot-lake: the 20 within-alphabet 20-way one-shot runs) of
#      a 20-way model trained for LAKE_ITERATIONS (default 10) iterations just to have one
# usage: scripts/omniglot-quick.sh [DATA_DIR] [OUT_DIR]   (defaults: ../shared/data/omniglot, runs/quick)
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-../shared/data/omniglot}
out=${2:-runs/quick}
rm -rf "$out"
mkdir -p "$out/tmp"
export TMPDIR="$(cd "$out/tmp" && pwd)"   # a cold decode cache, as on a first run
cli="node dist/cli.js"
phase() { # name, command...
  local name=$1; shift
  local t0=$SECONDS
  "$@"
  echo "== $name: $((SECONDS - t0)) s" | tee -a "$out/phases.txt"
}
start=$SECONDS
phase "train (decode + 300 iterations)" $cli train --algo mamlpp --task omniglot --data "$data" --out "$out/pp" --meta-batch 8 --iterations 300
phase "eval (200 episodes)" $cli eval --checkpoint "$out/pp" --episodes 200
echo "== newcomer path (train + eval): $((SECONDS - start)) s; load average now: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/phases.txt"
phase "train a 20-way Lake model (${LAKE_ITERATIONS:-10} iterations)" $cli train --algo mamlpp --task omniglot-lake --lake-set background_small1 --data "$data" --out "$out/lake" --meta-batch 8 --iterations "${LAKE_ITERATIONS:-10}"
phase "Lake evaluation (20 runs)" $cli eval --checkpoint "$out/lake" --task omniglot-lake
