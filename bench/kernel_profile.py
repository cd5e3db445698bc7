"""Per-layer instructions of the MLPerf Tiny models on the emulated Cortex-M7 (QEMU mps2-an500).

A development tool for the kernels in ``runtime_c/``: compiles each model with the deploy
compiler, builds firmware for ``mps2-an500``, runs one inference in QEMU (``-icount shift=0``,
so counts are instructions) and prints the per-layer counts, the layers' share of the total and
the code size (flash without weights). The output is checked against TFLite Micro's host
interpreter, so a faster kernel that changed a result is caught here too.

    .venv/bin/python bench/kernel_profile.py [--model kws|resnet8] [--opt -O2] [--json PATH]

The input is the issue's fixed one: byte i = (i * 37) mod 256 as int8, NHWC.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgenas.boards import get_board
from edgenas.deploy.compile import compile_graph
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.deploy.tflm import run_tflm
from edgenas.targets.cortex_m import build_firmware, driver, elf_memory

MODELS = {
    "kws": Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite"),
    "resnet8": Path("/work/shared/models/mlperf-tiny/ic_resnet8_int8.tflite"),
}
TFLM_CMSIS_NN_INSTRUCTIONS = {"kws": 7.64e6, "resnet8": 30.02e6}
BOARD = "mps2-an500"


def fixed_input(nbytes: int) -> bytes:
    """The issue's benchmark input: byte i = (i * 37) mod 256, read as int8."""
    return ((np.arange(nbytes, dtype=np.int64) * 37) % 256).astype(np.uint8).tobytes()


def profile(name: str, opt: str = "-O2") -> dict:
    """Compile, build, run ``name`` once; per-layer instructions and sizes as a dict."""
    path = MODELS[name]
    graph = read_tflite(path)
    with tempfile.TemporaryDirectory(prefix=f"kprof-{name}-") as tmp:
        res = compile_graph(graph, Path(tmp) / "src")
        fw = build_firmware(Path(tmp) / "src", get_board(BOARD), Path(tmp) / "fw", opt=opt)
        mem = elf_memory(fw.elf)
        x = fixed_input(graph.tensor(graph.inputs[0]).nbytes)
        (m,) = driver.run(fw, [x])
    shape = graph.tensor(graph.inputs[0]).shape
    want = run_tflm(path.read_bytes(), np.frombuffer(x, np.int8).reshape(1, *shape[1:])).reshape(-1)
    got = np.frombuffer(m.output, np.int8)
    layers = []
    for rec, count in zip(res.layers, m.per_layer):
        op = next((o for o in graph.ops if o.name == rec["op"]), None)
        shape_txt = ""
        if op is not None and op.kind in ("conv2d", "depthwise_conv2d"):
            w = graph.tensor(op.inputs[1]).shape
            y = graph.tensor(op.outputs[0]).shape
            shape_txt = f"k{w[1]}x{w[2]} s{op.attrs['stride_h']} {tuple(graph.tensor(op.inputs[0]).shape[1:])}->{tuple(y[1:])}"
        layers.append({"index": rec["index"], "kind": rec["kind"] + ("+add" if rec["fused_add"] else ""),
                       "shape": shape_txt, "instructions": int(count)})
    return {
        "model": name,
        "opt": opt,
        "bit_exact_vs_tflm": bool(np.array_equal(got, want)),
        "instructions": int(m.total_count),
        "tflm_cmsis_nn_instructions": TFLM_CMSIS_NN_INSTRUCTIONS[name],
        "ratio_vs_tflm": m.total_count / TFLM_CMSIS_NN_INSTRUCTIONS[name],
        "code_bytes": int(mem["flash_bytes"] - mem["weights_bytes"]),
        "flash_bytes": int(mem["flash_bytes"]),
        "weights_bytes": int(mem["weights_bytes"]),
        "arena_bytes": int(mem["arena_bytes"]),
        "stack_bytes": int(m.stack_bytes),
        "layers": layers,
    }


def render(r: dict) -> str:
    lines = [f"{r['model']} ({r['opt']}): {r['instructions']:,} instructions "
             f"({r['ratio_vs_tflm']:.3f} x TFLM+CMSIS-NN), code {r['code_bytes']:,} B, "
             f"arena {r['arena_bytes']:,} B, bit-exact vs TFLM: {r['bit_exact_vs_tflm']}"]
    for layer in r["layers"]:
        share = 100.0 * layer["instructions"] / r["instructions"]
        lines.append(f"  {layer['index']:3d} {layer['kind']:22s} {layer['shape']:34s} "
                     f"{layer['instructions']:>12,} {share:5.1f}%")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=sorted(MODELS), action="append")
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    results = [profile(n, args.opt) for n in (args.model or list(MODELS))]
    for r in results:
        print(render(r))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0 if all(r["bit_exact_vs_tflm"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
