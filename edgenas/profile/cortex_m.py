"""Profiling Cortex-M boards: many entries per firmware, per-layer counts attributed to entries.

One firmware holds a chain of up to ``batch_size`` entries (:func:`chain_graph`); every layer
the compiler emits is one profiled step, and an entry's sample is the sum of its steps' counts.
Emulated boards count instructions, deterministic under QEMU ``-icount``, so two repeats are
plenty (their spread is 0 and shows it); real boards count cycles and get more repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..boards import Board
from ..deploy import compile_graph, structure_graph
from ..deploy.codegen import GENERATOR_VERSION
from ..space import Arch, SpaceSpec, smallest_arch
from ..targets.cortex_m import build_firmware
from ..targets.cortex_m.profile import ProfileRun, profile_firmware, toolchain_fingerprint
from .base import ArchMeasurement, EntrySamples
from .graphs import chain_graph, random_arch_graph
from ..space.signature import Signature


class CortexMProfiler:
    """Measures table entries and whole subnets on one Cortex-M board (emulated or real)."""

    backend = "edgenas-c"

    def __init__(self, board: Board, *, target: str | None = None, repeats: int | None = None,
                 batch_size: int = 40, port: str | None = None, opt: str = "-O2",
                 timeout_s: float = 2.0, retries: int = 5) -> None:
        self.board_obj = board
        self.board = board.name
        self.target = target or board.core
        self.unit = board.counter_unit
        self.repeats = repeats or (2 if board.emulated else 5)
        self.batch_size = batch_size
        self.port = port
        self.opt = opt
        self.timeout_s = timeout_s
        self.retries = retries

    def fingerprint(self) -> dict[str, object]:
        return {**toolchain_fingerprint(self.board_obj, self.opt), "codegen": GENERATOR_VERSION}

    def _run(self, graph, work_dir: Path, repeats: int) -> tuple[ProfileRun, object]:
        compiled = compile_graph(graph, work_dir / "src")
        fw = build_firmware(compiled.out_dir, self.board_obj, work_dir / "fw", opt=self.opt)
        in_t = graph.tensor(graph.inputs[0])
        x = np.random.default_rng(0).integers(-128, 128, size=in_t.nbytes, dtype=np.int8).tobytes()
        run = profile_firmware(fw, x, repeats=repeats, port=self.port, timeout_s=self.timeout_s,
                               retries=self.retries)
        return run, compiled

    def measure_entries(self, sigs: Sequence[Signature], work_dir: Path) -> EntrySamples:
        """Build one firmware holding every entry of ``sigs`` and return each entry's samples."""
        graph, owner = chain_graph(sigs)
        run, compiled = self._run(graph, Path(work_dir), self.repeats)
        sums = np.zeros((len(sigs), len(run.measurements)))
        for layer in compiled.layers:
            i = owner.get(layer["op"])
            if i is not None:
                sums[i] += run.layer_samples(layer["index"])
        entries: dict[str, list[float]] = {}
        for i, sig in enumerate(sigs):
            entries.setdefault(sig.key, []).extend(float(v) for v in sums[i])
        return EntrySamples(entries)

    def measure_overhead(self, spec: SpaceSpec, work_dir: Path) -> list[float]:
        """Per-inference count outside the layers, from the smallest subnet run end to end."""
        run, _ = self._run(random_arch_graph(spec, smallest_arch(spec)), Path(work_dir), self.repeats)
        return [float(v) for v in run.overhead_samples()]

    def measure_arch(self, spec: SpaceSpec, arch: Arch, work_dir: Path, seed: int = 0) -> ArchMeasurement:
        """Compile, build and run the whole subnet; check the compiler's memory against the ELF."""
        work_dir = Path(work_dir)
        run, _ = self._run(random_arch_graph(spec, arch, seed), work_dir, 1)
        predicted = compile_graph(structure_graph(spec, arch), work_dir / "predicted")
        totals = [float(m.total_count) for m in run.measurements]
        return ArchMeasurement(
            arch=str(arch), latency=float(np.median(totals)), samples=tuple(totals),
            overhead=float(np.median(run.overhead_samples())),
            predicted_arena_bytes=predicted.arena_bytes, arena_bytes=run.memory["arena_bytes"],
            predicted_weights_bytes=predicted.flash_bytes, weights_bytes=run.memory["weights_bytes"],
            flash_bytes=run.memory["flash_bytes"],
        )
