"""Per-instruction profile of one model on an emulated Cortex-M (QEMU; mps2-an500, the M7, unless
``--board`` names another, e.g. mps3-an547 for the M55).

A development tool for the kernels in ``runtime_c/``, finer than ``kernel_profile.py``'s
per-layer counts: it builds the firmware as the benchmarks do, runs one inference with QEMU's
``-d exec,nochain,in_asm`` log (every executed translation block is logged, chaining off so
none is skipped), and counts executed instructions per guest address. It prints the
instructions per function and the N most executed instructions with their disassembly, which
shows where a kernel's loop spends its cycles (spills, reloads, call overhead).

    .venv/bin/python bench/pc_profile.py --model kws [--opt -O2] [--board mps3-an547] [--top 40] [--json PATH]
    .venv/bin/python bench/pc_profile.py path/to/model.tflite

Counts cover the whole run (start-up and the serial protocol too); the log lives in a temporary
directory (about 50 MB for KWS). Blocks QEMU re-executes partially after an I/O access are
counted whole, so totals can differ from ``-icount`` by a few hundred instructions.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from pathlib import Path
from unittest import mock

import numpy as np

from edgenas.boards import get_board
from edgenas.deploy.compile import compile_graph
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.targets.cortex_m import build_firmware, driver, qemu

MODELS = {
    "kws": Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite"),
    "resnet8": Path("/work/shared/models/mlperf-tiny/ic_resnet8_int8.tflite"),
}
DEFAULT_BOARD = "mps2-an500"
_ASM = re.compile(r"\s*(?:[0-9a-f]{4} )+\s*(.*)")  # "  e9f1 3c02  ldrd r3, ..." -> the mnemonic
_TRACE = re.compile(r"Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")


def parse_log(lines) -> tuple[Counter, dict[int, str], dict[int, str]]:
    """Executions per guest address, plus each address's function and disassembly.

    A block's instructions are listed after ``IN: <function>`` when QEMU translates it; each
    ``Trace`` line names the host block that ran. Host blocks are keyed by their host address
    and start pc, and re-keyed when QEMU reuses the address for a newly translated block.
    """
    blocks: dict[tuple[str, int], list[int]] = {}
    func: dict[int, str] = {}
    asm: dict[int, str] = {}
    counts: Counter = Counter()
    cur_func: str | None = None
    cur: list[int] = []
    for line in lines:
        if line.startswith("IN:"):
            cur_func, cur = line[3:].strip() or "?", []
        elif line.startswith("0x") and cur_func is not None:
            head, _, text = line.partition(":")
            addr = int(head, 16)
            cur.append(addr)
            func[addr] = cur_func
            m = _ASM.match(text)
            asm[addr] = " ".join(m.group(1).split()) if m else text.strip()
        elif line.startswith("Trace"):
            m = _TRACE.match(line)
            if m is None:
                continue
            key = (m.group(1), int(m.group(2), 16))
            if cur and cur[0] == key[1]:
                blocks[key] = cur
            cur_func, cur = None, []
            counts.update(blocks.get(key, ()))
    return counts, func, asm


def profile(path: Path, opt: str = "-O2", board: str = DEFAULT_BOARD) -> dict:
    """Build and run ``path`` once under the exec log; per-function and per-address counts."""
    graph = read_tflite(path)
    with tempfile.TemporaryDirectory(prefix="pcprof-") as tmp:
        log = Path(tmp) / "qemu.log"
        compile_graph(graph, Path(tmp) / "src")
        fw = build_firmware(Path(tmp) / "src", get_board(board), Path(tmp) / "fw", opt=opt)
        x = ((np.arange(graph.tensor(graph.inputs[0]).nbytes) * 37) % 256).astype(np.uint8).tobytes()
        plain = qemu.qemu_command

        def logged(elf, board, port):
            cmd = plain(elf, board, port)
            return cmd[:1] + ["-d", "exec,nochain,in_asm", "-D", str(log)] + cmd[1:]

        with mock.patch.object(qemu, "qemu_command", logged):
            (m,) = driver.run(fw, [x])
        with log.open(errors="replace") as f:
            counts, func, asm = parse_log(f)
    per_func: Counter = Counter()
    for addr, n in counts.items():
        per_func[func[addr]] += n
    return {
        "model": path.stem,
        "board": board,
        "opt": opt,
        "inference_instructions": int(m.total_count),
        "logged_instructions": int(sum(counts.values())),
        "functions": [{"function": f, "instructions": n} for f, n in per_func.most_common()],
        "addresses": [{"address": f"0x{a:08x}", "function": func[a], "asm": asm[a], "executions": n}
                      for a, n in counts.most_common()],
    }


def render(r: dict, top_functions: int, top: int) -> str:
    total = r["logged_instructions"]
    lines = [f"{r['model']} on {r['board']} ({r['opt']}): {r['inference_instructions']:,} instructions in the inference "
             f"(-icount), {total:,} logged over the whole run", "", "per function:"]
    for f in r["functions"][:top_functions]:
        lines.append(f"  {f['instructions']:>12,} {100 * f['instructions'] / total:5.1f}%  {f['function']}")
    lines += ["", f"top {top} instructions:"]
    for a in r["addresses"][:top]:
        lines.append(f"  {a['executions']:>10,}  {a['address']}  {a['function'][:28]:28s}  {a['asm']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tflite", type=Path, nargs="?", help="int8 .tflite model (or use --model)")
    ap.add_argument("--model", choices=sorted(MODELS))
    ap.add_argument("--opt", default="-O2")
    ap.add_argument("--board", default=DEFAULT_BOARD, help="emulated board (default: the M7)")
    ap.add_argument("--functions", type=int, default=20, help="functions to list")
    ap.add_argument("--top", type=int, default=40, help="most executed instructions to list")
    ap.add_argument("--json", type=Path, help="write every function's and address's count here")
    args = ap.parse_args(argv)
    if (args.tflite is None) == (args.model is None):
        ap.error("give a .tflite path or --model, not both")
    r = profile(args.tflite or MODELS[args.model], args.opt, args.board)
    print(render(r, args.functions, args.top))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
