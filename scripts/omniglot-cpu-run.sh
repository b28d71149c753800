#!/usr/bin/env bash
# A time-boxed CPU run of MAML on Omniglot 5-way 1-shot (the MAML protocol, conv4 with 64 filters,
# meta-batch 32, inner lr 0.4, 1 inner step, 3 at test): trains in chunks and evaluates the
# checkpoint on held-out test episodes after each chunk, so the log holds accuracy against
# iterations and wall time. Usage: scripts/omniglot-cpu-run.sh [SECONDS=3600] [ALGO=maml] [DATA=../shared/data/omniglot] [extra train options...]
# (MAML++'s cosine annealing spans the --iterations of the first chunk: pass --ca-epochs 0 or a value here.)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-3600}; algo=${2:-maml}; data=${3:-../shared/data/omniglot}; shift $(( $# < 3 ? $# : 3 ))
out=runs/omniglot-$algo; log=runs/logs/omniglot-$algo-curve.jsonl
mkdir -p runs/logs
start=$SECONDS
for target in 25 50 100 150 200 300 400 500 700 1000 1500 2000 3000 4000 6000 8000 10000; do
  node dist/cli.js train --algo "$algo" --task omniglot --data "$data" --out "$out" --iterations $target --save-every 25 --json "$@" | tail -n 1
  elapsed=$((SECONDS - start))
  node dist/cli.js eval --checkpoint "$out" --episodes 200 --json | tail -n 1 | \
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);console.log(JSON.stringify({iteration:$target,trainSeconds:$elapsed,...j}))})" >> "$log"
  tail -n 1 "$log"
  [ $((SECONDS - start)) -ge "$budget" ] && break
done
