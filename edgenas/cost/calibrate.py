"""Measure what firmware costs besides the model, from real builds, into a small JSON table.

The cost model needs flash and RAM of the *whole* image, but only the model's weights and arena
are known exactly before building. Everything else (kernels, harness, startup, per-layer
parameter structs and call sites, harness buffers, the stack reserve) is measured here once per
core family: build firmware for a handful of subnets with the real toolchain, read the ELF, and
fit ``overhead = base + per_layer * layers`` by least squares (flash), and
``ram - arena - input - output - stack = base + per_layer * layers`` (RAM). The fit and its
worst residual are stored, so a reader sees how good the estimate is.

Run ``python -m edgenas.cost.calibrate`` to regenerate ``edgenas/assets/cost/firmware_overhead.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..boards import Board, board_for_target
from ..deploy import compile_graph, structure_graph
from ..deploy.codegen import depthwise_entry
from ..deploy.ir import Graph, Op, QuantParams, Tensor
from ..scratch import scratch_dir
from ..targets.cortex_m.build import build_firmware
from ..targets.cortex_m.elf import elf_memory
from ..targets.cortex_m.profile import sources_hash
from ..space import Arch, SpaceSpec, get_space, largest_arch, sample_arch, smallest_arch
from .metrics import model_flash_bytes, uses_strided_depthwise
from .overhead import OVERHEAD_TABLE

CORES = ("cortex-m7", "cortex-m4", "cortex-m55")


def measure_build(spec: SpaceSpec, arch: Arch, board: Board, work_dir: Path) -> dict:
    """Compile ``arch`` (zero weights: sizes are what matter), build firmware, read its ELF."""
    graph = structure_graph(spec, arch)
    compiled = compile_graph(graph, work_dir / "src")
    firmware = build_firmware(work_dir / "src", board, work_dir / "build")
    mem = elf_memory(firmware.elf)
    return {
        "arch": str(arch),
        "layers": compiled.num_layers,
        "strided_dw": uses_strided_depthwise(spec, arch),
        "arena_bytes": compiled.arena_bytes,
        "model_flash_bytes": compiled.flash_bytes,
        "input_bytes": graph.tensor(graph.inputs[0]).nbytes,
        "output_bytes": graph.tensor(graph.outputs[0]).nbytes,
        "stack_reserve_bytes": firmware.stack_bytes,
        **{k: mem[k] for k in ("flash_bytes", "weights_bytes", "code_bytes", "rodata_bytes", "data_bytes",
                                "bss_bytes", "ram_bytes")},
    }


def kx1_graph(taps: int = 3) -> Graph:
    """One ``taps`` x 1 depthwise layer over a [1, 49, 10, 16] map (keyword-spotting sized): the
    smallest model whose firmware links the entry point of that kernel height
    (``en_dwconv2d_kx1_s8``, or ``en_dwconv2d_kx1_long_s8`` from 5 taps)."""
    q = QuantParams((0.05,), (0,))
    c = 16
    tensors = {
        "x": Tensor("x", (1, 49, 10, c), "int8", q),
        "w": Tensor("w", (1, taps, 1, c), "int8", QuantParams((0.01,) * c, (0,) * c, axis=3),
                    data=np.ones((1, taps, 1, c), np.int8)),
        "b": Tensor("b", (c,), "int32", QuantParams((0.0005,) * c, (0,) * c), data=np.zeros(c, np.int32)),
        "y": Tensor("y", (1, 49, 10, c), "int8", q),
    }
    attrs = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, padding="same", activation="relu")
    return Graph(tensors, [Op("depthwise_conv2d", ["x", "w", "b"], ["y"], attrs, name="dw")], ["x"], ["y"], name="kx1_step")


def measure_kx1_step(board: Board, work_dir: Path, taps: int = 3) -> dict:
    """Flash a Kx1 depthwise strategy adds, from two linked ELFs of the same one-layer model
    (:func:`kx1_graph`): as compiled (calling the entry point of its kernel height) and with that
    call renamed to ``en_dwconv2d_s8`` (nothing else differs, so --gc-sections drops exactly the
    strategy)."""
    graph = kx1_graph(taps)
    entry = depthwise_entry((taps, 1), (1, 1))
    src = work_dir / "src"
    compile_graph(graph, src)
    sizes = {}
    for tag in ("kx1", "plain"):
        if tag == "plain":
            for f in src.glob("*.c"):
                f.write_text(f.read_text().replace(f"{entry}(", "en_dwconv2d_s8("))
        firmware = build_firmware(src, board, work_dir / f"build-{tag}")
        sizes[tag] = elf_memory(firmware.elf)["flash_bytes"]
    return {"entry": entry, "dw_bytes": sizes["kx1"] - sizes["plain"], "with_bytes": sizes["kx1"],
            "without_bytes": sizes["plain"]}


def _fit(layers: list[int], values: list[int], strided_dw: list[bool] | None = None) -> dict:
    """Least squares of ``values`` on a base, a per-layer term and, given ``strided_dw``, the
    step of linking the strided depthwise strategy (a build with such a layer or without)."""
    columns = [np.ones(len(layers)), np.asarray(layers, dtype=float)]
    if strided_dw is not None:
        columns.append(np.asarray(strided_dw, dtype=float))
    a = np.stack(columns, axis=1)
    coef, *_ = np.linalg.lstsq(a, np.asarray(values, dtype=float), rcond=None)
    residual = np.asarray(values, dtype=float) - a @ coef
    fit = {"base_bytes": round(float(coef[0]), 1), "per_layer_bytes": round(float(coef[1]), 2),
           "max_abs_residual_bytes": round(float(np.abs(residual).max()), 1)}
    if strided_dw is not None:
        fit["strided_dw_bytes"] = round(float(coef[2]), 1)
    return fit


def calibrate_core(core: str, *, samples: int = 6, seed: int = 0) -> dict:
    """Build ``samples`` + 2 subnets of ``mcu-mbv2`` for the default board of ``core`` and fit."""
    board = board_for_target(core)
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(seed)
    # Subnets whose weights leave room for the firmware on this board (the largest may not fit).
    room = board.flash.size_bytes - 64 * 1024
    pool = [largest_arch(spec)] + [sample_arch(spec, rng) for _ in range(50 * samples)]
    fitting = [a for a in pool if model_flash_bytes(spec, a) <= room]
    # Both kinds of build, with and without a strided depthwise layer, or its step cannot be fitted.
    plain = [a for a in fitting if not uses_strided_depthwise(spec, a)]
    archs = [smallest_arch(spec)] + plain[:2] + [a for a in fitting if a not in plain][: samples - 1]
    records = []
    with scratch_dir("calibrate") as tmp:
        for i, arch in enumerate(archs):
            records.append(measure_build(spec, arch, board, Path(tmp) / str(i)))
    layers = [r["layers"] for r in records]
    flash_extra = [r["flash_bytes"] - r["model_flash_bytes"] for r in records]
    ram_extra = [r["ram_bytes"] - r["arena_bytes"] - _align16(r["input_bytes"]) - _align16(r["output_bytes"])
                 - r["stack_reserve_bytes"] for r in records]
    strided = [r["strided_dw"] for r in records]
    flash = _fit(layers, flash_extra, strided)
    steps = {}
    for key, taps in (("kx1", 3), ("kx1_long", 5)):
        with scratch_dir(f"calibrate-{key}") as tmp:
            steps[key] = measure_kx1_step(board, Path(tmp), taps)
        flash[f"{key}_dw_bytes"] = float(steps[key]["dw_bytes"])
    return {"board": board.name, "cflags": list(board.cflags), "opt": "-O2", "space": spec.name,
            "flash": flash, "ram": _fit(layers, ram_extra), "builds": records,
            "kx1_step": steps["kx1"], "kx1_long_step": steps["kx1_long"]}


def _align16(n: int) -> int:
    return -(-n // 16) * 16


def _toolchain() -> str:
    out = subprocess.run(["arm-none-eabi-gcc", "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else "unknown"


def main(argv: list[str] | None = None) -> None:
    cores = (argv if argv else sys.argv[1:]) or list(CORES)
    table = {"schema": 1, "toolchain": _toolchain(), "runtime_sources": sources_hash(),
             "method": "python -m edgenas.cost.calibrate: real builds of mcu-mbv2 subnets, ELF sizes, "
                       "least-squares fit of overhead = base + per_layer * layers (flash: + strided_dw_bytes when a layer "
                       "calls the strided depthwise entry point); kx1_dw_bytes / kx1_long_dw_bytes: flash of a one-layer "
                       "3x1 / 5x1 depthwise model minus the same sources calling en_dwconv2d_s8 (measure_kx1_step)",
             "cores": {core: calibrate_core(core) for core in cores}}
    Path(OVERHEAD_TABLE).write_text(json.dumps(table, indent=1) + "\n")
    print(OVERHEAD_TABLE)


if __name__ == "__main__":
    main()
