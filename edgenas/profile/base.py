"""What every target profiler offers the profile loop and the validation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..space import Arch, SpaceSpec
from ..space.signature import Signature


@dataclass(frozen=True)
class EntrySamples:
    """Samples measured for a batch of entries (``unit`` of the profiler)."""

    entries: dict[str, list[float]]
    overhead: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class ArchMeasurement:
    """One subnet measured end to end (the whole compiled model on the target).

    ``latency`` is in the profiler's unit. Memory fields are filled on targets with a memory
    model (Cortex-M): the predicted values come from the compiler's planner and code generator,
    the measured ones from the linked firmware's ELF.
    """

    arch: str
    latency: float
    samples: tuple[float, ...]
    overhead: float | None = None
    predicted_arena_bytes: int | None = None
    arena_bytes: int | None = None
    predicted_weights_bytes: int | None = None
    weights_bytes: int | None = None
    flash_bytes: int | None = None

    @property
    def memory_exact(self) -> bool | None:
        if self.arena_bytes is None:
            return None
        return self.predicted_arena_bytes == self.arena_bytes and self.predicted_weights_bytes == self.weights_bytes


class Profiler(Protocol):
    """A target family's measuring side, as the profile loop sees it.

    Attributes:
        target: the target name tables are filed under.
        unit: ``instructions``, ``cycles`` or ``ms``.
        backend: what runs the models (``edgenas-c``, ``onnxruntime``, ``tvm``, ``litert``).
        board: board or device description.
        batch_size: entries measured per build (firmware) or per checkpoint.
    """

    target: str
    unit: str
    backend: str
    board: str
    batch_size: int

    def fingerprint(self) -> dict[str, object]: ...

    def measure_entries(self, sigs: Sequence[Signature], work_dir: Path) -> EntrySamples: ...

    def measure_overhead(self, spec: SpaceSpec, work_dir: Path) -> list[float]: ...

    def measure_arch(self, spec: SpaceSpec, arch: Arch, work_dir: Path, seed: int = 0) -> ArchMeasurement: ...
