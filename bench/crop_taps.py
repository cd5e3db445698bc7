"""Weight bytes the compiler saves by dropping kernel taps that only read padding (``crop_taps``).

For random subnets of a space at every resolution, generates the C model twice from the same
deployed graph: as is, and with ``crop_dead_taps`` (what ``compile_graph`` does), and compares
the weight arrays codegen emits (``EN_MODEL_FLASH_BYTES``). Writes ``bench/results/crop_taps.json``.

    .venv/bin/python bench/crop_taps.py [--space mcu-mbv2] [--subnets 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.deploy import structure_graph  # noqa: E402
from edgenas.deploy.codegen import generate  # noqa: E402
from edgenas.deploy.crop_taps import crop_dead_taps  # noqa: E402
from edgenas.deploy.plan import plan_memory  # noqa: E402
from edgenas.space import get_space, sample_arch  # noqa: E402


def weight_bytes(graph) -> int:  # noqa: ANN001 (Graph)
    return generate(graph, plan_memory(graph)).flash_bytes


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", default="mcu-mbv2")
    parser.add_argument("--subnets", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    spec = get_space(args.space)
    rng = np.random.default_rng(args.seed)
    archs = [sample_arch(spec, rng) for _ in range(args.subnets)]
    summary = {}
    for r in spec.resolutions:
        saved = []
        for arch in archs:
            graph = structure_graph(spec, replace(arch, resolution=r))
            whole, cropped = weight_bytes(graph), weight_bytes(crop_dead_taps(graph))
            saved.append((whole - cropped, whole))
        d = np.array(saved, dtype=np.float64)
        summary[str(r)] = {"mean_saved_bytes": round(float(d[:, 0].mean())), "max_saved_bytes": int(d[:, 0].max()),
                           "mean_saved_fraction": round(float((d[:, 0] / d[:, 1]).mean()), 4),
                           "subnets_with_savings": int((d[:, 0] > 0).sum())}
        print(r, summary[str(r)])
    out = write_result("crop_taps", {"space": args.space, "subnets": args.subnets, "seed": args.seed,
                                     "note": "weight bytes codegen emits (EN_MODEL_FLASH_BYTES) per subnet at each "
                                             "resolution, with and without crop_dead_taps; same random subnets "
                                             "at every resolution",
                                     "summary": summary})
    print(out)
    return out


if __name__ == "__main__":
    main()
