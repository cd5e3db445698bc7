"""``extract`` for phones and ARM64 Linux boards (device profiles, not Cortex-M boards).

A Cortex-M board gets firmware; a device profile gets what its runner runs: edgenas's static
ARM64 C runner (``linux_arm64`` profiles, and ``android`` ones whose runner is ``edgenas-c``),
whose outputs are checked bit-exact against the host build, or the int8 ``.tflite`` that LiteRT's
``benchmark_model`` times on a phone (it feeds its own input, so only latency comes back). The
search reads the device's own latency table (ms). The device is reached before the search, so a
misconfigured one fails at once; a phone that is simply not attached is no error: the artifacts
and the report are written and the report says that nothing was measured, and why.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..boards import DeviceProfile
from ..errors import DeviceError, ToolchainError, UsageError
from ..paths import LATENCY_DIR
from ..space import DEFAULT_SPACE

if TYPE_CHECKING:
    from ..cost.latency_table import LatencyTable
    from ..targets.android import AndroidSession
    from ..targets.linux_arm64 import Launcher, RunnerBuild
    from ..targets.measurement import Measurement

RUNNER_FILE = "en_runner"
"""The ARM64 runner, copied into ``OUT/`` (static: runs on a Pi, in an Android shell, under qemu-aarch64)."""

NS_PER_MS = 1e6
EMULATED_NOTE = ("emulated: qemu-aarch64's wall clock on this PC; it checks the ARM64 code, "
                 "and says nothing about a Pi's or a phone's speed")


def is_device(board: object) -> bool:
    """True for a phone or Linux board profile (it gets a runner, not firmware)."""
    return isinstance(board, DeviceProfile)


def _target(device: DeviceProfile) -> str:
    from ..profile.targets import device_target

    return device_target(device)


def target_name(board: object) -> str:
    """What ``--target`` names for ``board``: a device's target (``android``), else its core."""
    return _target(board) if isinstance(board, DeviceProfile) else str(getattr(board, "core", ""))


def profile_command(device: DeviceProfile) -> str:
    """The command that measures ``device``'s latency table where extract looks for it."""
    from ..profile.targets import DEFAULT_DEVICE

    target = _target(device)
    board = "" if DEFAULT_DEVICE.get(target) == device.name else f" --board {device.name}"
    return f"edgenas profile --target {target}{board}"


def device_table_path(device: DeviceProfile, space: str = DEFAULT_SPACE) -> Path | None:
    """``device``'s latency table for ``space``: where `edgenas profile` writes it
    (``latency/<board>.json`` in this folder), else a shipped one; None when neither exists."""
    from ..profile.targets import table_file_name, written_table_path

    return next((p for p in (written_table_path(device.name, space), LATENCY_DIR / table_file_name(device.name, space))
                 if p.is_file()), None)


def require_device_table(device: DeviceProfile, given: Path | None) -> Path:
    """``given``, else :func:`device_table_path`: a search on a device needs a table measured there.

    Raises:
        UsageError: there is none (the hint names the profile command).
    """
    path = given or device_table_path(device)
    if path is None:
        raise UsageError(f"no latency table for {device.name} ({_target(device)}): extract searches against "
                         "latency measured on the device, and none was given or found in latency/",
                         hint=f"measure one first with `{profile_command(device)}` (it writes "
                              f"latency/{device.name}.json), or pass --table PATH")
    return path


def check_device_table(device: DeviceProfile, table: LatencyTable, path: Path) -> None:
    """Refuse a table measured on another kind of target (its unit and meaning differ).

    Raises:
        UsageError: the table's target is not ``device``'s.
    """
    if table.target != _target(device):
        raise UsageError(f"latency table {path} was measured for target {table.target!r} (board {table.board}), "
                         f"not {_target(device)!r}",
                         hint=f"measure one on the device with `{profile_command(device)}`")


# ----------------------------------------------------------------------------- reaching it


@dataclass
class DeviceLink:
    """How ``extract`` reaches the device, settled before the search.

    ``launcher`` runs edgenas's C runner (qemu-aarch64, ssh or adb); ``session`` is the phone for
    benchmark_model; ``skipped`` says why nothing will run (then both are None).
    """

    device: DeviceProfile
    launcher: Launcher | None = None
    session: AndroidSession | None = None
    skipped: str | None = None

    def describe(self) -> str:
        if self.skipped:
            return f"{self.device.name} (not reachable: {self.skipped})"
        if self.session is not None:
            return f"{self.device.name} ({self.session.serial} over adb)"
        return f"{self.device.name} ({'qemu-aarch64 on this PC' if self.device.emulated else self.device.connection})"


def open_device(device: DeviceProfile, *, serial: str | None = None, runner: Path | None = None,
                ssh: str | None = None) -> DeviceLink:
    """Reach ``device`` (or learn that no phone is attached) before any work.

    Raises:
        ToolchainError: the cross compiler or qemu-aarch64 is missing; a phone is attached but no
            benchmark_model was given.
        DeviceError: several phones and no ``serial``, an unauthorized or offline one.
        UsageError: an ssh board without a host.
    """
    if device.driver == "android":
        return _open_phone(device, serial, runner)
    from ..profile.linux_arm64 import device_launcher
    from ..targets.linux_arm64 import AARCH64, QemuUserLauncher

    if device.connection == "ssh" and not (ssh or device.host):
        raise UsageError(f"board {device.name} is reached over ssh and has no host", hint="pass --ssh USER@HOST")
    AARCH64.compiler()
    launcher = device_launcher(device, ssh)
    if isinstance(launcher, QemuUserLauncher):
        launcher.binary()
    return DeviceLink(device, launcher=launcher)


def _open_phone(device: DeviceProfile, serial: str | None, runner: Path | None) -> DeviceLink:
    """The phone's session; a link that says why it is skipped when adb or the phone is missing."""
    from ..targets.android import Adb, AdbLauncher, connect

    try:
        adb = Adb()
    except ToolchainError as e:
        return DeviceLink(device, skipped=f"{e} ({e.hint})")
    if (serial or device.serial) is None and not adb.devices():
        return DeviceLink(device, skipped="no adb device is attached (`adb devices -l` lists none)")
    session = connect(device, serial, runner=runner)
    if device.runner.kind == "edgenas-c":
        return DeviceLink(device, launcher=AdbLauncher(session), session=session)
    return DeviceLink(device, session=session)


# ----------------------------------------------------------------------------- running it


@dataclass(frozen=True)
class Deployed:
    """What running the extracted model on its target gave the report.

    ``verification``: ``status`` (``bit-exact``, ``latency-only`` or ``skipped``) and a sentence
    for people. ``memory``: the linked image's figures that bound a budget retry (Cortex-M only).
    """

    measured: dict[str, Any]
    files: dict[str, str]
    verification: dict[str, str]
    memory: dict[str, int] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return self.verification["status"] == "bit-exact"


def deploy_to_device(link: DeviceLink, out: Path, host: Any, inputs: np.ndarray) -> Deployed:
    """Run the artifact in ``out`` on the device: the C runner on ``inputs`` (checked against the
    ``host`` build), or benchmark_model on ``model.tflite``; or say why nothing ran.

    Raises:
        DeviceError: the device's outputs differ from the host build (never reported as good).
    """
    if link.skipped:
        return Deployed({"latency_unit": "ms", "skipped": link.skipped}, {"tflite": "model.tflite"},
                        {"status": "skipped", "detail": f"On-device verification skipped: {link.skipped}. "
                                                        "The artifacts were written, but nothing was measured."})
    if link.launcher is not None:
        return _run_c_runner(link, out, host, inputs)
    return _run_benchmark(link, out)


def _build_runner(device: DeviceProfile, out: Path) -> RunnerBuild:
    """The ARM64 runner of ``out/src`` with the profile's flags, copied to ``out/en_runner``."""
    from ..targets.linux_arm64 import AARCH64, build_runner

    runner = build_runner(out / "src", replace(AARCH64, cflags=device.cflags))
    shutil.copyfile(runner.exe, out / RUNNER_FILE)
    (out / RUNNER_FILE).chmod(0o755)
    return runner


def _run_c_runner(link: DeviceLink, out: Path, host: Any, inputs: np.ndarray) -> Deployed:
    from ..targets.linux_arm64 import run

    device = link.device
    runner = _build_runner(device, out)
    got = run(runner, [x.tobytes() for x in inputs], link.launcher, warmup=device.runner.warmup_runs,
              repeats=device.runner.runs, cpu=device.pin[0] if device.pin else None, timeout_s=600.0)
    _check_outputs(device.name, got, np.asarray(host.run(inputs)).reshape(len(inputs), -1))
    _record_run(out, device, got)
    latencies = [m.total_count / NS_PER_MS for m in got]
    measured = {"latency_unit": "ms", "latency_median": float(np.median(latencies)), "latency_ms": latencies,
                "runner": "edgenas-c", "arena_bytes": runner.arena_bytes,
                "arena_touched_bytes": max(m.arena_touched_bytes or 0 for m in got),
                "emulated": device.emulated, **link.launcher.describe()}
    if device.emulated:
        measured["timing_note"] = EMULATED_NOTE
    where = "under qemu-aarch64 (genuine ARM64 code, emulated)" if device.emulated else f"on {device.name}"
    return Deployed(measured, {"runner": RUNNER_FILE, "tflite": "model.tflite"},
                    {"status": "bit-exact", "detail": f"Outputs of the ARM64 runner {where} equal the host build "
                                                      f"bit for bit on {len(inputs)} inputs."})


def _check_outputs(name: str, got: list[Measurement], expected: np.ndarray) -> None:
    device = np.stack([np.frombuffer(m.output, np.int8) for m in got])
    if device.shape != expected.shape or not np.array_equal(device, expected):
        wrong = int((device != expected).any(1).sum()) if device.shape == expected.shape else len(got)
        raise DeviceError(f"{name} outputs differ from the host build on {wrong} of {len(got)} inputs",
                          hint="this is a compiler or runtime bug: keep OUT/ and report it")


def _record_run(out: Path, device: DeviceProfile, got: list[Measurement]) -> None:
    """Per-layer median times (ns) into ``memory.json``, so the HTML report shows them per layer."""
    path = out / "memory.json"
    record = json.loads(path.read_text(encoding="utf-8"))
    record.setdefault("measured", {})[device.name] = {
        "count_unit": "ns", "emulated": device.emulated,
        "layer_counts": [int(np.median(c)) for c in zip(*(m.per_layer for m in got))],
        "arena_touched_bytes": max(m.arena_touched_bytes or 0 for m in got)}
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _run_benchmark(link: DeviceLink, out: Path) -> Deployed:
    from ..targets.android import run

    session = link.session
    assert session is not None  # open_device gives a launcher, a session or a reason
    m = run(out / "model.tflite", session)[0]
    measured = {"latency_unit": "ms", "latency_median": m.total_count / NS_PER_MS, "runner": "litert-benchmark",
                "per_op_ns": list(m.per_layer), "emulated": False, "serial": session.serial,
                **{k: v for k, v in session.fingerprint().items() if k in ("android_version", "model", "governor",
                                                                            "threads", "affinity")}}
    return Deployed(measured, {"tflite": "model.tflite"},
                    {"status": "latency-only", "detail": f"Latency measured with LiteRT benchmark_model on "
                                                         f"{session.serial}; it feeds its own input, so outputs "
                                                         "were not compared with the host build."})
