"""Does the constrained evolution search converge? The pick's predicted accuracy over seeds and
generations, at the extract bench's four (RAM, flash) budgets on the emulated Cortex-M7.

For each budget and each generation count, the seeded search (bundled predictor, latency table
and cost model) runs with seeds 0..N-1; the spread of the picks' predicted accuracy says how much
the end point depends on the seed, which is also how far a small change in the cost model can
move it. Predicted accuracy only: no subnet is evaluated. Sets the default generations
(``edgenas.search.run.PREDICTOR_GENERATIONS``). Writes bench/results/search_convergence.json.

    python bench/search_convergence.py [--generations 30,60,100] [--seeds 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402
from search_speed import BUDGETS  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search import Constraints, run_search  # noqa: E402
from edgenas.search.run import PREDICTOR_GENERATIONS  # noqa: E402
from edgenas.space import SpaceSpec  # noqa: E402
from edgenas.supernet import load_meta  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", default=f"30,60,{PREDICTOR_GENERATIONS}", help="comma-separated counts")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    board = get_board("mps2-an500")
    spec = SpaceSpec.from_dict(load_meta(bundled_supernet_dir())["space"])
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    table_path = default_latency_table(board)
    cost = CostModel(spec, board, LatencyTable.load(table_path) if table_path else None)
    rows = []
    for ram, flash in BUDGETS:
        constraints = Constraints.of(sram_bytes=ram, flash_bytes=flash)
        for generations in (int(g) for g in args.generations.split(",")):
            picks = [run_search(cost, predictor, constraints, seed=seed, generations=generations)
                     for seed in range(args.seeds)]
            predicted = [round(100 * p.fitness, 3) for p in picks]
            rows.append({"ram": ram, "flash": flash, "generations": generations, "predicted_points": predicted,
                         "spread_points": round(max(predicted) - min(predicted), 3),
                         "distinct_picks": len({str(p.arch) for p in picks}),
                         "evaluations": [p.evaluations for p in picks]})
            print(f"{ram // 1024} KB, {generations} generations: {predicted}", flush=True)
    summary = {f"{r['ram'] // 1024}k_g{r['generations']}": r["spread_points"] for r in rows}
    print(write_result("search_convergence", {"seeds": args.seeds, "default_generations": PREDICTOR_GENERATIONS,
                                              "rows": rows, "summary": summary}))


if __name__ == "__main__":
    main()
