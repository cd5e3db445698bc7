"""Wall time of the constrained evolutionary search alone (predictor + table + cost model).

Run it on an otherwise idle machine: the figure is CPU time-sensitive, unlike the instruction
counts of the other benchmarks. Writes bench/results/search_speed.json.

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
        times, arch = [], None
        for _ in range(args.repeats):
            cost = CostModel(spec, board, table)  # fresh caches: every repeat pays the full price
            started = time.perf_counter()
            result = run_search(cost, predictor, Constraints.of(sram_bytes=ram, flash_bytes=flash), seed=args.seed)
            times.append(time.perf_counter() - started)
            assert arch in (None, str(result.arch)), "the seeded search must repeat exactly"
            arch = str(result.arch)
        rows.append({"ram": ram, "flash": flash, "arch": arch, "search_s": times,
                     "search_s_median": statistics.median(times), "evaluations": result.evaluations})
        print(rows[-1], flush=True)
    print(write_result("search_speed", {"board": board.name, "rows": rows,
                                        "summary": {f"{r['ram'] // 1024}K/{r['flash'] // 1024}K": r["search_s_median"] for r in rows}}))


if __name__ == "__main__":
    main()
