#!/usr/bin/env bash
# Train the bundled supernet on a GPU machine and, beside it, the from-scratch baselines with the
# same epoch budget and batch size. Runs detached; progress goes to $RUN/train.log and
# $RUN/scratch.log. Usage: bench/train_on_gpu.sh RUN_DIR BUDGET_SECONDS
set -euo pipefail
run=${1:?run directory}; budget=${2:?seconds}
mkdir -p "$run"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=4
python3 bench/train_supernet.py --device cuda --budget "$budget" --subnets 4 --sandwich --batch-size 256 \
    --out "$run/supernet" >"$run/train.log" 2>&1 &
until [ -f "$run/supernet/plan.json" ]; do sleep 2; done
epochs=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['total_epochs'])" "$run/supernet/plan.json")
# One process for the three baselines: they share one result file.
python3 bench/scratch_baselines.py --epochs "$epochs" --batch-size 256 --labels smallest,random1,random2 \
    --device cuda >"$run/scratch.log" 2>&1
wait
