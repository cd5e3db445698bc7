"""Does starting the accuracy predictor from the bundled one help on new data with few samples?

For a dataset adapted by `edgenas extract --data` (its work folder holds the measured samples),
fit the predictor cold and warm-started from the bundled Fashion-MNIST predictor on the first N
samples (N = 20, 40, 80, ...), and report Kendall tau and RMSE on the same held-out samples,
averaged over several random splits.

    python bench/predictor_warm_start.py --samples out/bench-own-data/digits/adapt/<work>/predictor [--heldout 40]

Writes bench/results/predictor_warm_start.json.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.dataset import read_samples  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.space import SpaceSpec  # noqa: E402
from edgenas.supernet import load_meta  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=Path, required=True, help="predictor folder of an adapted dataset")
    parser.add_argument("--supernet", type=Path, help="its supernet (default: SAMPLES/../supernet)")
    parser.add_argument("--heldout", type=int, default=40)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--sizes", default="20,40,80")
    args = parser.parse_args()
    supernet = args.supernet or args.samples.parent / "supernet"
    spec = SpaceSpec.from_dict(load_meta(supernet)["space"])
    samples = [s for f in sorted(args.samples.glob("samples-*.jsonl")) for s in read_samples(f)]
    bundled = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    rows = []
    for n in (int(v) for v in args.sizes.split(",")):
        if n + args.heldout > len(samples):
            continue
        cold, warm, prior = [], [], []
        for split in range(args.splits):
            order = np.random.default_rng(split).permutation(len(samples))
            train = [samples[i] for i in order[:n]]
            test = [samples[i] for i in order[len(samples) - args.heldout:]]
            archs, accs = [s.arch for s in test], [s.accuracy for s in test]
            fit_archs, fit_accs = [s.arch for s in train], [s.accuracy for s in train]
            cold.append(AccuracyPredictor.fit(spec, fit_archs, fit_accs).evaluate(archs, accs))
            warm.append(AccuracyPredictor.fit(spec, fit_archs, fit_accs, warm_start=bundled).evaluate(archs, accs))
            prior.append(bundled.evaluate(archs, accs))  # the bundled ranking as it is (its RMSE is meaningless here)

        def mean(results: list[dict], key: str) -> float:
            return round(float(np.mean([r[key] for r in results])), 4)

        rows.append({"train_samples": n, "heldout": args.heldout, "splits": args.splits,
                     "cold_tau": mean(cold, "kendall_tau"), "warm_tau": mean(warm, "kendall_tau"),
                     "bundled_tau": mean(prior, "kendall_tau"),
                     "cold_rmse_points": round(100 * mean(cold, "rmse"), 2),
                     "warm_rmse_points": round(100 * mean(warm, "rmse"), 2)})
        print(rows[-1], flush=True)
    write_result("predictor_warm_start", {"summary": rows, "samples": str(args.samples), "total_samples": len(samples)})


if __name__ == "__main__":
    main()
