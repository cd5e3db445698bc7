"""Arena of our compiler vs its lower bound vs TFLite Micro, on the MLPerf Tiny int8 models.

Writes ``bench/results/compiler_memory.json`` and prints its path. Byte counts only:

- ``arena``: our planned (and generated: ``EN_ARENA_BYTES``) arena, default rewrites;
- ``lower_bound``: max over steps of bytes live at once given the same rewrites;
- ``tflm_arena``: TFLite Micro's arena total from the host interpreter (x86-64 build: its
  tail of pointer-sized structs is larger than on a 32-bit Cortex-M; ``tflm_head`` is the
  tensor part). For reference, quoted and not measured here: TFLM + CMSIS-NN on an emulated
  Cortex-M7 uses 54,996 B (ResNet-8) and 22,820 B (DS-CNN).

``modes`` repeats the plan with the rewrites switched off one by one, to show what each buys.

    .venv/bin/python bench/compiler_memory.py                  # writes bench/results/compiler_memory.json
    .venv/bin/python bench/compiler_memory.py --json /tmp/m.json  # anywhere else, no history entry
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.deploy.fuse import lower  # noqa: E402
from edgenas.deploy.plan import plan_memory  # noqa: E402
from edgenas.deploy.tflite_reader import read_tflite  # noqa: E402
from edgenas.deploy.tflm import tflm_arena_report  # noqa: E402

MODELS = {
    "resnet8": Path("/work/shared/models/mlperf-tiny/ic_resnet8_int8.tflite"),
    "kws": Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite"),
}
TFLM_CORTEX_M7_CMSIS_NN = {"resnet8": 54996, "kws": 22820}


def measure(name: str, path: Path) -> dict:
    graph = read_tflite(path)
    plan = plan_memory(graph)
    tflm = tflm_arena_report(path.read_bytes())
    modes = {}
    for label, kw in {
        "default": {},
        "no_kxk_add_fusion": {"fuse_add": "pointwise"},
        "no_add_fusion": {"fuse_add": "none"},
        "no_fusion_no_in_place": {"fuse_add": "none", "in_place": False},
    }.items():
        p = plan_memory(graph, schedule=lower(graph, **kw))
        modes[label] = {"arena": p.arena_bytes, "lower_bound": p.lower_bound_bytes}
    return {
        "arena": plan.arena_bytes,
        "lower_bound": plan.lower_bound_bytes,
        "tflm_arena": tflm.total_bytes,
        "tflm_head": tflm.head_bytes,
        "tflm_tail": tflm.tail_bytes,
        "tflm_cortex_m7_cmsis_nn": TFLM_CORTEX_M7_CMSIS_NN[name],
        "arena_over_lower_bound": round(plan.arena_bytes / plan.lower_bound_bytes, 4),
        "arena_over_tflm": round(plan.arena_bytes / tflm.total_bytes, 4),
        "heuristic": plan.heuristic,
        "decisions": plan.decisions,
        "modes": modes,
    }


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write here instead of bench/results/compiler_memory.json")
    args = parser.parse_args(argv)
    details = {name: measure(name, path) for name, path in MODELS.items()}
    record = {
        "note": "bytes; tflm_arena is TFLite Micro's host (64-bit) arena total, measured here; "
                "tflm_cortex_m7_cmsis_nn is quoted (issue 4: TFLite Micro + CMSIS-NN on the emulated Cortex-M7), "
                "not measured by this script",
        "summary": {n: {k: d[k] for k in ("arena", "lower_bound", "tflm_arena")} for n, d in details.items()},
        "details": details,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        out = args.json
    else:
        out = write_result("compiler_memory", record)
    print(out)
    return out


if __name__ == "__main__":
    main()
