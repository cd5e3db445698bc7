"""LiteRT's ``benchmark_model``: its command line and reading its output.

The tool prints a statistics line per phase (``count=50 first=.. curr=.. min=.. max=..
avg=.. std=..``, microseconds), a summary (``Inference timings in us: Init: .., First
inference: .., Warmup (avg): .., Inference (avg): ..``) and, with op profiling, a tab-separated
"Run Order" table per profiled phase whose ``[avg ms]`` column gives each node's time.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from ...errors import DeviceError

_NUM = r"([-+0-9.eE]+)"
_SUMMARY = re.compile(rf"Inference timings in us: Init: {_NUM}, First inference: {_NUM}, "
                      rf"Warmup \(avg\): {_NUM}, Inference \(avg\): {_NUM}")
_STATS = re.compile(rf"count={_NUM} first={_NUM} curr={_NUM} min={_NUM} max={_NUM} avg={_NUM} std={_NUM}")
_REGULAR = "Operator-wise Profiling Info for Regular Benchmark Runs"


@dataclass(frozen=True)
class OpTiming:
    """One node of the Run Order table: its type, name and mean time per inference (ms)."""

    node_type: str
    name: str
    avg_ms: float


@dataclass(frozen=True)
class BenchmarkResult:
    """What one benchmark_model invocation measured (microseconds, as the tool prints them)."""

    avg_us: float
    std_us: float
    min_us: float
    max_us: float
    runs: int
    first_us: float
    init_us: float
    ops: tuple[OpTiming, ...] = ()


def benchmark_command(binary: str, graph: str, *, threads: int, warmup_runs: int, runs: int,
                      op_profiling: bool = False, cpu_mask: int | None = None) -> str:
    """The device shell command: pinned with ``taskset`` when ``cpu_mask`` is given; exactly
    ``warmup_runs`` and ``runs`` (the time minimums are set to 0 so counts, not seconds, decide)."""
    args = [binary, f"--graph={graph}", f"--num_threads={threads}", f"--warmup_runs={warmup_runs}",
            "--warmup_min_secs=0", f"--num_runs={runs}", "--min_secs=0", "--use_xnnpack=true",
            f"--enable_op_profiling={'true' if op_profiling else 'false'}"]
    pin = ["taskset", f"{cpu_mask:x}"] if cpu_mask else []
    return " ".join(shlex.quote(a) for a in [*pin, *args])


def _run_order(lines: list[str], start: int) -> tuple[OpTiming, ...]:
    """Rows of the first Run Order table at or after ``start`` (columns by their bracketed names)."""
    i = next((k for k in range(start, len(lines)) if "Run Order" in lines[k]), None)
    if i is None or i + 1 >= len(lines):
        return ()
    header = [c.strip() for c in lines[i + 1].split("\t") if c.strip()]
    try:
        type_col, avg_col, name_col = header.index("[node type]"), header.index("[avg ms]"), header.index("[Name]")
    except ValueError:
        return ()
    ops = []
    for line in lines[i + 2:]:
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        if len(cells) != len(header):
            break
        ops.append(OpTiming(cells[type_col], cells[name_col], float(cells[avg_col])))
    return tuple(ops)


def parse_benchmark_output(text: str, *, where: str = "on the device") -> BenchmarkResult:
    """Read one benchmark_model run.

    Raises:
        DeviceError: no timing summary (the tool failed or crashed; its last lines are quoted).
    """
    text = text.replace("\r", "")
    m = _SUMMARY.search(text)
    stats = _STATS.findall(text)
    if m is None or not stats:
        raise DeviceError(f"benchmark_model {where} gave no timings: {text.strip()[-600:] or 'no output'}",
                          hint="check that the runner is LiteRT's benchmark_model for arm64-v8a and that it "
                               "runs by hand: adb shell <dir>/benchmark_model --graph=<dir>/model.tflite")
    count, first, _curr, lo, hi, avg, std = (float(v) for v in stats[-1])  # the last one is the timed phase
    lines = text.splitlines()
    regular = next((k for k, line in enumerate(lines) if _REGULAR in line), None)
    ops = _run_order(lines, regular) if regular is not None else ()
    return BenchmarkResult(avg_us=avg, std_us=std, min_us=lo, max_us=hi, runs=int(count), first_us=first,
                           init_us=float(m.group(1)), ops=ops)
