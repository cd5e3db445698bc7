#!/usr/bin/env bash
# From-scratch runs the CPU cannot afford, side by side on one GPU machine, inside a time budget:
# - extract's searched architectures at its hand-designed baselines' recipe (epochs and batch from
#   bench/results/extract.json), for its `searched_scratch_acc` (TinyNAS's claim: found, then trained);
# - the predictor's first 30 held-out subnets at TRUTH_EPOCHS, the from-scratch ground truth of
#   `bench/estimators.py --truth-epochs-from-baselines TRUTH_EPOCHS`.
# Every process writes its own result part after each subnet; what finished inside the budget is
# packed into OUT/results.tgz (result parts, their history and the logs) to unpack in the repo root.
#
#   EDGENAS_FASHION_MNIST=DIR bench/scratch_on_gpu.sh OUT BUDGET_SECONDS TRUTH_EPOCHS [TRUTH_SLICES]
# SEARCHED=0 leaves out extract's searched architectures (the ground truth alone).
set -uo pipefail
out=${1:?output folder}; budget=${2:?seconds}; truth=${3:?ground-truth epochs}; slices=${4:-10}
logs=$(mktemp -d)
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
read -r epochs batch archs < <(python3 -c "import json; rows = json.load(open('bench/results/extract.json'))['rows']
base = {(r['baseline']['epochs'], r['baseline']['batch_size']) for r in rows}
assert len(base) == 1, base
print(*base.pop(), ' '.join(sorted({r['arch'] for r in rows})))")
pids=()
i=0
[ "${SEARCHED:-1}" = 0 ] && archs=""
for a in $archs; do
    timeout "$budget" python3 bench/scratch_baselines.py --epochs "$epochs" --batch-size "$batch" --device cuda \
        --labels "" --arch "$a" --part "searched-$i" >"$logs/searched-$i.log" 2>&1 &
    pids+=($!)
    i=$((i + 1))
done
per=$(( (30 + slices - 1) / slices ))
for ((first = 0; first < 30; first += per)); do
    timeout "$budget" python3 bench/scratch_baselines.py --epochs "$truth" --batch-size "$batch" --device cuda \
        --labels "" --heldout "$first:$((first + per))" --part "heldout-$first" >"$logs/heldout-$first.log" 2>&1 &
    pids+=($!)
done
nvidia-smi dmon -s u -d 15 >"$logs/dmon.log" 2>&1 &
dmon=$!
wait "${pids[@]}"
kill "$dmon" 2>/dev/null
tar czf "$out/results.tgz" bench/results/scratch_baselines-searched-* bench/results/scratch_baselines-heldout-* \
    bench/results/history/scratch_baselines-searched-* bench/results/history/scratch_baselines-heldout-* "$logs" 2>/dev/null
tail -n 2 "$logs"/*.log
