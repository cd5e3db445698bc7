"""Hardware-aware DARTS on Fashion-MNIST from the bundled supernet, at two latency weights.

For each lambda: first-order DARTS over the elastic space (fixed resolution and width), from the
bundled supernet's weights, with the expected latency taken from the bundled emulated Cortex-M7
table (mps2-an500, instructions). Reports the derived arch, its table latency, its predicted
accuracy (bundled predictor), memory (cost model), and how many of a random sample at the same
resolution/width dominate it. Then a tiny search over the DARTS cell space, with its
skip-connection collapse report. Small subsets and few steps: CPU minutes, not hours.
Writes bench/results/darts.json.

    nice -n 10 python bench/darts.py [--lambdas 0.1 1.0] [--epochs 8] [--steps 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.data import load_fashion_mnist  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search.darts import CellSearchConfig, DartsConfig, run_cell_darts, run_darts  # noqa: E402
from edgenas.space import Arch, sample_arch  # noqa: E402
from edgenas.supernet import load_supernet  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.1, 1.0])
    parser.add_argument("--resolution", type=int, default=28)
    parser.add_argument("--width", type=float, default=0.75)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--val-images", type=int, default=2000)
    parser.add_argument("--cell-epochs", type=int, default=4)
    parser.add_argument("--cell-steps", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    board = get_board("mps2-an500")
    table_path = default_latency_table(board)
    table = LatencyTable.load(table_path)
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    data = load_fashion_mnist(seed=args.seed)
    cost = CostModel(table.spec, board, table)

    rng = np.random.default_rng(args.seed)
    pool = list({Arch(args.resolution, args.width, sample_arch(table.spec, rng).stages) for _ in range(300)})
    pool_acc = predictor(pool)
    pool_lat = np.array([table.predict(a) for a in pool])

    runs = []
    for lam in args.lambdas:
        net, _ = load_supernet(bundled_supernet_dir())  # a fresh copy: the search trains it in place
        config = DartsConfig(resolution=args.resolution, width=args.width, latency_weight=lam, epochs=args.epochs,
                             steps_per_epoch=args.steps, batch_size=args.batch_size, train_images=args.train_images,
                             val_images=args.val_images, threads=1)
        cpu0 = time.process_time()
        result = run_darts(net, data, table, config, seed=args.seed)
        cpu_s = time.process_time() - cpu0
        acc = float(predictor([result.arch])[0])
        m = cost.metrics(result.arch)
        dominated_by = int(np.sum((pool_acc >= acc) & (pool_lat <= result.latency)))
        runs.append({
            "latency_weight": lam,
            "arch": str(result.arch),
            "latency_instructions": result.latency,
            "predicted_accuracy": acc,
            "sram_bytes": m.sram_bytes,
            "flash_bytes": m.flash_bytes,
            "macs": m.macs,
            "expected_latency_instructions": result.expected_latency,
            "derived_per_epoch": result.derived,
            "losses": result.losses,
            "final_logits": result.logits[-1],
            "random_pool_dominating": dominated_by,
            "wall_s": round(result.wall_s, 2),
            "cpu_s": round(cpu_s, 2),
        })

    cell_cfg = CellSearchConfig(channels=8, layers=5, nodes=4, epochs=args.cell_epochs, steps_per_epoch=args.cell_steps,
                                batch_size=32, train_images=args.train_images, val_images=args.val_images, threads=1)
    cpu0 = time.process_time()
    cell = run_cell_darts(data, cell_cfg, seed=args.seed)
    cell_cpu_s = time.process_time() - cpu0

    path = write_result("darts", {
        "dataset": "fashion-mnist",
        "supernet": str(bundled_supernet_dir()),
        "latency_table": str(table_path),
        "board": board.name,
        "unit": table.unit,
        "order": "first (xi = 0)",
        "latency_loss": "lambda * log(E[lat] / E[lat] at start)",
        "resolution": args.resolution,
        "width": args.width,
        "epochs": args.epochs,
        "steps_per_epoch": args.steps,
        "batch_size": args.batch_size,
        "train_images": args.train_images,
        "val_images": args.val_images,
        "seed": args.seed,
        "random_pool": {"archs": len(pool), "predicted_accuracy_max": float(pool_acc.max()),
                        "predicted_accuracy_mean": float(pool_acc.mean()),
                        "latency_instructions_min": float(pool_lat.min()),
                        "latency_instructions_max": float(pool_lat.max())},
        "runs": runs,
        "cell_search": {**cell.to_dict(), "cpu_s": round(cell_cpu_s, 2)},
    })
    print(path)


if __name__ == "__main__":
    main()
