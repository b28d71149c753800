#!/usr/bin/env bash
# A time-boxed CPU run on Omniglot: trains runs/omniglot-NAME in chunks of growing length, each
# under `--time-limit` of what is left of the budget, and evaluates the checkpoint after each chunk,
# so the log holds test accuracy (or Lake's error rate) against iterations and training time.
#
#   scripts/omniglot-cpu-run.sh SECONDS NAME [train options...]
#
# The train options go to `metagrad train` as they are (--algo is required; --task defaults to
# omniglot and --data to ../shared/data/omniglot). Chunk evaluations use EVAL_EPISODES (200) test
# episodes; the last checkpoint is evaluated on FINAL_EPISODES (1000). Lake-protocol runs are
# evaluated on Lake's 20 one-shot runs each time. Log: runs/logs/omniglot-NAME-curve.jsonl (one
# line per evaluation: iteration, trainSeconds, evalEpisodes, and eval's summary).
# MAML++'s cosine annealing spans the run's --iterations (60,000 unless given): a time-boxed run
# sees the first part of the full-length schedule.
#
# Examples (docs/results.md):
#   scripts/omniglot-cpu-run.sh 3600 maml --algo maml
#   MG_NUM_THREADS=1 scripts/omniglot-cpu-run.sh 2400 mamlpp-20way --algo mamlpp --ways 20
#   MG_NUM_THREADS=1 scripts/omniglot-cpu-run.sh 2400 lake-background --algo maml --task omniglot-lake
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: scripts/omniglot-cpu-run.sh SECONDS NAME --algo ALGO [train options...]" >&2
  exit 2
fi
budget=$1; name=$2; shift 2
case " $* " in *" --algo "*) ;; *) echo "omniglot-cpu-run: --algo is required" >&2; exit 2 ;; esac
extra=()
case " $* " in *" --task "*) ;; *) extra+=(--task omniglot) ;; esac
case " $* " in *" --data "*) ;; *) extra+=(--data ../shared/data/omniglot) ;; esac
case " $* " in *" --iterations "*) ;; *) extra+=(--iterations 60000) ;; esac
out=runs/omniglot-$name; log=runs/logs/omniglot-$name-curve.jsonl
mkdir -p runs/logs
[ -e "$out" ] && { echo "omniglot-cpu-run: $out exists (remove it, or pick another NAME)" >&2; exit 2; }
: > "$log"

trained=0
it=0
evaluate() { # ITERATION EPISODES
  node dist/cli.js eval --checkpoint "$out" --episodes "$2" --json | tail -n 1 | \
    node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);console.log(JSON.stringify({iteration:$1,trainSeconds:$trained,evalEpisodes:$2,...j}))})" >> "$log"
  tail -n 1 "$log"
}
for chunk in 25 50 100 150 200 300 400 500 700 1000 1500 2000 3000 4000 6000 8000 10000 15000 20000 30000 40000 60000; do
  left=$((budget - trained))
  [ "$left" -le 0 ] && break
  t=$SECONDS
  # The chunk ends at `chunk` iterations or when the budget is spent, whichever comes first.
  rc=0
  summary=$(node dist/cli.js train "$@" "${extra[@]}" --out "$out" --save-every 25 --time-limit "$left" --json --stop-at "$chunk" | tail -n 1) || rc=$?
  if [ "$rc" -ne 0 ]; then
    # 137: killed, most often by the kernel's out-of-memory killer (a 20-way second-order MAML++
    # meta-batch of 16 needs about 12 GB).
    echo "omniglot-cpu-run: train failed with exit code $rc$([ "$rc" -eq 137 ] && echo ' (killed: out of memory?)'); the last checkpoint in $out is intact" >&2
    exit 1
  fi
  trained=$((trained + SECONDS - t))
  it=$(node -e "console.log(JSON.parse(process.argv[1]).iterations)" "$summary")
  # Done when the budget is spent or the run ended before the chunk did (it reached --iterations).
  if [ "$trained" -ge "$budget" ] || [ "$it" -lt "$chunk" ]; then break; fi
  evaluate "$it" "${EVAL_EPISODES:-200}"
done
if [ "$it" -gt 0 ]; then evaluate "$it" "${FINAL_EPISODES:-1000}"; fi
