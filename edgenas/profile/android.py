"""Profiling Android phones over adb.

With LiteRT's ``benchmark_model`` (the default runner) only whole-model times come back, so
entries are timed in context as on the host (:mod:`.host`): each entry behind a prefix block,
minus the prefix alone (the stem: minus the null model), pair by pair. Each of ``samples`` rounds
runs every model of a batch once (interleaved, so a phone warming up or throttling shifts all
models alike) and one invocation's mean is one sample. With edgenas's own runner
(``runner.kind = "edgenas-c"``) per-layer times come back and the Linux profiler is used over adb.
Tables are in ``ms`` of the phone's clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..boards import DeviceProfile
from ..deploy import write_tflite
from ..space import Arch, SpaceSpec
from ..targets.android import AdbLauncher, AndroidSession, benchmark, connect
from .base import ArchMeasurement, EntrySamples
from .graphs import random_arch_graph
from .host import TimedModel, _null_model, entry_models, entry_samples
from .linux_arm64 import LinuxArm64Profiler
from ..space.signature import Signature


class AndroidProfiler:
    """Times entries and subnets on a phone with LiteRT's benchmark_model over adb."""

    target = "android"
    unit = "ms"
    backend = "litert-benchmark"

    def __init__(self, session: AndroidSession, *, samples: int = 3, batch_size: int = 8) -> None:
        self.session = session
        self.board = session.profile.name
        self.samples = samples
        self.batch_size = batch_size

    def fingerprint(self) -> dict[str, object]:
        return {**self.session.fingerprint(), "board": self.board, "timing": "benchmark_model mean, entry - prefix"}

    def time_models(self, models: Mapping[str, TimedModel], work_dir: Path) -> dict[str, list[float]]:
        """``samples`` means (ms) per model; rounds interleave the models."""
        work_dir = Path(work_dir)
        work_dir.mkdir(parents=True, exist_ok=True)
        files = {}
        for name, m in models.items():
            files[name] = work_dir / f"{name}.tflite"
            files[name].write_bytes(write_tflite(m.int8_graph()))
        out: dict[str, list[float]] = {name: [] for name in models}
        for _ in range(self.samples):
            for name, path in files.items():
                out[name].append(benchmark(self.session, path).avg_us / 1e3)
        return out

    def measure_overhead(self, spec: SpaceSpec, work_dir: Path) -> list[float]:
        return self.time_models({"null": _null_model()}, Path(work_dir))["null"]

    def measure_entries(self, sigs: Sequence[Signature], work_dir: Path) -> EntrySamples:
        return EntrySamples(entry_samples(sigs, self.time_models(entry_models(sigs), Path(work_dir))))

    def measure_arch(self, spec: SpaceSpec, arch: Arch, work_dir: Path, seed: int = 0) -> ArchMeasurement:
        torch.manual_seed(seed)
        model = TimedModel(torch.nn.Identity(), (1, spec.in_channels, arch.resolution, arch.resolution),
                           lambda: random_arch_graph(spec, arch, seed))
        samples = self.time_models({"arch": model}, Path(work_dir))["arch"]
        return ArchMeasurement(arch=str(arch), latency=float(np.median(samples)), samples=tuple(samples))


class AndroidRunnerProfiler(LinuxArm64Profiler):
    """edgenas's C runner on the phone: the Linux profiler with adb as its launcher."""

    target = "android"

    def __init__(self, session: AndroidSession, **kwargs) -> None:  # noqa: ANN003
        super().__init__(session.profile, launcher=AdbLauncher(session), **kwargs)
        self.session = session

    def fingerprint(self) -> dict[str, object]:
        return {**super().fingerprint(), **self.session.fingerprint()}


def android_profiler(device: DeviceProfile, *, serial: str | None = None, runner: str | None = None,
                     adb: str = "adb", **kwargs):  # noqa: ANN003, ANN201
    """Connect to the phone and return the profiler its profile's runner calls for."""
    session = connect(device, serial, runner=runner, adb=adb)
    if device.runner.kind == "edgenas-c":
        return AndroidRunnerProfiler(session, **kwargs)
    return AndroidProfiler(session, **kwargs)
