"""The profile loop: build or extend a latency table, saving after every measured batch.

Resumable by construction: the table file is rewritten atomically after each batch (one
firmware, or a few host models), and a re-run measures only the entries still missing. An
interruption loses at most the batches in flight.

The batches can run on a pool of workers (:mod:`edgenas.distributed`), each with its own
emulated board; only this process writes the table, as each batch arrives. A table keeps its
entries sorted and each entry comes from one batch, so it is the same whatever the arrival order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..cost.latency_table import LatencyTable, TableError
from ..distributed import Job, Pool, SerialPool, Task, Watch
from ..errors import DeviceError
from ..scratch import scratch_dir
from ..space import Arch, SpaceSpec
from .base import Profiler
from ..space.signature import Signature, arch_signatures, space_signatures

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


def _measure_batch(state: tuple, payload: tuple[str, tuple[str, ...]]) -> list[float] | dict[str, list[float]]:
    """One task of the profile loop: the overhead (``keys`` empty) or one batch of entries."""
    profiler, spec, work_dir = state
    name, keys = payload
    with scratch_dir("profile") as tmp:
        root = Path(work_dir) / name if work_dir else Path(tmp)
        if not keys:
            return profiler.measure_overhead(spec, root)
        return profiler.measure_entries([Signature.parse(k) for k in keys], root).entries


def measure_missing(profiler: Profiler, table: LatencyTable, path: Path, keys: Iterable[str], *,
                    budget: int | None = None, work_dir: Path | None = None,
                    progress: Progress | None = None, pool: Pool | None = None,
                    watch: Watch | None = None) -> int:
    """Measure the entries of ``keys`` that ``table`` lacks (at most ``budget``), saving per batch.

    Args:
        pool: where the batches run (default: here, serially); a worker whose board stops
            answering (``DeviceError``) leaves the pool and its batch goes to another.
        watch: told which batch each worker measures, whenever that changes.

    Returns:
        The number of entries measured.
    """
    todo = table.missing(keys)
    if budget is not None:
        todo = todo[: max(0, budget)]
    tasks = [] if table.overhead else [Task(0, ("overhead", ()), "overhead")]
    for b, start in enumerate(range(0, len(todo), profiler.batch_size)):
        batch = tuple(todo[start: start + profiler.batch_size])
        tasks.append(Task(b + 1, (f"batch{b}", batch), f"batch {b} ({len(batch)} entries)"))
    job = Job(_measure_batch, context=(profiler, table.spec, work_dir), retire_on=(DeviceError,))
    sizes = {t.id: len(t.payload[1]) for t in tasks}
    done = 0
    total = len(todo)
    if progress:
        progress(0, total, f"{len(table)} entries in table")
    for result in (pool or SerialPool()).map(job, tasks, watch=watch):
        if isinstance(result.value, dict):
            for key, values in result.value.items():
                table.add(key, values)
            done += sizes[result.task_id]
        else:
            table.add_overhead(result.value)
        table.save(path)
        if progress:
            progress(done, total, f"{len(table)} entries in table")
    return total


def build_table(profiler: Profiler, spec: SpaceSpec, path: Path, *, budget: int | None = None,
                archs: Sequence[Arch] | None = None, work_dir: Path | None = None,
                progress: Progress | None = None, pool: Pool | None = None,
                watch: Watch | None = None) -> LatencyTable:
    """Build or extend the table at ``path``: every entry of ``spec`` (or of ``archs``), at most
    ``budget`` new entries in this run, on ``pool`` (default: serially, here)."""
    table = open_table(profiler, spec, Path(path))
    if archs is None:
        keys = [s.key for s in space_signatures(spec)]
    else:
        keys = [s.key for a in archs for s in arch_signatures(spec, a)]
    measure_missing(profiler, table, Path(path), keys, budget=budget, work_dir=work_dir, progress=progress,
                    pool=pool, watch=watch)
    return table
