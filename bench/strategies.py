"""Search strategies against each other on an enumerable space: regret and hypervolume.

Problem: the bundled Fashion-MNIST accuracy predictor (fitness) and the emulated Cortex-M7 board
(mps2-an500: measured firmware overhead + bundled latency table, unit instructions) under a RAM
and a latency limit. To know the true optimum the strategies search a *reduced* space: the bundled
mcu-mbv2 space with fewer choices (resolutions 32/40/48, widths 0.75/1.0, kernel 5 only, expand
3 or 6, depths 2-3 in the first three stages and 2 in the last: 41,472 archs), every arch of which
is scored once up front (predictor in one batch, cost model cached), so the optimum is exact and
each search evaluation is a lookup.

Each strategy runs through the real loop (``edgenas.search.loop.search_loop``, objectives
``(accuracy, latency)``, budget = the largest of ``--budgets``) with seeds 0..N-1. Reported per
budget B (the first B distinct archs of the run): best feasible predicted accuracy and regret =
optimum - best; hypervolume of the feasible evaluated points in (-accuracy, latency in M
instructions) against the reference (-(lowest accuracy of the reduced space), latency limit), i.e.
the area between each point and the worst accuracy of the space and the latency budget
(``edgenas.search.pareto.hypervolume``). ``summary`` gives the mean regret at 300 evaluations
and the mean hypervolume at the largest budget.

Seeds: ``--seeds`` (5) for every strategy except ``nsga2``, which gets ``--slow-seeds`` (3): Optuna's
NSGA-II costs more per trial as the study grows, and in this small space late generations are
mostly repeats, each still a study trial (~100 s per 1000-evaluation run against ~45 s for TPE),
so 5 seeds x 1000 evaluations did not fit the bench's time box; ``seeds`` in the JSON says which ran.

    nice -n 10 python bench/strategies.py [--seeds 5] [--slow-seeds 3] [--budgets 100,300,1000]

Writes bench/results/strategies.json.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search import Constraints  # noqa: E402
from edgenas.search.loop import search_loop  # noqa: E402
from edgenas.search.pareto import hypervolume  # noqa: E402
from edgenas.space import Arch, BlockChoice, SpaceSpec, StageSpec, count_archs  # noqa: E402

STRATEGIES = ("random", "evolution", "aging", "rl", "bayes", "nsga2")
SLOW = ("nsga2",)
BOARD = "mps2-an500"


def reduced_space(full: SpaceSpec) -> SpaceSpec:
    """The bundled space with fewer choices; same channels and strides, so the predictor and the
    latency table answer for every arch of it."""
    stages = tuple(StageSpec(s.channels, s.stride, (2, 3) if i < len(full.stages) - 1 else (2,))
                   for i, s in enumerate(full.stages))
    return replace(full, name=f"{full.name}-reduced", resolutions=(32, 40, 48), widths=(0.75, 1.0),
                   kernels=(5,), expands=(3, 6), stages=stages)


def enumerate_space(spec: SpaceSpec) -> list[Arch]:
    blocks = [BlockChoice(k, e) for k in spec.kernels for e in spec.expands]
    per_stage = [[st for d in s.depths for st in itertools.product(blocks, repeat=d)] for s in spec.stages]
    return [Arch(r, w, tuple(st)) for r in spec.resolutions for w in spec.widths for st in itertools.product(*per_stage)]


def best_after(trials, budget: int) -> float | None:
    fits = [t.fitness for t in trials[:budget] if t.feasible]
    return max(fits) if fits else None


def hv_after(trials, budget: int, reference: tuple[float, float]) -> float:
    pts = [(t.objectives[0], t.objectives[1] / 1e6) for t in trials[:budget] if t.feasible]
    return hypervolume(np.array(pts).reshape(len(pts), 2), reference)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--slow-seeds", type=int, default=3,
                        help=f"seeds for {', '.join(SLOW)} (their cost per trial grows with the study: "
                             "~100 s per 1000-evaluation run on the shared 2-core machine)")
    parser.add_argument("--budgets", default="100,300,1000")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--ram-kb", type=float, default=32.0, help="RAM limit (whole firmware), KiB")
    parser.add_argument("--latency-m", type=float, default=12.0, help="latency limit, M instructions")
    args = parser.parse_args()
    torch.set_num_threads(1)
    budgets = sorted(int(b) for b in args.budgets.split(","))
    strategies = [s for s in args.strategies.split(",") if s]
    started = time.perf_counter()

    board = get_board(BOARD)
    table = LatencyTable.load(default_latency_table(board))
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    spec = reduced_space(predictor.spec)
    cost = CostModel(spec, board, table)
    constraints = Constraints.of(sram_bytes=args.ram_kb * 1024, latency=args.latency_m * 1e6)

    tick = time.perf_counter()
    archs = enumerate_space(spec)
    assert len(archs) == count_archs(spec)
    accuracy = dict(zip(archs, predictor.predict(archs).tolist()))
    feasible = [a for a in archs if constraints.feasible(cost.metrics(a))]  # also fills the cost cache
    optimum = max(feasible, key=lambda a: accuracy[a])
    best_acc = accuracy[optimum]
    reference = (-min(accuracy.values()), args.latency_m)
    all_points = np.array([(-accuracy[a], cost.metrics(a).latency / 1e6) for a in feasible])
    exhaustive_s = time.perf_counter() - tick
    print(f"{len(archs)} archs, {len(feasible)} feasible, optimum {best_acc:.4f} {optimum} "
          f"({exhaustive_s:.0f} s)", flush=True)

    def estimator(batch: list[Arch]) -> list[float]:
        return [accuracy[a] for a in batch]

    seeds = {n: min(args.seeds, args.slow_seeds) if n in SLOW else args.seeds for n in strategies}
    runs = []
    for name in strategies:
        for seed in range(seeds[name]):
            tick = time.perf_counter()
            res = search_loop(cost, estimator, constraints, strategy=name, objectives=("accuracy", "latency"),
                              budget=budgets[-1], seed=seed, estimator_name="predictor")
            wall = time.perf_counter() - tick
            row = {"strategy": name, "seed": seed, "evaluations": res.evaluated, "stop": res.stop,
                   "rounds": res.rounds, "wall_s": round(wall, 2),
                   "best": {str(b): best_after(res.trials, b) for b in budgets},
                   "hypervolume": {str(b): hv_after(res.trials, b, reference) for b in budgets},
                   "feasible_fraction": float(np.mean([t.feasible for t in res.trials])) if res.trials else None,
                   "best_arch": res.best.arch if res.best else None}
            row["regret"] = {b: (best_acc - v if v is not None else None) for b, v in row["best"].items()}
            runs.append(row)
            print(f"{name:9s} seed {seed}: best@{budgets[-1]} {row['best'][str(budgets[-1])]}, "
                  f"regret {row['regret']}, hv {row['hypervolume'][str(budgets[-1])]:.4f}, {wall:.1f} s", flush=True)

    def mean(values):
        vals = [v for v in values if v is not None]
        return statistics.fmean(vals) if vals else None

    def std(values):
        vals = [v for v in values if v is not None]
        return statistics.stdev(vals) if len(vals) > 1 else 0.0

    per_strategy = {}
    for name in strategies:
        rows = [r for r in runs if r["strategy"] == name]
        per_strategy[name] = {
            str(b): {"best_mean": mean(r["best"][str(b)] for r in rows),
                     "regret_mean": mean(r["regret"][str(b)] for r in rows),
                     "regret_std": std(r["regret"][str(b)] for r in rows),
                     "found_optimum": sum(1 for r in rows if r["regret"][str(b)] == 0.0),
                     "hypervolume_mean": mean(r["hypervolume"][str(b)] for r in rows)}
            for b in budgets}
        per_strategy[name]["wall_s_mean"] = mean(r["wall_s"] for r in rows)
    key = "300" if 300 in budgets else str(budgets[len(budgets) // 2])
    last = str(budgets[-1])
    regret = {n: per_strategy[n][key]["regret_mean"] for n in strategies}
    hv = {n: per_strategy[n][last]["hypervolume_mean"] for n in strategies}
    targets = {}
    if "random" in regret:
        targets = {f"{n}_beats_random_regret_{key}": (regret[n] is not None and regret["random"] is not None
                                                        and regret[n] < regret["random"])
                   for n in ("evolution", "bayes", "rl") if n in regret}
    if "nsga2" in hv:
        targets["nsga2_largest_hypervolume"] = all(hv["nsga2"] >= v for v in hv.values() if v is not None)
    result = {
        "board": BOARD,
        "space": {"name": spec.name, "archs": len(archs), "spec": spec.to_json()},
        "constraints": constraints.as_dict(),
        "feasible_archs": len(feasible),
        "optimum": {"arch": str(optimum), "accuracy": best_acc, "metrics": cost.metrics(optimum).to_dict()},
        "hypervolume_reference": {"neg_accuracy": reference[0], "latency_m_instructions": reference[1],
                                  "exhaustive_front": hypervolume(all_points, reference)},
        "budgets": budgets,
        "seeds": seeds,
        "exhaustive_s": round(exhaustive_s, 2),
        "total_s": round(time.perf_counter() - started, 2),
        "per_strategy": per_strategy,
        "runs": runs,
        "targets": targets,
        "summary": {f"regret_{key}": regret, "hypervolume": hv},
    }
    print(write_result("strategies", result))
    print({"summary": result["summary"], "targets": targets})


if __name__ == "__main__":
    main()
