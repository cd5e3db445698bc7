"""Validation: measure random subnets end to end and compare with the table's prediction.

Reports the share of subnets within ±5% and ±10%, the mean absolute percentage error, Kendall's
tau between predicted and measured latency, and (Cortex-M) whether the compiler's predicted
arena and weight flash equal the linked firmware's for every subnet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..cost.latency_table import LatencyTable
from ..distributed import Job, Pool, SerialPool, Watch, values_in_order
from ..errors import DeviceError
from ..scratch import scratch_dir
from ..space import Arch, sample_arch
from .base import ArchMeasurement, Profiler
from .run import Progress, measure_missing
from ..space.signature import arch_signatures


@dataclass(frozen=True)
class ValidationRow:
    arch: str
    predicted: float
    measured: float
    error: float
    """(predicted - measured) / measured."""
    memory_exact: bool | None = None
    predicted_arena_bytes: int | None = None
    arena_bytes: int | None = None
    predicted_weights_bytes: int | None = None
    weights_bytes: int | None = None
    flash_bytes: int | None = None


@dataclass(frozen=True)
class ValidationReport:
    target: str
    unit: str
    backend: str
    rows: tuple[ValidationRow, ...] = field(default=())

    def summary(self) -> dict:
        from scipy.stats import kendalltau  # here, not at the top: a ~0.7 s import profile workers need not pay

        err = np.abs([r.error for r in self.rows])
        pred = [r.predicted for r in self.rows]
        meas = [r.measured for r in self.rows]
        tau = float(kendalltau(pred, meas).statistic) if len(self.rows) > 1 else float("nan")
        mem = [r.memory_exact for r in self.rows if r.memory_exact is not None]
        return {
            "n": len(self.rows),
            "within_5pct": float(np.mean(err <= 0.05)),
            "within_10pct": float(np.mean(err <= 0.10)),
            "mape": float(np.mean(err)),
            "kendall_tau": tau,
            "memory_exact": (all(mem) if mem else None),
        }

    def to_dict(self) -> dict:
        return {"target": self.target, "unit": self.unit, "backend": self.backend, "summary": self.summary(),
                "rows": [asdict(r) for r in self.rows]}


def random_archs(table: LatencyTable, n: int, seed: int) -> list[Arch]:
    """``n`` distinct random archs of the table's space (uniform, as OFA samples)."""
    rng = np.random.default_rng(seed)
    seen: dict[str, Arch] = {}
    for _ in range(100 * n):
        a = sample_arch(table.spec, rng)
        seen.setdefault(str(a), a)
        if len(seen) == n:
            break
    return list(seen.values())


def _measure_arch(state: tuple, payload: tuple[int, Arch]) -> ArchMeasurement:
    """One validation task: subnet ``i`` built and run end to end (its seed: the run's + i)."""
    profiler, spec, work_dir, seed = state
    i, arch = payload
    with scratch_dir("validate") as tmp:
        root = Path(work_dir) / f"arch{i}" if work_dir else Path(tmp)
        return profiler.measure_arch(spec, arch, root, seed=seed + i)


def validate(profiler: Profiler, table: LatencyTable, table_path: Path, n: int = 20, *, seed: int = 0,
             archs: Sequence[Arch] | None = None, work_dir: Path | None = None,
             progress: Progress | None = None, pool: Pool | None = None,
             watch: Watch | None = None) -> ValidationReport:
    """Measure ``n`` random subnets (or ``archs``) and compare with ``table.predict``.

    Entries the sampled subnets need but the table lacks are measured first (and saved). Both
    run on ``pool`` (default: here, serially); the rows are in subnet order whatever the arrival.
    """
    archs = list(archs) if archs is not None else random_archs(table, n, seed)
    keys = [s.key for a in archs for s in arch_signatures(table.spec, a)]
    root = Path(work_dir) if work_dir else None
    measure_missing(profiler, table, table_path, keys, work_dir=root and root / "entries", pool=pool, watch=watch)
    job = Job(_measure_arch, context=(profiler, table.spec, root, seed), retire_on=(DeviceError,))
    rows = []
    labels = [f"subnet {i}" for i in range(len(archs))]
    for arch, m in zip(archs, values_in_order(pool or SerialPool(), job, list(enumerate(archs)), labels, watch=watch)):
        pred = table.predict(arch)
        rows.append(ValidationRow(
            arch=str(arch), predicted=pred, measured=m.latency, error=(pred - m.latency) / m.latency,
            memory_exact=m.memory_exact, predicted_arena_bytes=m.predicted_arena_bytes,
            arena_bytes=m.arena_bytes, predicted_weights_bytes=m.predicted_weights_bytes,
            weights_bytes=m.weights_bytes, flash_bytes=m.flash_bytes,
        ))
        if progress:
            progress(len(rows), len(archs), f"{rows[-1].error:+.2%}")
    return ValidationReport(profiler.target, profiler.unit, profiler.backend, tuple(rows))
