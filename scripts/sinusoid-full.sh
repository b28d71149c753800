#!/usr/bin/env bash
# Full-length sinusoid runs of issue 5 (MAML-paper setting), then eval over 1000 held-out tasks.
set -e
export MG_NUM_THREADS=1
cd "$(dirname "$0")/.."
mkdir -p runs/logs
C="node dist/cli.js"
for a in maml fomaml anil metasgd pretrain; do
  [ -f runs/full-$a/done ] || { $C train --algo $a --task sinusoid --out runs/full-$a --iterations 70000 --meta-batch 25 --meta-lr 0.001 --inner-steps 1 --inner-lr 0.01 --shots 10 --seed 1 --json | tail -n 1 > runs/logs/train-$a.json && touch runs/full-$a/done; }
done
[ -f runs/full-reptile/done ] || { $C train --algo reptile --task sinusoid --out runs/full-reptile --iterations 70000 --seed 1 --json | tail -n 1 > runs/logs/train-reptile.json && touch runs/full-reptile/done; }
[ -f runs/full-reptile-openai/done ] || { $C train --algo reptile --task sinusoid-reptile --out runs/full-reptile-openai --seed 1 --json | tail -n 1 > runs/logs/train-reptile-openai.json && touch runs/full-reptile-openai/done; }
for a in maml fomaml anil metasgd pretrain reptile reptile-openai; do
  $C eval --checkpoint runs/full-$a --episodes 1000 --steps 0,1,5,10 --json | tail -n 1 > runs/logs/eval-$a.json
done
echo all done
