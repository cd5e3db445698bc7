"""Our compiled MLPerf Tiny models on the emulated Cortex-M7 beside TFLite Micro + CMSIS-NN.

Writes ``bench/results/mcu_vs_tflm.json`` and prints its path. Re-run after any kernel or
compiler change: ``.venv/bin/python bench/mcu_vs_tflm.py`` (about a minute).

For ResNet-8 and DS-CNN (KWS), each model is compiled with ``compile_model``, built for
``mps2-an500`` (Cortex-M7, QEMU ``-icount shift=0``) and run on one input, byte ``i`` =
``(i * 37) mod 256`` as int8 in NHWC order. Measured here: instructions per inference and per
layer (emulated instructions, never milliseconds), the arena (planned and linked), the stack high
water mark, flash split into model weights and code. The output is checked bit-exact against
TFLite Micro's host interpreter on the same input.

``external_reference`` holds TFLite Micro + CMSIS-NN figures for the same emulated Cortex-M7 and
input, quoted from issue 4: they were not measured by this script.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.deploy.pipeline import compile_model, ramp_input, run_artifact  # noqa: E402
from edgenas.deploy.tflm import run_tflm  # noqa: E402
from edgenas.paths import REPO_ROOT  # noqa: E402

MODELS = {
    "resnet8": Path("/work/shared/models/mlperf-tiny/ic_resnet8_int8.tflite"),
    "kws": Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite"),
}
BOARD = "mps2-an500"
OPTS = ("-O2", "-Os")
MAIN_OPT = "-O2"

# Quoted from issue 4 ("TFLite Micro + CMSIS-NN built for the same emulated Cortex-M7"), not measured here.
EXTERNAL_REFERENCE = {
    "source": "issue 4: TFLite Micro + CMSIS-NN built for the emulated Cortex-M7 (mps2-an500), same input; "
              "quoted figures, not measured by this script",
    "resnet8": {"instructions": 30_020_000, "arena": 54_996, "flash": 197_328, "model_bytes": 98_496},
    "kws": {"instructions": 7_640_000, "arena": 22_820, "flash": 152_768, "model_bytes": 53_936},
}
TARGETS = {"instructions_ratio_max": 0.6, "arena_ratio_max": 0.6, "code_bytes_max": 25 * 1024}


def _cmd_output(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def measure(name: str, path: Path, work: Path) -> dict:
    """Compile, build and run one model at each optimisation level; check it against TFLM."""
    board = get_board(BOARD)
    art_dir = work / name
    art = compile_model(path, art_dir)
    x = ramp_input(art.input_shape)
    want = run_tflm(path.read_bytes(), x).reshape(-1)
    variants = {}
    for opt in OPTS:
        report = run_artifact(art_dir, board, x, opt=opt)
        m, mem = report.measurements[0], report.build.memory
        got = np.frombuffer(m.output, np.int8)
        variants[opt] = {
            "instructions": m.total_count,
            "instructions_in_layers": sum(m.per_layer),
            "per_layer_instructions": [
                {"index": lay["index"], "kind": lay["kind"], "op": lay["op"], "fused_add": lay.get("fused_add"),
                 "instructions": m.per_layer[lay["index"]]}
                for lay in art.layers
            ],
            "arena": mem["arena_bytes"],
            "stack": m.stack_bytes,
            "flash": mem["flash_bytes"],
            "weights_bytes": mem["weights_bytes"],
            "code_bytes": mem["code_bytes"],
            "text_bytes": mem["text_bytes"],
            "ram_bytes": mem["ram_bytes"],
            "stack_reserve_bytes": mem["stack_reserve_bytes"],
            "output": got.tolist(),
            "bit_exact_with_tflm": bool(np.array_equal(got, want)),
        }
    main = variants[MAIN_OPT]
    ref = EXTERNAL_REFERENCE[name]
    return {
        "model": str(path),
        "input": "byte i = (i * 37) mod 256 as int8, NHWC",
        "input_shape": list(art.input_shape),
        "planned_arena": art.arena_bytes,
        "lower_bound": art.lower_bound_bytes,
        "main_opt": MAIN_OPT,
        "variants": variants,
        "vs_reference": {
            "instructions_ratio": round(main["instructions"] / ref["instructions"], 4),
            "arena_ratio": round(main["arena"] / ref["arena"], 4),
            "flash_ratio": round(main["flash"] / ref["flash"], 4),
            "meets_instructions_target": main["instructions"] <= TARGETS["instructions_ratio_max"] * ref["instructions"],
            "meets_arena_target": main["arena"] <= TARGETS["arena_ratio_max"] * ref["arena"],
            "meets_code_target": main["code_bytes"] <= TARGETS["code_bytes_max"],
        },
    }


def main() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "bench" / "mcu_vs_tflm",
                        help="where the compiled artifacts and firmware go")
    args = parser.parse_args()
    board = get_board(BOARD)
    details = {name: measure(name, path, args.work) for name, path in MODELS.items()}
    summary = {
        name: {k: d["variants"][MAIN_OPT][k] for k in ("instructions", "arena", "code_bytes", "flash")}
        for name, d in details.items()
    }
    record = {
        "board": BOARD,
        "core": board.core,
        "cflags": list(board.cflags),
        "opt": MAIN_OPT,
        "toolchain": _cmd_output(["arm-none-eabi-gcc", "--version"]).splitlines()[0:1],
        "qemu": _cmd_output(["qemu-system-arm", "--version"]).splitlines()[0:1],
        "unit": "instructions (QEMU -icount shift=0; SysTick resolution 40 instructions)",
        "note": "summary: ours at -O2; arena = en_arena bytes (planned == linked); code_bytes = flash - model "
                "weights (runtime kernels, harness, kit, startup); flash = whole image. external_reference: "
                "quoted TFLite Micro + CMSIS-NN figures, not our measurements",
        "summary": summary,
        "external_reference": EXTERNAL_REFERENCE,
        "targets": TARGETS,
        "details": details,
    }
    path = write_result("mcu_vs_tflm", record)
    print(path)
    return path


if __name__ == "__main__":
    main()
