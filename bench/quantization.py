"""What int8 post-training quantization costs the bundled supernet's subnets, with weights rounded
to nearest and adaptively (``quantize_subnet(adaptive_rounding=...)``, :mod:`edgenas.deploy.rounding`).

For random subnets of the bundled supernet (BN recalibrated, as extract prepares them): float test
accuracy, then int8 test accuracy of the host build of each quantized graph (the same C runtime
as the firmware, bit-exact with it), on the whole Fashion-MNIST test split. Per subnet the paired
comparison adaptive vs nearest; summary: mean int8 - float per rounding, mean and median gain,
how many subnets gain, and the quantization seconds.

    .venv/bin/python bench/quantization.py [--subnets 12] [--seed 0] [--threads 1]

Writes bench/results/quantization.json.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import paired_comparison, write_result  # noqa: E402

from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.deploy import build_host, compile_graph, quantize_images, quantize_subnet  # noqa: E402
from edgenas.space import sample_arch  # noqa: E402
from edgenas.supernet import accuracy, load_supernet, prepare_subnet, trained_epochs  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402

ROUNDINGS = {"nearest": False, "adaptive": True}


def int8_correct(graph, resolution: int, test, work: Path) -> np.ndarray:  # noqa: ANN001
    """Which test images the host build of ``graph`` classifies right."""
    x = quantize_images(test.x, resolution)
    return build_host(compile_graph(graph, work).out_dir).run(x).argmax(1) == test.y


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subnets", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    net, meta = load_supernet(bundled_supernet_dir())
    data = load_recorded_dataset(meta)
    rng = np.random.default_rng(args.seed)
    rows = []
    for i in range(args.subnets):
        arch = sample_arch(net.spec, rng)
        sub = prepare_subnet(net, arch, data)
        row: dict = {"arch": str(arch), "float_test_acc": accuracy(sub, data.test, arch.resolution)}
        correct = {}
        for name, adaptive in ROUNDINGS.items():
            start = time.perf_counter()
            graph = quantize_subnet(sub, data.train, adaptive_rounding=adaptive)
            seconds = time.perf_counter() - start
            with tempfile.TemporaryDirectory() as work:
                correct[name] = int8_correct(graph, arch.resolution, data.test, Path(work))
            row[name] = {"int8_test_acc": float(correct[name].mean()), "quantize_s": round(seconds, 2)}
        row["adaptive_minus_nearest"] = paired_comparison(correct["adaptive"], correct["nearest"])
        rows.append(row)
        print(f"[{i + 1}/{args.subnets}] {arch}: float {row['float_test_acc']:.4f} "
              + " ".join(f"{n} {row[n]['int8_test_acc']:.4f} ({row[n]['quantize_s']} s)" for n in ROUNDINGS), flush=True)
    loss = {n: np.array([100 * (r[n]["int8_test_acc"] - r["float_test_acc"]) for r in rows]) for n in ROUNDINGS}
    gain = loss["adaptive"] - loss["nearest"]
    summary = {
        "subnets": len(rows),
        **{f"{n}_mean_int8_minus_float_points": round(float(loss[n].mean()), 3) for n in ROUNDINGS},
        **{f"{n}_worst_int8_minus_float_points": round(float(loss[n].min()), 3) for n in ROUNDINGS},
        "adaptive_gain_mean_points": round(float(gain.mean()), 3),
        "adaptive_gain_median_points": round(float(np.median(gain)), 3),
        "subnets_gaining": int((gain > 0).sum()), "subnets_losing": int((gain < 0).sum()),
        **{f"{n}_quantize_s_max": max(r[n]["quantize_s"] for r in rows) for n in ROUNDINGS},
    }
    out = write_result("quantization", {
        "supernet_epochs": trained_epochs(meta), "seed": args.seed, "torch_threads": args.threads,
        "note": "int8 = host build of the compiled graph (bit-exact with the firmware) on the 10,000 test images; "
                "calibration: the first 512 training images (ranges, and the patch moments adaptive rounding uses)",
        "rows": rows, "summary": summary})
    print(summary)
    print(out)
    return out


if __name__ == "__main__":
    main()
