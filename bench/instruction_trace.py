"""Where a compiled model's instructions go on an emulated Cortex-M (the M7 unless ``--board``): per
layer, per function, and (``--layer N --function NAME``) per instruction with its disassembly.

A development tool for the kernels in ``runtime_c/`` (as ``bench/kernel_profile.py``, it prints and
writes no result): it runs one inference of an artifact directory (``edgenas compile`` / ``edgenas
run`` output) in QEMU with every executed instruction logged (``-singlestep -d exec,nochain``, set
through ``EDGENAS_QEMU_ARGS``; Debian's QEMU 7.2 ships no TCG plugins), maps each program counter
to its function through ``arm-none-eabi-nm`` and splits the stream at the ``en_profile_mark``
calls, so each layer's total matches the harness's per-layer count to the SysTick's resolution.
About 20 s and 100 bytes of log per million instructions.

    .venv/bin/python bench/instruction_trace.py ART_DIR [--layers 7,11] [--top 15]
    .venv/bin/python bench/instruction_trace.py ART_DIR --layer 7 --function en_dw_small
    .venv/bin/python bench/instruction_trace.py ART_DIR --board mps3-an547 --layers 3   # the M55's Helium build

The input is the benches' fixed one: byte i = (i * 37) mod 256 as int8.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from edgenas.boards import get_board
from edgenas.errors import BoardError
from edgenas.deploy.pipeline import load_artifact, run_artifact
from edgenas.targets.cortex_m.qemu import EXTRA_ARGS_ENV

DEFAULT_BOARD = "mps2-an500"


def functions(elf: Path) -> list[tuple[int, int, str]]:
    """(address, size, name) of the ELF's code symbols, by address (Thumb bit cleared)."""
    out = subprocess.run(["arm-none-eabi-nm", "-n", "-S", str(elf)], capture_output=True, text=True, check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2].lower() in ("t", "w"):
            syms.append((int(parts[0], 16) & ~1, int(parts[1], 16), parts[3]))
    return syms


def layer_pcs(log: Path, syms: list[tuple[int, int, str]]):  # noqa: ANN201 (Iterator[tuple[int, int]])
    """(layer, program counter) of every instruction executed from the first layer on (one TB per
    instruction); layer i runs between marks i - 1 and i."""
    by_name = {name: a for a, _, name in syms}
    begin, mark = by_name["en_profile_begin"], by_name["en_profile_mark"]
    layer = None
    with open(log) as f:
        for line in f:
            if not line.startswith("Trace"):
                continue
            pc = int(line.split("[")[1].split("/")[1], 16)
            if pc == begin:
                layer = 0
            elif pc == mark and layer is not None:
                layer += 1
            if layer is not None:
                yield layer, pc


def per_layer(log: Path, syms: list[tuple[int, int, str]]) -> dict[int, collections.Counter]:
    """{layer: Counter(function -> instructions)}."""
    starts = [a for a, _, _ in syms]
    layers: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    for layer, pc in layer_pcs(log, syms):
        k = bisect.bisect_right(starts, pc) - 1
        layers[layer][syms[k][2] if k >= 0 else "?"] += 1
    return layers


def per_instruction(log: Path, elf: Path, syms: list[tuple[int, int, str]], layer: int, function: str) -> str:
    """The disassembly of ``function`` with how many times each instruction ran in ``layer``."""
    found = [(a, size) for a, size, name in syms if name == function]
    if not found:
        raise SystemExit(f"no function {function!r} in {elf}")
    lo, size = found[0]
    counts = collections.Counter(pc for at, pc in layer_pcs(log, syms) if at == layer and lo <= pc < lo + size)
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", f"--start-address={lo}",
                          f"--stop-address={lo + size}", str(elf)], capture_output=True, text=True, check=True).stdout
    lines = []
    for text in dis.splitlines():
        head = text.strip().split(":", 1)[0]
        try:
            n = counts.get(int(head, 16), 0)
        except ValueError:
            continue
        lines.append(f"{n:9d}  {text.strip()}")
    return "\n".join(lines + [f"{sum(counts.values()):9d}  total"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifact", type=Path, help="artifact directory (edgenas compile / run output)")
    parser.add_argument("--layers", default="", help="comma-separated layer indices to break down (default: all)")
    parser.add_argument("--top", type=int, default=12, help="functions shown per layer")
    parser.add_argument("--layer", type=int, help="with --function: per-instruction counts in this layer")
    parser.add_argument("--function", help="with --layer: the function to disassemble")
    parser.add_argument("--board", default=DEFAULT_BOARD, help="an emulated board (default: the M7's)")
    args = parser.parse_args()
    try:
        board = get_board(args.board)
    except BoardError as e:
        parser.error(str(e))
    if not board.emulated:
        parser.error(f"{board.name} is not emulated: the trace needs QEMU's instruction log")
    art = load_artifact(args.artifact)
    x = ((np.arange(int(np.prod(art.input_shape))) * 37) % 256).astype(np.uint8).view(np.int8).reshape(art.input_shape)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "exec.log"
        os.environ[EXTRA_ARGS_ENV] = f"-singlestep -d exec,nochain -D {log}"
        report = run_artifact(args.artifact, board, x)
        del os.environ[EXTRA_ARGS_ENV]
        elf = report.build.firmware.elf
        syms = functions(elf)
        if args.layer is not None and args.function:
            print(per_instruction(log, elf, syms, args.layer, args.function))
            return
        counted = report.measurements[0].per_layer
        wanted = {int(v) for v in args.layers.split(",") if v} or None
        for layer, funcs in sorted(per_layer(log, syms).items()):
            if layer >= len(counted) or (wanted is not None and layer not in wanted):
                continue
            print(f"layer {layer}: {sum(funcs.values())} traced, {counted[layer]} counted by the harness")
            for name, n in funcs.most_common(args.top):
                print(f"  {n:9d}  {name}")


if __name__ == "__main__":
    sys.exit(main())
