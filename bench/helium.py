"""Helium (MVE) kernels on the emulated Cortex-M55: instructions per inference, before and after.

Models: ResNet-8 and DS-CNN (KWS) from MLPerf Tiny (``../shared/models/mlperf-tiny/``), and an
edgenas subnet extracted from the bundled supernet (``edgenas subnet``, then ``compile_model`` with
its Fashion-MNIST calibration). Each model is compiled once and built three ways:

- ``m7``: ``mps2-an500`` (Cortex-M7, the ARMv7E-M DSP kernels of ``runtime_c/src/arm``);
- ``m55_dsp``: ``mps3-an547`` with its ``mve`` feature switched off, i.e. the same DSP kernels on
  the Cortex-M55 (what this board ran before ``runtime_c/src/mve`` existed);
- ``m55_helium``: ``mps3-an547`` as shipped, with the Helium kernels of ``runtime_c/src/mve``.

Each build runs one input (the ``(i * 37) mod 256`` ramp) in QEMU (``-icount shift=0``; counts are
emulated instructions, SysTick resolution, never time), and every output must equal the int8
reference interpreter's (TFLite Micro semantics). Per layer the instructions and instructions per
MAC are kept; the summary gives each model's totals, the Helium speed-up over the DSP kernels on
the same core, the M7-to-M55 ratio (issue 19 asks for >= 2.5) and, per layer kind, instructions
per MAC of the three builds.

    .venv/bin/python bench/helium.py                 # writes bench/results/helium.json
    .venv/bin/python bench/helium.py --models kws --json /tmp/h.json

About three minutes on 2 busy cores (nine firmware builds and QEMU runs, one subnet extraction).
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402

from edgenas.boards import Board, get_board  # noqa: E402
from edgenas.deploy import read_tflite, run_reference  # noqa: E402
from edgenas.deploy.pipeline import Artifact, compile_model, ramp_input  # noqa: E402
from edgenas.paths import REPO_ROOT  # noqa: E402
from edgenas.report import compiled_macs  # noqa: E402
from edgenas.targets.cortex_m import build_firmware, driver  # noqa: E402

MLPERF = Path("/work/shared/models/mlperf-tiny")
TFLITE_MODELS = {"resnet8": MLPERF / "ic_resnet8_int8.tflite", "kws": MLPERF / "kws_dscnn_int8.tflite"}
# A subnet of the bundled supernet with every kernel size, expand ratios 3-6 and residual adds.
SUBNET_ARCH = "r32|w1|k7e3,k3e3|k3e3,k3e3|k3e3,k5e3,k3e3,k3e6|k3e4,k3e3"
MODELS = (*TFLITE_MODELS, "subnet")
TARGET_M7_RATIO = 2.5


def builds() -> dict[str, Board]:
    """The three builds by label (see the module docstring)."""
    m55 = get_board("mps3-an547")
    return {"m7": get_board("mps2-an500"), "m55_dsp": dataclasses.replace(m55, mve=False), "m55_helium": m55}


def compile_one(name: str, work: Path) -> Artifact:
    """The artifact of one model (the subnet is extracted from the bundled supernet first)."""
    if name in TFLITE_MODELS:
        return compile_model(TFLITE_MODELS[name], work / name)
    sub = work / "subnet_dir"
    if not (sub / "subnet.json").is_file():
        cli = Path(sys.executable).parent / "edgenas"  # the venv's console script
        subprocess.run([str(cli), "subnet", "--arch", SUBNET_ARCH, "--out", str(sub), "--no-evaluate"],
                       cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    return compile_model(sub, work / name)


def layer_kind(graph, layer: dict) -> str:  # noqa: ANN001 (Graph)
    """conv / pointwise (1x1 conv) / depthwise / fully_connected / avg_pool / other, plus '+add'."""
    op = next(o for o in graph.ops if o.name == layer["op"])
    kind = {"depthwise_conv2d": "depthwise", "fully_connected": "fully_connected",
            "avg_pool2d": "avg_pool"}.get(op.kind, "other")
    if op.kind == "conv2d":
        kh, kw = graph.tensor(op.inputs[1]).shape[1:3]
        kind = "pointwise" if (kh, kw) == (1, 1) else "conv"
    return kind + ("+add" if layer.get("fused_add") else "")


def measure(name: str, work: Path) -> dict:
    """Compile, build three ways, run, check; per-layer counts and instructions per MAC."""
    t0 = time.monotonic()
    art = compile_one(name, work)
    graph = read_tflite(art.tflite)
    x = ramp_input(art.input_shape).reshape(1, *art.input_shape[1:]).astype(np.int8)
    want = np.asarray(run_reference(graph, x), np.int8).reshape(-1)
    macs = compiled_macs(graph)
    layers = [{"index": lay["index"], "op": lay["op"], "kind": layer_kind(graph, lay), "macs": macs[lay["op"]]}
              for lay in art.layers]
    out: dict = {"source": str(TFLITE_MODELS.get(name, f"edgenas subnet --arch '{SUBNET_ARCH}'")),
                 "input": "ramp (i * 37) mod 256", "layers": layers, "builds": {}}
    for label, board in builds().items():
        fw = build_firmware(art.src_dir, board, work / "fw" / name / label, runtime_dir=art.runtime_dir)
        m = driver.run(fw, [x.tobytes()])[0]
        got = np.frombuffer(m.output, np.int8)
        if not np.array_equal(got, want):
            raise AssertionError(f"{name} on {label}: output differs from the int8 reference")
        mve_sources = sorted(p.name for p in fw.sources if p.parent.name == "mve")
        out["builds"][label] = {"board": board.name, "core": board.core, "mve_kernels": mve_sources,
                                "instructions": int(m.total_count), "unit": m.unit,
                                "per_layer": [int(c) for c in m.per_layer], "bit_exact": True}
        print(f"{name:8s} {label:11s} {m.total_count:>12,} instructions", flush=True)
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def per_kind(model: dict) -> dict:
    """Instructions per MAC (or instructions, for layers without MACs) per layer kind and build."""
    kinds: dict[str, dict] = {}
    for i, lay in enumerate(model["layers"]):
        k = kinds.setdefault(lay["kind"], {"macs": 0, **{b: 0 for b in model["builds"]}})
        k["macs"] += lay["macs"]
        for b, res in model["builds"].items():
            k[b] += res["per_layer"][i]
    for k in kinds.values():
        for b in model["builds"]:
            k[f"{b}_per_mac"] = round(k[b] / k["macs"], 3) if k["macs"] else None
    return kinds


def summarize(models: dict[str, dict]) -> dict:
    summary = {}
    for name, m in models.items():
        n = {b: r["instructions"] for b, r in m["builds"].items()}
        summary[name] = {
            **{f"{b}_instructions": v for b, v in n.items()},
            "helium_speedup_over_dsp_m55": round(n["m55_dsp"] / n["m55_helium"], 3),
            "m7_over_m55_helium": round(n["m7"] / n["m55_helium"], 3),
            "meets_m7_ratio_target": n["m7"] / n["m55_helium"] >= TARGET_M7_RATIO,
            "per_kind": per_kind(m),
        }
    return summary


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    ap.add_argument("--json", type=Path, help="write here instead of bench/results/helium.json")
    ap.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="helium-") as tmp:
        work = args.work or Path(tmp)
        models = {name: measure(name, work) for name in args.models}
    result = {
        "what": "instructions per inference on QEMU: M7 (DSP kernels), M55 with the DSP kernels, M55 with Helium",
        "count_unit": "emulated instructions (QEMU -icount shift=0, SysTick resolution)",
        "target_m7_over_m55": TARGET_M7_RATIO,
        "summary": summarize(models),
        "models": models,
    }
    if args.json is not None:
        import json

        args.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        path = args.json
    else:
        path = write_result("helium", result)
    for name, s in result["summary"].items():
        print(f"{name}: M55 DSP {s['m55_dsp_instructions']:,} -> Helium {s['m55_helium_instructions']:,} "
              f"({s['helium_speedup_over_dsp_m55']}x); M7 {s['m7_instructions']:,} = {s['m7_over_m55_helium']}x the M55")
    print(path)
    return path


if __name__ == "__main__":
    main()
