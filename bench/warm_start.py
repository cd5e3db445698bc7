"""Does seeding a search with an earlier one's best (``--warm-start``) find better subnets sooner?

A user searched at one RAM budget and now wants a tighter one. Cold: evolution from random archs;
warm: the same search seeded with the 16 fittest archs of the earlier search, repaired to the new
budget (they count towards the evaluation budget). For each evaluation budget, the best predicted
accuracy found (bundled predictor, emulated Cortex-M7's cost model), mean over seeds, and how
often warm is at least as good as cold. Writes bench/results/warm_start.json.

    python bench/warm_start.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import board_for_target  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search import Constraints, run_search  # noqa: E402
from edgenas.search.loop import search_loop  # noqa: E402
from edgenas.search.warm_start import load_warm_start  # noqa: E402

KB = 1024
MOVES = ((128 * KB, 64 * KB), (64 * KB, 32 * KB))
"""(earlier RAM budget, new RAM budget) pairs."""
EVALUATIONS = (20, 50, 100, 200, 400, 1000, 3000)
"""3000: extract's default search (30 generations of 100)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    board = board_for_target("cortex-m7")
    cost = CostModel(predictor.spec, board, LatencyTable.load(default_latency_table(board)))
    rows = []
    for earlier, new in MOVES:
        limits = Constraints.of(sram_bytes=new)
        for seed in range(args.seeds):
            with tempfile.TemporaryDirectory() as tmp:
                run_search(cost, predictor, Constraints.of(sram_bytes=earlier), seed=100 + seed, out_dir=tmp)
                seeds = load_warm_start(Path(tmp), cost.spec)
            for n in EVALUATIONS:
                best = {}
                for label, warm in (("cold", ()), ("warm", seeds)):
                    found = search_loop(cost, predictor, limits, budget=n, seed=seed, warm_start=warm)
                    best[label] = found.best.fitness
                rows.append({"earlier_ram": earlier, "ram": new, "seed": seed, "evaluations": n, **best})
            print(earlier // KB, "->", new // KB, "seed", seed, flush=True)
    summary = []
    for earlier, new in MOVES:
        for n in EVALUATIONS:
            sel = [r for r in rows if r["ram"] == new and r["evaluations"] == n]
            summary.append({
                "earlier_ram": earlier, "ram": new, "evaluations": n,
                "cold_best": round(statistics.mean(r["cold"] for r in sel), 5),
                "warm_best": round(statistics.mean(r["warm"] for r in sel), 5),
                "warm_at_least_as_good": sum(r["warm"] >= r["cold"] for r in sel), "seeds": len(sel),
            })
    path = write_result("warm_start", {
        "fitness": "predicted validation accuracy (bundled predictor)", "strategy": "evolution (population 100)",
        "seed_archs": 16, "rows": rows, "summary": summary,
    })
    for s in summary:
        print(s)
    print(path)


if __name__ == "__main__":
    main()
