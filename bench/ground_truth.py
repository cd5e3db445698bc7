"""How far can the from-scratch ground truth rank subnets? The same architectures trained again.

``bench/estimators.py`` scores the supernet's inherited accuracy by its Kendall tau against one
from-scratch run per subnet, and ``bench/supernet_quality.py`` its gaps against one run. A
from-scratch run is itself a random draw (initialisation, batch order, augmentation), so part of
any disagreement is the truth's own noise. This pairs every run of ``scratch_repeats*.json``
(``bench/scratch_baselines.py --train-seed N``) with the baseline run of the same architecture
and epochs, and reports:

- ``run_noise_points``: the standard deviation of one run's test accuracy, in points, from the
  paired differences (``sqrt(mean(d**2) / 2)``: two runs differ by twice one run's variance);
- ``seeds_kendall_tau``: how well one seed's ranking of the repeated subnets agrees with the
  other's;
- ``ceiling``: for the estimators' ground truth (its subnets at ``--epochs``), the Kendall tau a
  perfect estimator would reach on average against one run per subnet, simulated with that noise
  around the truths shrunk to the spread left after removing it, beside the measured tau.

It also pairs the estimators' subnets that were trained for a second, longer budget
(``scratch_baselines.py --epochs 178 --arch ...``) with their ``--epochs`` run: ``budgets`` says
whether a short training ranks subnets as a long one does, and which of the two the supernet's
inherited accuracy (``inherited_test`` of ``estimators.json``, the same test images) is closer to.

    python bench/ground_truth.py [--epochs 15] [--draws 4000]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, write_result  # noqa: E402
from scratch_baselines import REPEATS, load_baselines  # noqa: E402

from edgenas.estimate.predictor import kendall_tau  # noqa: E402

NAME = "ground_truth"


def load_repeats() -> list[tuple[str, dict]]:
    """``(arch string, result)`` of every repeat run, over ``scratch_repeats.json`` and its parts."""
    return [(arch, result) for path in sorted(RESULTS_DIR.glob(f"{REPEATS}*.json"))
            for arch, result in json.loads(path.read_text())["runs"].items()]


def run_noise(differences: np.ndarray) -> float:
    """Standard deviation of one run, from differences between two runs of the same subnets."""
    return float(math.sqrt(np.mean(differences**2) / 2))


def perfect_estimator_tau(truths: np.ndarray, noise: float, draws: int, seed: int = 0) -> dict:
    """Mean (and 5-95 % range) Kendall tau of the noise-free accuracies against one noisy run each.

    The noise-free accuracies are not known; they are taken as the truths pulled toward their mean
    until their spread is what remains after the noise (``var(true) = var(runs) - noise**2``)."""
    rng = np.random.default_rng(seed)
    spread = truths.var()
    shrink = math.sqrt(max(spread - noise**2, 0.0) / spread) if spread > 0 else 0.0
    clean = truths.mean() + shrink * (truths - truths.mean())
    taus = np.array([kendall_tau(clean, clean + rng.normal(0.0, noise, clean.shape)) for _ in range(draws)])
    return {"mean": round(float(taus.mean()), 3), "p05": round(float(np.quantile(taus, 0.05)), 3),
            "p95": round(float(np.quantile(taus, 0.95)), 3), "shrink": round(shrink, 3)}


def budget_pairs(subnets: dict[str, dict], baselines: dict[tuple[str, int], dict], epochs: int) -> dict:
    """The estimators' subnets with a baseline run at another budget beside their ``epochs`` one:
    per budget, each subnet's test accuracy and its distance from the inherited accuracy, and the
    Kendall taus of inherited vs each budget over the subnets that have both (when 3 or more)."""
    out: dict[str, dict] = {}
    for other in sorted({e for (_, e) in baselines} - {epochs}):
        rows = {arch: {"inherited_test": row["inherited_test"], f"scratch_{epochs}": baselines[(arch, epochs)]["test_acc"],
                       f"scratch_{other}": baselines[(arch, other)]["test_acc"]}
                for arch, row in subnets.items()
                if "inherited_test" in row and (arch, epochs) in baselines and (arch, other) in baselines}
        if not rows:
            continue
        entry: dict = {"subnets": rows}
        for budget in (epochs, other):
            key = f"scratch_{budget}"
            gaps = [100 * (r[key] - r["inherited_test"]) for r in rows.values()]
            entry[f"mean_gap_points_{budget}"] = round(float(np.mean(gaps)), 2)
            if len(rows) >= 3:
                entry[f"kendall_tau_inherited_vs_{budget}"] = round(
                    kendall_tau([r["inherited_test"] for r in rows.values()], [r[key] for r in rows.values()]), 3)
        if len(rows) >= 3:
            entry[f"kendall_tau_{epochs}_vs_{other}"] = round(
                kendall_tau([r[f"scratch_{epochs}"] for r in rows.values()], [r[f"scratch_{other}"] for r in rows.values()]), 3)
        out[str(other)] = entry
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="epochs of the estimators' ground truth")
    parser.add_argument("--draws", type=int, default=4000, help="simulated truths for the ceiling")
    args = parser.parse_args()
    baselines = load_baselines()
    pairs = []
    for arch, repeat in load_repeats():
        base = baselines.get((arch, int(repeat["epochs"])))
        if base is None:
            continue
        pairs.append({"arch": arch, "epochs": int(repeat["epochs"]), "train_seed": repeat["train_seed"],
                      "baseline_test_acc": base["test_acc"], "repeat_test_acc": repeat["test_acc"],
                      "difference_points": round(100 * (repeat["test_acc"] - base["test_acc"]), 2)})
    by_epochs: dict[str, dict] = {}
    for epochs in sorted({p["epochs"] for p in pairs}):
        group = [p for p in pairs if p["epochs"] == epochs]
        diffs = np.array([p["difference_points"] for p in group])
        by_epochs[str(epochs)] = {
            "pairs": len(group),
            "run_noise_points": round(run_noise(diffs), 3),
            "mean_difference_points": round(float(diffs.mean()), 3),
            "max_abs_difference_points": round(float(np.abs(diffs).max()), 2),
            "seeds_kendall_tau": (round(kendall_tau([p["baseline_test_acc"] for p in group],
                                                    [p["repeat_test_acc"] for p in group]), 3)
                                  if len(group) >= 3 else None),
        }
    summary: dict = {"by_epochs": by_epochs}
    estimators = json.loads((RESULTS_DIR / "estimators.json").read_text())
    truths = [row["scratch_truth"] for row in estimators["subnets"].values() if row.get("scratch_truth") is not None]
    group = by_epochs.get(str(args.epochs))
    if truths and group:
        noise = group["run_noise_points"] / 100
        summary["ceiling"] = {
            "subnets": len(truths),
            "truth_spread_points": round(100 * float(np.std(truths)), 3),
            "perfect_estimator_tau": perfect_estimator_tau(np.array(truths), noise, args.draws),
            "measured_inherited_tau": estimators["summary"]["ground_truths_agree"]["kendall_tau"],
        }
    summary["budgets"] = budget_pairs(estimators["subnets"], baselines, args.epochs)
    if not pairs and not summary["budgets"]:
        raise SystemExit("nothing to compare: train repeats (bench/scratch_baselines.py --train-seed N) or the "
                         "estimators' subnets for a longer budget (--epochs 178 --arch ...) first")
    print(json.dumps(summary, indent=2))
    write_result(NAME, {"epochs": args.epochs, "pairs": pairs, "summary": summary})


if __name__ == "__main__":
    main()
