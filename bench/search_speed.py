"""Wall time of the constrained evolutionary search alone (predictor + table + cost model).

Run it on an otherwise idle machine: the figure is CPU time-sensitive, unlike the instruction
counts of the other benchmarks. Two figures per budget: cold (a fresh CostModel and the cost
module's per-process caches cleared, as the first search in a new process pays) and warm (the same
search again in the same process and CostModel, as a rerun or a sweep of budgets pays).
Writes bench/results/search_speed.json.

    python bench/search_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.model import clear_process_caches  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search import Constraints, run_search  # noqa: E402
from edgenas.supernet import load_meta  # noqa: E402
from edgenas.space import SpaceSpec  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402

BUDGETS = ((32 * 1024, 128 * 1024), (64 * 1024, 256 * 1024), (128 * 1024, 512 * 1024), (256 * 1024, 1024 * 1024))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    board = get_board("mps2-an500")
    spec = SpaceSpec.from_dict(load_meta(bundled_supernet_dir())["space"])
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    table = LatencyTable.load(default_latency_table(board))
    rows = []
    for ram, flash in BUDGETS:
        limits = Constraints.of(sram_bytes=ram, flash_bytes=flash)
        cold, warm, archs = [], [], set()
        for _ in range(args.repeats):
            clear_process_caches()
            cost = CostModel(spec, board, table)
            for times in (cold, warm):  # the second run reuses every cache the first filled
                started = time.perf_counter()
                result = run_search(cost, predictor, limits, seed=args.seed)
                times.append(time.perf_counter() - started)
                archs.add(str(result.arch))
        assert len(archs) == 1, "the seeded search must repeat exactly"
        rows.append({"ram": ram, "flash": flash, "arch": archs.pop(), "cold_s": cold, "warm_s": warm,
                     "cold_s_median": statistics.median(cold), "warm_s_median": statistics.median(warm),
                     "evaluations": result.evaluations})
        print(rows[-1], flush=True)
    summary = {kind: {f"{r['ram'] // 1024}K/{r['flash'] // 1024}K": r[f"{kind}_s_median"] for r in rows}
               for kind in ("cold", "warm")}
    print(write_result("search_speed", {"board": board.name, "repeats": args.repeats, "rows": rows, "summary": summary}))

if __name__ == "__main__":
    main()
