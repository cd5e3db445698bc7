#!/usr/bin/env bash
# Lengthen the bundled supernet's elastic expand phase on a GPU (`--init-from`, no retraining) and,
# beside it, train every from-scratch baseline the benches compare with at the new total epoch
# budget: supernet_quality's three subnets, extract's hand-designed MobileNetV2s and its searched
# architectures, one process each, writing their own result parts. Runs detached; logs under RUN.
#
#   bench/continue_on_gpu.sh RUN EXPAND_EPOCHS [BATCH LR_SCALE SCRATCH_BATCH]
#
# A step is launch-bound on one H100 (about 0.25 s for 4 subnets whatever the batch up to 2048),
# so a large batch with a scaled learning rate trains far more images per second.
# Then, on any machine: copy RUN/supernet over edgenas/assets/supernet/fashion-mnist, re-collect
# and refit the predictor (`edgenas predictor collect/fit`), and run bench/supernet_quality.py and
# bench/extract.py, which pick up the scratch results when architecture and epochs match.
set -euo pipefail
run=${1:?run directory}; extra=${2:?expand epochs}; batch=${3:-256}; lr_scale=${4:-1}; scratch_batch=${5:-}
src=edgenas/assets/supernet/fashion-mnist
mkdir -p "$run"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
total=$(python3 -c "import json, sys; from edgenas.supernet import trained_epochs
print(trained_epochs(json.load(open(sys.argv[1]))) + int(sys.argv[2]))" "$src/supernet.json" "$extra")
# extract's hand-designed baselines and its searched architectures (TinyNAS-style: found, then trained)
baselines=$(python3 -c "import json; rows = json.load(open('bench/results/extract.json'))['rows']
print(' '.join(sorted({r['baseline']['arch'] for r in rows} | {r['arch'] for r in rows})))")
echo "expand +$extra epochs (batch $batch, lr x$lr_scale); from-scratch baselines at $total epochs (batch ${scratch_batch:-default})" | tee "$run/plan.txt"
scratch_args=(--epochs "$total" --device cuda)  # without SCRATCH_BATCH: scratch_baselines.BATCH_SIZE, as the benches
[ -n "$scratch_batch" ] && scratch_args+=(--batch-size "$scratch_batch")
python3 bench/train_supernet.py --device cuda --epochs "0,0,0,$extra" --subnets 4 --sandwich --batch-size "$batch" \
    --lr-scale "$lr_scale" --seed 5 --init-from "$src" --out "$run/supernet" >"$run/train.log" 2>&1 &
for label in smallest random1 random2; do
    python3 bench/scratch_baselines.py "${scratch_args[@]}" --labels "$label" --part "quality-$label" >"$run/scratch-$label.log" 2>&1 &
done
i=0
for a in $baselines; do
    python3 bench/scratch_baselines.py "${scratch_args[@]}" --labels "" --arch "$a" --part "extract-$i" >"$run/scratch-extract-$i.log" 2>&1 &
    i=$((i + 1))
done
wait
