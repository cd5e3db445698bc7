"""Does refining the predictor where the search looks give better picks? (`edgenas predictor refine`)

Refines the bundled predictor for the extract bench's four (RAM, flash) budgets on the emulated
Cortex-M7 (resumable: the refined folder keeps its rounds), then per budget compares the pick of
the bundled predictor with the refined one's: int8 host-build accuracy on all 10,000 test images,
paired (McNemar) on the same images. What the refine measured (per round: archs, the predictor's
error on them) is recorded beside it.

    python bench/predictor_refine.py [--out-dir runs/bench-refine] [--rounds 3] [--workers N]

Writes bench/results/predictor_refine.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import paired_comparison, write_result  # noqa: E402
from extract import BUDGETS, budget_tag, int8_test_correct  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.distributed import open_pool  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.refine import Budget, RefineConfig, refine_predictor  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search import Constraints, run_search  # noqa: E402
from edgenas.space import Arch  # noqa: E402
from edgenas.supernet import load_supernet, prepare_subnet  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=Path("runs/bench-refine"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--top", type=int, default=8)
    parser.add_argument("--neighbours", type=int, default=4)
    parser.add_argument("--corner", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="Ray workers measuring the refine's archs")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    board = get_board("mps2-an500")
    supernet_dir = bundled_supernet_dir()
    net, meta = load_supernet(supernet_dir)
    data = load_recorded_dataset(meta)
    table_path = default_latency_table(board)
    cost = CostModel(net.spec, board, LatencyTable.load(table_path) if table_path else None)
    budgets = [Budget(budget_tag(ram, flash), cost, Constraints.of(sram_bytes=ram, flash_bytes=flash))
               for ram, flash in BUDGETS]
    config = RefineConfig(rounds=args.rounds, top=args.top, neighbours=args.neighbours, corner=args.corner,
                          seed=args.seed)
    refined_dir = args.out_dir / "predictor"
    started = time.perf_counter()
    with open_pool(args.workers, None) as pool:
        rounds = refine_predictor(net, data, supernet_dir, PREDICTORS_DIR / "fashion-mnist", refined_dir, budgets,
                                  config, pool=pool, threads=args.threads,
                                  progress=lambda message: print(message, flush=True))
    refine_s = time.perf_counter() - started

    bundled, refined = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist"), AccuracyPredictor.load(refined_dir)
    rows, correct = [], {}
    for budget in budgets:
        row = {"budget": budget.name, **budget.constraints.as_dict()}
        for name, predictor in (("bundled", bundled), ("refined", refined)):
            arch = run_search(cost, predictor, budget.constraints, seed=args.seed).arch
            if arch not in correct:
                correct[arch] = int8_test_correct(prepare_subnet(net, arch, data), data, args.out_dir / "int8" / str(len(correct)))
            row[name] = {"arch": str(arch), "predicted_by_bundled": float(bundled([arch])[0]),
                         "predicted_by_refined": float(refined([arch])[0]), "int8_test_acc": float(correct[arch].mean())}
        row["refined_minus_bundled"] = paired_comparison(correct[Arch.parse(row["refined"]["arch"])],
                                                         correct[Arch.parse(row["bundled"]["arch"])])
        rows.append(row)
        print(row, flush=True)
    summary = {"budgets": len(rows), "picks_moved": sum(r["bundled"]["arch"] != r["refined"]["arch"] for r in rows),
               "mean_gain_points": round(100 * sum(r["refined"]["int8_test_acc"] - r["bundled"]["int8_test_acc"]
                                                   for r in rows) / len(rows), 3),
               "samples_measured": sum(r.measured for r in rounds), "refits": sum(not r.final for r in rounds),
               "held": rounds[-1].held, "refine_s": round(refine_s, 1)}  # refine_s: this run's part of a resumed refine
    print(write_result("predictor_refine", {"board": board.name, "config": asdict(config), "rounds": [asdict(r) for r in rounds],
                                            "rows": rows, "summary": summary, "torch_threads": args.threads,
                                            "workers": args.workers or 1}))


if __name__ == "__main__":
    main()
