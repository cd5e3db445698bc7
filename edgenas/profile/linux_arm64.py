"""Profiling ARM64 Linux boards with edgenas's C runner (a Pi over ssh, or qemu-aarch64 here).

As on Cortex-M, one runner holds a chain of up to ``batch_size`` entries (:func:`chain_graph`),
every layer is timed by the runner's CLOCK_MONOTONIC profiler, and an entry's sample is the sum
of its layers in one repeat. Tables are in ``ms``. Under qemu-user the clock measures the
emulator, so such a table (its fingerprint says ``timing_note``) checks the path, not a Pi.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..boards import DeviceProfile
from ..deploy import compile_graph
from ..deploy.codegen import GENERATOR_VERSION
from ..space import Arch, SpaceSpec, smallest_arch
from ..targets.linux_arm64 import AARCH64, Launcher, QemuUserLauncher, SshLauncher, build_runner, run_runner
from ..targets.linux_arm64 import fingerprint as runner_fingerprint
from ..targets.linux_arm64.records import RunnerOutput
from .base import ArchMeasurement, EntrySamples
from .graphs import chain_graph, random_arch_graph
from ..space.signature import Signature

NS_PER_MS = 1e6


def device_launcher(device: DeviceProfile, host: str | None = None) -> Launcher:
    """The launcher a ``linux_arm64`` profile asks for (``host`` overrides its ssh host)."""
    if device.connection == "qemu-user":
        return QemuUserLauncher(device.qemu_user)
    return SshLauncher(host or device.host or "", device.device_dir)


class LinuxArm64Profiler:
    """Measures table entries and whole subnets on one ARM64 Linux board."""

    backend = "edgenas-c"
    unit = "ms"
    target = "linux-arm64"

    def __init__(self, device: DeviceProfile, *, launcher: Launcher | None = None, host: str | None = None,
                 repeats: int | None = None, warmup: int | None = None, batch_size: int = 40,
                 build_root: Path | None = None) -> None:
        self.device = device
        self.board = device.name
        self.launcher = launcher or device_launcher(device, host)
        self.toolchain = replace(AARCH64, cflags=device.cflags)
        self.repeats = repeats or device.runner.runs
        self.warmup = device.runner.warmup_runs if warmup is None else warmup
        self.batch_size = batch_size
        self.build_root = build_root
        self.emulated = self.launcher.emulated

    def fingerprint(self) -> dict[str, object]:
        return {**runner_fingerprint(self.toolchain, self.launcher), "board": self.board,
                "pin": list(self.device.pin), "codegen": GENERATOR_VERSION}

    def _run(self, graph, work_dir: Path, repeats: int) -> tuple[RunnerOutput, object]:  # noqa: ANN001 (Graph)
        compiled = compile_graph(graph, work_dir / "src")
        runner = build_runner(compiled.out_dir, self.toolchain, build_root=self.build_root)
        in_t = graph.tensor(graph.inputs[0])
        x = np.random.default_rng(0).integers(-128, 128, size=in_t.nbytes, dtype=np.int8).tobytes()
        cpu = self.device.pin[0] if self.device.pin else None
        out = run_runner(runner, [x], self.launcher, warmup=self.warmup, repeats=repeats, cpu=cpu,
                         timeout_s=600.0)
        return out, compiled

    def measure_entries(self, sigs: Sequence[Signature], work_dir: Path) -> EntrySamples:
        """Build one runner holding every entry of ``sigs``; each entry's per-repeat sum of layers."""
        graph, owner = chain_graph(sigs)
        out, compiled = self._run(graph, Path(work_dir), self.repeats)
        layers = np.asarray(out.inputs[0].layers_ns, dtype=np.float64)  # (repeats, layers)
        sums = np.zeros((len(sigs), layers.shape[0]))
        for layer in compiled.layers:
            i = owner.get(layer["op"])
            if i is not None:
                sums[i] += layers[:, layer["index"]]
        entries: dict[str, list[float]] = {}
        for i, sig in enumerate(sigs):
            entries.setdefault(sig.key, []).extend(float(v) / NS_PER_MS for v in sums[i])
        return EntrySamples(entries)

    def measure_overhead(self, spec: SpaceSpec, work_dir: Path) -> list[float]:
        """Per-inference time outside the layers, from the smallest subnet run end to end."""
        out, _ = self._run(random_arch_graph(spec, smallest_arch(spec)), Path(work_dir), self.repeats)
        r = out.inputs[0]
        return [(t - sum(layers)) / NS_PER_MS for t, layers in zip(r.totals_ns, r.layers_ns, strict=True)]

    def measure_arch(self, spec: SpaceSpec, arch: Arch, work_dir: Path, seed: int = 0) -> ArchMeasurement:
        out, _ = self._run(random_arch_graph(spec, arch, seed), Path(work_dir), self.repeats)
        r = out.inputs[0]
        totals = [t / NS_PER_MS for t in r.totals_ns]
        overhead = [(t - sum(layers)) / NS_PER_MS for t, layers in zip(r.totals_ns, r.layers_ns, strict=True)]
        return ArchMeasurement(arch=str(arch), latency=float(np.median(totals)), samples=tuple(totals),
                               overhead=float(np.median(overhead)))
