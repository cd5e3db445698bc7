"""The android driver: measure models on a phone over adb.

``connect(profile, serial)`` selects the device and reads what identifies its timings (Android
version, model, ABI, the pinned CPU and its governor). Then, by the profile's runner:

* ``litert-benchmark``: ``build`` writes the int8 ``.tflite``; ``run`` pushes it with the user's
  ``benchmark_model`` and returns a Measurement per input with the tool's mean time and, where
  it profiled ops, per-op times. benchmark_model feeds its own random input and gives no
  outputs, so ``output`` is empty.
* ``edgenas-c``: ``build`` cross-compiles edgenas's static ARM64 runner (linux_arm64); ``run``
  pushes it and returns real outputs and per-layer times, like on a Pi.

Units are ``ns`` on the phone's clock. Nothing is flashed and nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ...boards import DeviceProfile
from ...errors import DeviceError, ToolchainError
from ..linux_arm64 import AARCH64, Completed, RunnerBuild, build_runner
from ..linux_arm64 import run as run_linux
from ..measurement import Measurement
from .adb import Adb
from .benchmark import BenchmarkResult, benchmark_command, parse_benchmark_output

BENCHMARK_NAME = "benchmark_model"


def parse_cpu_list(text: str) -> list[int]:
    """CPUs of a sysfs list such as ``0-3,6`` (``/sys/devices/system/cpu/online``)."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if not part:
            continue
        lo, _, hi = part.partition("-")
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return cpus


@dataclass
class AndroidSession:
    """A selected device, its profile and what identifies its timings."""

    adb: Adb
    profile: DeviceProfile
    serial: str
    cpus: tuple[int, ...]
    properties: dict[str, str] = field(default_factory=dict)
    runner_path: Path | None = None
    _pushed: set[str] = field(default_factory=set)

    @property
    def cpu_mask(self) -> int:
        return sum(1 << c for c in self.cpus)

    def fingerprint(self) -> dict[str, object]:
        fp: dict[str, object] = {"driver": "android", "runner": self.profile.runner.kind,
                                 "threads": self.profile.runner.threads, "affinity": f"{self.cpu_mask:x}",
                                 "warmup_runs": self.profile.runner.warmup_runs, **self.properties}
        if self.runner_path is not None:
            fp["runner_sha256"] = hashlib.sha256(self.runner_path.read_bytes()).hexdigest()[:16]
        return fp

    def ensure_dir(self) -> None:
        rc, out = self.adb.shell(f"mkdir -p {shlex.quote(self.profile.device_dir)}")
        if rc != 0:
            raise DeviceError(f"cannot create {self.profile.device_dir} on {self.serial}: {out.strip()[-200:]}",
                              hint="pick a writable folder in the profile's device.dir (/data/local/tmp/...)")

    def push(self, local: Path, name: str | None = None, *, executable: bool = False) -> str:
        """Copy ``local`` to the device folder (once per content); its device path."""
        data = Path(local).read_bytes()
        remote = f"{self.profile.device_dir}/{name or Path(local).name}"
        key = f"{remote}:{hashlib.sha256(data).hexdigest()}"
        if key not in self._pushed:
            self.adb.push(Path(local), remote)
            if executable:
                rc, out = self.adb.shell(f"chmod 755 {shlex.quote(remote)}")
                if rc != 0:
                    raise DeviceError(f"cannot make {remote} executable: {out.strip()[-200:]}",
                                      hint="the folder may be mounted noexec; use /data/local/tmp")
            self._pushed.add(key)
        return remote


def connect(profile: DeviceProfile, serial: str | None = None, *, runner: Path | str | None = None,
            adb: str = "adb") -> AndroidSession:
    """Select the device, read its identity and check the runner.

    Args:
        serial: adb serial (default: the profile's, else the only device attached).
        runner: benchmark_model on this PC (default: the profile's ``runner.path``).

    Raises:
        ToolchainError: adb missing, or the litert runner not given or not a file.
        DeviceError: no device, several without ``serial``, unauthorized or offline.
    """
    if profile.driver != "android":
        raise DeviceError(f"board {profile.name} is not an Android profile (driver {profile.driver})",
                          hint="pick one with driver = \"android\" (edgenas boards)")
    runner_path = None
    if profile.runner.kind == "litert-benchmark":
        given = runner or profile.runner.path
        if not given:
            raise ToolchainError(f"board {profile.name} measures with LiteRT's benchmark_model, and no binary was given",
                                 hint="pass --runner PATH/TO/benchmark_model (the android_arm64 build; edgenas "
                                      "downloads nothing) or set runner.path in a copy of the profile")
        runner_path = Path(given).expanduser()
        if not runner_path.is_file():
            raise ToolchainError(f"runner {runner_path} does not exist", hint="check the --runner path")
    client = Adb(adb)
    chosen = client.select(serial or profile.serial)
    cpus = profile.pin
    if not cpus:
        rc, out = client.shell("cat /sys/devices/system/cpu/online")
        online = parse_cpu_list(out) if rc == 0 else []
        if not online:
            raise DeviceError(f"cannot read the online CPUs of {chosen}: {out.strip()[-200:]}",
                              hint="set cpu.pin in the board profile")
        cpus = (max(online),)
    props = {key: client.getprop(prop) for key, prop in (
        ("android_version", "ro.build.version.release"), ("sdk", "ro.build.version.sdk"),
        ("model", "ro.product.model"), ("abi", "ro.product.cpu.abi"), ("build", "ro.build.fingerprint"))}
    if props["abi"] and props["abi"] != profile.abi:
        raise DeviceError(f"device {chosen} is {props['abi']}, the profile {profile.name} is for {profile.abi}",
                          hint="use a profile of the device's ABI")
    rc, governor = client.shell(f"cat /sys/devices/system/cpu/cpu{cpus[0]}/cpufreq/scaling_governor")
    props["governor"] = governor.strip() if rc == 0 else "unknown"
    session = AndroidSession(client, profile, chosen, tuple(cpus), props, runner_path)
    session.ensure_dir()
    return session


def build(model: Path, session: AndroidSession, out_dir: Path) -> Path | RunnerBuild:
    """The artifact ``run`` takes: ``model`` itself for benchmark_model (a ``.tflite``), else the
    ARM64 runner built from ``model`` (a folder of generated C)."""
    if session.profile.runner.kind == "litert-benchmark":
        if Path(model).suffix != ".tflite":
            raise DeviceError(f"{model} is not a .tflite", hint="benchmark_model runs .tflite files")
        return Path(model)
    return build_runner(model, replace(AARCH64, cflags=session.profile.cflags), build_root=out_dir)


def benchmark(session: AndroidSession, tflite: Path, *, op_profiling: bool = False,
              runs: int | None = None, warmup_runs: int | None = None) -> BenchmarkResult:
    """One benchmark_model invocation on ``tflite`` with the profile's threads and pinning.

    Raises:
        DeviceError: the runner failed or crashed (its output quoted).
        DeviceLost: the device disconnected.
    """
    if session.runner_path is None:
        raise ToolchainError("this session has no benchmark_model", hint="connect with runner=PATH")
    binary = session.push(session.runner_path, BENCHMARK_NAME, executable=True)
    graph = session.push(Path(tflite), f"{hashlib.sha256(Path(tflite).read_bytes()).hexdigest()[:16]}.tflite")
    r = session.profile.runner
    cmd = benchmark_command(binary, graph, threads=r.threads, warmup_runs=r.warmup_runs if warmup_runs is None
                            else warmup_runs, runs=runs or r.runs, op_profiling=op_profiling,
                            cpu_mask=session.cpu_mask)
    rc, out = session.adb.shell(cmd, timeout_s=600.0)
    where = f"on {session.serial}"
    if rc != 0:
        crash = {139: " (segmentation fault)", 134: " (abort)", 137: " (killed)", 126: " (not executable)",
                 127: " (not found)"}.get(rc, "")
        raise DeviceError(f"benchmark_model {where} exited with {rc}{crash}: {out.strip()[-600:] or 'no output'}",
                          hint="run it by hand with adb shell to see why; check it is the arm64-v8a build")
    return parse_benchmark_output(out, where=where)


class AdbLauncher:
    """Runs edgenas's ARM64 runner on the phone (the linux_arm64 Launcher shape, over adb)."""

    emulated = False

    def __init__(self, session: AndroidSession) -> None:
        self.session = session

    def run(self, exe: Path, inputs: Path, args: list[str], timeout_s: float = 120.0) -> Completed:
        remote_exe = self.session.push(exe, "en_runner", executable=True)
        remote_in = self.session.push(inputs, "inputs.bin")
        pin = ["taskset", f"{self.session.cpu_mask:x}"]
        rc, out = self.session.adb.shell(" ".join(shlex.quote(a) for a in [*pin, remote_exe, remote_in, *args]),
                                         timeout_s=timeout_s)
        return Completed(rc, out)

    def describe(self) -> dict[str, object]:
        return {"launcher": "adb", "serial": self.session.serial}


def run(artifact: Path | RunnerBuild, session: AndroidSession, inputs: Sequence[bytes] = (), *,
        op_profiling: bool = True) -> list[Measurement]:
    """Measure ``artifact`` on the phone (unit ``ns``).

    For a ``.tflite`` this is one Measurement of benchmark_model's mean (``inputs`` are not
    used: the tool makes its own; ``output`` is empty; ``per_layer`` holds per-op times when the
    tool profiled ops). For an edgenas runner, one Measurement per input with its outputs.
    """
    if isinstance(artifact, RunnerBuild):
        r = session.profile.runner
        return run_linux(artifact, inputs, AdbLauncher(session), warmup=r.warmup_runs, repeats=r.runs)
    result = benchmark(session, Path(artifact), op_profiling=op_profiling)
    return [Measurement(output=b"", total_count=round(result.avg_us * 1e3),
                        per_layer=tuple(round(op.avg_ms * 1e6) for op in result.ops), unit="ns", stack_bytes=0)]
