"""Our compiled MLPerf Tiny models on the emulated Cortex-M7 beside TFLite Micro + CMSIS-NN.

Writes ``bench/results/mcu_vs_tflm.json`` and prints its path. Re-run after any kernel or
compiler change: ``.venv/bin/python bench/mcu_vs_tflm.py`` (about a minute).

For ResNet-8 and DS-CNN (KWS), each model is compiled with ``compile_model``, built for
``mps2-an500`` (Cortex-M7, QEMU ``-icount shift=0``) and run on one input, byte ``i`` =
``(i * 37) mod 256`` as int8 in NHWC order. Measured here: instructions per inference and per
layer (emulated instructions, never milliseconds), the arena (planned and linked), the stack high
water mark, flash split into model weights and code. The output is checked bit-exact against
TFLite Micro's host interpreter on the same input. Each is also built for ``mps3-an547``
(Cortex-M55 with the Helium kernels) and run on the same input: ``summary.m55``.

``summary.sweep`` covers shapes the MLPerf models lack: three synthetic models of our own
(``bench/sweep_models.py``: strided and VALID depthwise, K×1 depthwise, a dense-only autoencoder
with an 8-wide bottleneck) are written to ``.tflite``, compiled the same way, run on the M7 and
the M55 and checked against TFLite Micro; per layer the instructions per MAC are kept, and the
summary gives the worst on the M7 per kind of layer issue 19 names (square depthwise with >= 16
channels at stride 1 and at stride 2, K×1 depthwise, fully connected with >= 64 inputs).
``bench/kernel_sweep.py`` sweeps the same kernels over a grid of shapes.

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
from sweep_models import SWEEP_MODELS  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.deploy.pipeline import compile_model, ramp_input, run_artifact  # noqa: E402
from edgenas.deploy.tflite_reader import read_tflite  # noqa: E402
from edgenas.deploy.tflite_writer import write_tflite  # noqa: E402
from edgenas.deploy.tflm import run_tflm  # noqa: E402
from edgenas.report import compiled_macs  # noqa: E402
from edgenas.paths import REPO_ROOT  # noqa: E402

MODELS = {
    "resnet8": Path("/work/shared/models/mlperf-tiny/ic_resnet8_int8.tflite"),
    "kws": Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite"),
}
BOARD = "mps2-an500"
M55_BOARD = "mps3-an547"
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
    m55 = _run_on(art_dir, M55_BOARD, x, want)
    ref = EXTERNAL_REFERENCE[name]
    return {
        "model": str(path),
        "input": "byte i = (i * 37) mod 256 as int8, NHWC",
        "input_shape": list(art.input_shape),
        "planned_arena": art.arena_bytes,
        "lower_bound": art.lower_bound_bytes,
        "main_opt": MAIN_OPT,
        "variants": variants,
        "m55": {"board": M55_BOARD, "opt": MAIN_OPT, **m55},
        "vs_reference": {
            "instructions_ratio": round(main["instructions"] / ref["instructions"], 4),
            "arena_ratio": round(main["arena"] / ref["arena"], 4),
            "flash_ratio": round(main["flash"] / ref["flash"], 4),
            "meets_instructions_target": main["instructions"] <= TARGETS["instructions_ratio_max"] * ref["instructions"],
            "meets_arena_target": main["arena"] <= TARGETS["arena_ratio_max"] * ref["arena"],
            "meets_code_target": main["code_bytes"] <= TARGETS["code_bytes_max"],
        },
    }


def _run_on(art_dir: Path, board_name: str, x: np.ndarray, want: np.ndarray) -> dict:
    """Instructions (total and per layer) of one run at MAIN_OPT on ``board_name``, checked."""
    m = run_artifact(art_dir, get_board(board_name), x, opt=MAIN_OPT).measurements[0]
    return {"instructions": m.total_count, "per_layer": [int(c) for c in m.per_layer],
            "bit_exact_with_tflm": bool(np.array_equal(np.frombuffer(m.output, np.int8), want))}


def sweep_kind(graph, op) -> str | None:  # noqa: ANN001 (Graph, Op)
    """The issue-19 class of a layer (dw_s1, dw_s2, dw_kx1, fc), or None outside them."""
    if op.kind == "fully_connected":
        return "fc" if graph.tensor(op.inputs[1]).shape[1] >= 64 else None
    if op.kind != "depthwise_conv2d":
        return None
    _, kh, kw, channels = graph.tensor(op.inputs[1]).shape
    if kh > 1 and kw == 1 or kh == 1 and kw > 1:
        return "dw_kx1"
    if kh == kw and channels >= 16 and op.attrs["stride_h"] == op.attrs["stride_w"] in (1, 2):
        return f"dw_s{op.attrs['stride_h']}"
    return None


def measure_sweep(name: str, work: Path) -> dict:
    """One synthetic model: write, compile, run on the M7 and the M55; per-layer instructions per MAC."""
    graph = SWEEP_MODELS[name]()
    path = work / f"{name}.tflite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write_tflite(graph))
    art = compile_model(path, work / name)
    x = ramp_input(art.input_shape)
    want = run_tflm(path.read_bytes(), x).reshape(-1)
    runs = {"m7": _run_on(work / name, BOARD, x, want), "m55": _run_on(work / name, M55_BOARD, x, want)}
    imported = read_tflite(path)
    layers = []
    work = compiled_macs(imported)
    for lay in art.layers:
        op = next(o for o in imported.ops if o.name == lay["op"])
        macs = work[op.name]
        row = {"op": lay["op"], "kind": op.kind, "sweep": sweep_kind(imported, op), "macs": macs,
               "weights_shape": list(imported.tensor(op.inputs[1]).shape) if len(op.inputs) > 1 else None,
               "stride": [op.attrs.get("stride_h"), op.attrs.get("stride_w")] if "stride_h" in op.attrs else None,
               "padding": op.attrs.get("padding"), "output_shape": list(imported.tensor(op.outputs[0]).shape)}
        for label, run in runs.items():
            count = run["per_layer"][lay["index"]]
            row[f"{label}_instructions"] = count
            row[f"{label}_per_mac"] = round(count / macs, 3) if macs else None
        layers.append(row)
    return {"tflite_bytes": path.stat().st_size, "input": "byte i = (i * 37) mod 256 as int8",
            **{label: {k: v for k, v in run.items() if k != "per_layer"} for label, run in runs.items()},
            "layers": layers}


def sweep_summary(models: dict[str, dict]) -> dict:
    """Worst M7 instructions per MAC per issue-19 class over the synthetic models' layers."""
    worst: dict[str, dict] = {}
    for name, model in models.items():
        for lay in model["layers"]:
            k = lay["sweep"]
            if k and (k not in worst or lay["m7_per_mac"] > worst[k]["per_mac"]):
                worst[k] = {"per_mac": lay["m7_per_mac"], "model": name, "op": lay["op"]}
    return {k: worst[k]["per_mac"] for k in sorted(worst)}, worst


def main() -> Path:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, default=REPO_ROOT / "build" / "bench" / "mcu_vs_tflm",
                        help="where the compiled artifacts and firmware go")
    args = parser.parse_args()
    board = get_board(BOARD)
    details = {name: measure(name, path, args.work) for name, path in MODELS.items()}
    sweep_models = {name: measure_sweep(name, args.work / "sweep") for name in SWEEP_MODELS}
    sweep, sweep_where = sweep_summary(sweep_models)
    summary = {
        **{name: {k: d["variants"][MAIN_OPT][k] for k in ("instructions", "arena", "code_bytes", "flash")}
           for name, d in details.items()},
        "m55": {name: d["m55"]["instructions"] for name, d in details.items()},
        "sweep": sweep,
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
                "weights (runtime kernels, harness, kit, startup); flash = whole image; m55 = instructions of the same "
                "models built for mps3-an547 (Helium kernels); sweep = worst M7 instructions per MAC per layer "
                "class over the synthetic sweep models (sweep_worst_layers says where). external_reference: "
                "quoted TFLite Micro + CMSIS-NN figures, not our measurements",
        "summary": summary,
        "external_reference": EXTERNAL_REFERENCE,
        "targets": TARGETS,
        "details": details,
        "sweep_worst_layers": sweep_where,
        "sweep_models": sweep_models,
    }
    path = write_result("mcu_vs_tflm", record)
    print(path)
    return path


if __name__ == "__main__":
    main()
