#!/usr/bin/env bash
# Lengthen the bundled supernet's elastic expand phase on a GPU (`--init-from`, no retraining) and,
# beside it, train every from-scratch baseline the benches compare with at the new total epoch
# budget: supernet_quality's three subnets and extract's hand-designed MobileNetV2s, in two
# processes that write their own result parts. Runs detached; logs under RUN.
#
#   bench/continue_on_gpu.sh RUN EXPAND_EPOCHS     (about 30 s per expand epoch on one H100)
#
# Then, on any machine: copy RUN/supernet over edgenas/assets/supernet/fashion-mnist, re-collect
# and refit the predictor (`edgenas predictor collect/fit`), and run bench/supernet_quality.py and
# bench/extract.py, which pick up the scratch results when architecture and epochs match.
set -euo pipefail
run=${1:?run directory}; extra=${2:?expand epochs}
src=edgenas/assets/supernet/fashion-mnist
mkdir -p "$run"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
total=$(python3 -c "import json, sys; from edgenas.supernet import trained_epochs
print(trained_epochs(json.load(open(sys.argv[1]))) + int(sys.argv[2]))" "$src/supernet.json" "$extra")
baselines=$(python3 -c "import json; rows = json.load(open('bench/results/extract.json'))['rows']
print(' '.join(sorted({r['baseline']['arch'] for r in rows})))")
echo "expand +$extra epochs; from-scratch baselines at $total epochs" | tee "$run/plan.txt"
python3 bench/train_supernet.py --device cuda --epochs "0,0,0,$extra" --subnets 4 --sandwich --batch-size 256 \
    --seed 2 --init-from "$src" --out "$run/supernet" >"$run/train.log" 2>&1 &
python3 bench/scratch_baselines.py --epochs "$total" --batch-size 256 --labels smallest,random1,random2 \
    --device cuda --part quality >"$run/scratch-quality.log" 2>&1 &
arch_args=()
for a in $baselines; do arch_args+=(--arch "$a"); done
python3 bench/scratch_baselines.py --epochs "$total" --batch-size 256 --labels "" "${arch_args[@]}" \
    --device cuda --part extract >"$run/scratch-extract.log" 2>&1 &
wait
