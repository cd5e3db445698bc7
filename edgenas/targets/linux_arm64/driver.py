"""The linux_arm64 driver: build the runner for ARM64 Linux, run it, return Measurements.

Same small interface as every target family: ``build(model_dir) -> RunnerBuild``,
``run(runner, inputs, launcher) -> list[Measurement]``. There is nothing to flash: the runner is
copied next to its input on every run. Timing is ``ns`` of the device's CLOCK_MONOTONIC, real on
a Pi; under :class:`QemuUserLauncher` it is the emulator's speed, useful only to check that the
path works and that outputs match the host build bit for bit.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import DeviceError
from ..measurement import Measurement
from .build import AARCH64, CFLAGS, HOST, RUNNER_DIR, RUNNER_SOURCES, RunnerBuild, Toolchain, build_runner, runtime_sources
from .launch import Launcher, LocalLauncher, QemuUserLauncher
from .records import RunnerOutput, parse_records

__all__ = ["build", "fingerprint", "run", "run_runner"]


def build(model_dir: Path | str, toolchain: Toolchain = AARCH64, *, build_root: Path | None = None) -> RunnerBuild:
    """Build the runner for ``model_dir`` (see :func:`build_runner`)."""
    return build_runner(model_dir, toolchain, build_root=build_root)


def default_launcher(runner: RunnerBuild) -> Launcher:
    """This PC for a host runner, qemu-aarch64 for an ARM64 one."""
    return LocalLauncher() if runner.toolchain.arch == HOST.arch else QemuUserLauncher()


def run_runner(runner: RunnerBuild, inputs: Sequence[bytes], launcher: Launcher | None = None, *,
               warmup: int = 1, repeats: int = 1, cpu: int | None = None, timeout_s: float = 120.0
               ) -> RunnerOutput:
    """Run every input ``warmup`` times untimed and ``repeats`` times timed; all the records.

    Raises:
        DeviceError: no inputs, an input of the wrong size, or see :func:`parse_records`.
        ArenaOverrunError, ToolchainError: see :func:`parse_records`.
    """
    launcher = launcher or default_launcher(runner)
    bad = [i for i, x in enumerate(inputs) if len(x) != runner.input_bytes]
    if not inputs or bad:
        raise DeviceError(f"input {bad[0] if bad else 0} is not {runner.input_bytes} bytes" if bad else "no inputs",
                          hint="pass int8 inputs of the model's input size")
    args = ["--warmup", str(warmup), "--repeats", str(repeats)] + (["--cpu", str(cpu)] if cpu is not None else [])
    with tempfile.TemporaryDirectory(prefix="edgenas-linux-") as tmp:
        path = Path(tmp) / "inputs.bin"
        path.write_bytes(b"".join(inputs))
        done = launcher.run(runner.exe, path, args, timeout_s)
    where = f"({runner.toolchain.arch}, {launcher.describe()['launcher']})"
    return parse_records(done.stdout + done.stderr, done.returncode, where=where, arena_bytes=runner.arena_bytes)


def run(runner: RunnerBuild, inputs: Sequence[bytes], launcher: Launcher | None = None, *, warmup: int = 1,
        repeats: int = 1, cpu: int | None = None, timeout_s: float = 120.0) -> list[Measurement]:
    """One Measurement per input (unit ``ns``): the repeat with the median total.

    The per-layer times sum to a little less than the total (the input copy and the calls
    around the layers). Stack is not measured on Linux (``stack_bytes`` 0).
    """
    out = run_runner(runner, inputs, launcher, warmup=warmup, repeats=repeats, cpu=cpu, timeout_s=timeout_s)
    measurements = []
    for r in out.inputs:
        k = int(np.argsort(r.totals_ns)[(len(r.totals_ns) - 1) // 2])
        measurements.append(Measurement(output=r.output, total_count=r.totals_ns[k], per_layer=r.layers_ns[k],
                                        unit="ns", stack_bytes=0, arena_bytes=runner.arena_bytes,
                                        arena_touched_bytes=out.arena_touched_bytes))
    return measurements


def fingerprint(runner_toolchain: Toolchain, launcher: Launcher) -> dict[str, object]:
    """What makes timings comparable: compiler and flags, runner sources, where it ran."""
    h = hashlib.sha256()
    for f in [*runtime_sources(), *(RUNNER_DIR / n for n in RUNNER_SOURCES)]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    fp: dict[str, object] = {
        "compiler": runner_toolchain.version(), "arch": runner_toolchain.arch,
        "cflags": [*CFLAGS, *runner_toolchain.cflags], "ldflags": list(runner_toolchain.ldflags),
        "runtime_sha256": h.hexdigest()[:16], "clock": "CLOCK_MONOTONIC", **launcher.describe(),
    }
    if launcher.emulated:
        fp["timing_note"] = "emulated: qemu-user wall clock, says nothing about a real board's speed"
    return fp
