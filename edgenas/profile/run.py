"""The profile loop: build or extend a latency table, saving after every measured batch.

Resumable by construction: the table file is rewritten atomically after each batch (one
firmware, or a few host models), and a re-run measures only the entries still missing. An
interruption loses at most the batch in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..cost.latency_table import LatencyTable, TableError
from ..scratch import scratch_dir
from ..space import Arch, SpaceSpec
from .base import Profiler
from .signature import Signature, arch_signatures, space_signatures

Progress = Callable[[int, int, str], None]
"""``progress(done, total, info)`` after each batch."""


def open_table(profiler: Profiler, spec: SpaceSpec, path: Path) -> LatencyTable:
    """Load ``path`` (checking target, space and toolchain fingerprint) or start a new table."""
    fp = profiler.fingerprint()
    if Path(path).exists():
        table = LatencyTable.load(path, fingerprint=fp)
        if table.target != profiler.target:
            raise TableError(f"table {path} is for target {table.target!r}, not {profiler.target!r}",
                             hint="pass another --table path")
        if table.spec != spec:
            raise TableError(f"table {path} was built for space {table.spec.name!r}",
                             hint="pass another --table path for this space")
        return table
    return LatencyTable(profiler.target, profiler.unit, fp, spec, board=profiler.board, backend=profiler.backend)


def measure_missing(profiler: Profiler, table: LatencyTable, path: Path, keys: Iterable[str], *,
                    budget: int | None = None, work_dir: Path | None = None,
                    progress: Progress | None = None) -> int:
    """Measure the entries of ``keys`` that ``table`` lacks (at most ``budget``), saving per batch.

    Returns:
        The number of entries measured.
    """
    todo = table.missing(keys)
    if budget is not None:
        todo = todo[: max(0, budget)]
    with scratch_dir("profile") as tmp:
        root = Path(work_dir) if work_dir else Path(tmp)
        if not table.overhead:
            table.add_overhead(profiler.measure_overhead(table.spec, root / "overhead"))
            table.save(path)
        done = 0
        total = len(todo)
        if progress:
            progress(0, total, f"{len(table)} entries in table")
        for b, start in enumerate(range(0, total, profiler.batch_size)):
            batch = [Signature.parse(k) for k in todo[start: start + profiler.batch_size]]
            samples = profiler.measure_entries(batch, root / f"batch{b}")
            for key, values in samples.entries.items():
                table.add(key, values)
            table.save(path)
            done += len(batch)
            if progress:
                progress(done, total, f"{len(table)} entries in table")
    return total


def build_table(profiler: Profiler, spec: SpaceSpec, path: Path, *, budget: int | None = None,
                archs: Sequence[Arch] | None = None, work_dir: Path | None = None,
                progress: Progress | None = None) -> LatencyTable:
    """Build or extend the table at ``path``: every entry of ``spec`` (or of ``archs``), at most
    ``budget`` new entries in this run."""
    table = open_table(profiler, spec, Path(path))
    if archs is None:
        keys = [s.key for s in space_signatures(spec)]
    else:
        keys = [s.key for a in archs for s in arch_signatures(spec, a)]
    measure_missing(profiler, table, Path(path), keys, budget=budget, work_dir=work_dir, progress=progress)
    return table
