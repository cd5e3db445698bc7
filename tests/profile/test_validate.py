"""``profile --validate``: end-to-end subnets against the table's prediction, in subnet order."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgenas.distributed import Done, Job
from edgenas.profile import build_table
from edgenas.profile.base import ArchMeasurement
from edgenas.profile.validate import random_archs, validate
from edgenas.space import get_space

from .instant_profiler import InstantProfiler

SPEC = get_space("tiny-test")


class EndToEndProfiler(InstantProfiler):
    """A whole subnet's latency differs per arch; its arena records the seed it was built with."""

    def measure_arch(self, spec, arch, work_dir: Path, seed: int = 0) -> ArchMeasurement:  # noqa: ANN001
        latency = 1.0 + len(str(arch)) / 10
        return ArchMeasurement(str(arch), latency, (latency,), predicted_arena_bytes=100, arena_bytes=100 + seed,
                               predicted_weights_bytes=10, weights_bytes=10)


class ReversedPool:
    """Runs tasks here but yields them last first: the arrival order of a parallel pool at its worst."""

    workers = 2
    note = ""

    def map(self, job: Job, tasks, *, watch=None):  # noqa: ANN001
        state = job.setup(*job.context)
        results = [Done(t.id, job.run(state, t.payload), "w", 1, 0.0) for t in tasks]
        yield from reversed(results)


@pytest.mark.parametrize("pool", [None, ReversedPool()], ids=["serial", "reversed"])
def test_validate_rows_follow_the_subnets_whatever_the_arrival(tmp_path, pool):
    prof = EndToEndProfiler()
    path = tmp_path / "t.json"
    table = build_table(prof, SPEC, path, archs=[])
    seen: list[tuple[int, int]] = []
    report = validate(prof, table, path, 4, seed=2, pool=pool, progress=lambda d, n, i: seen.append((d, n)))
    archs = random_archs(table, 4, 2)
    assert [r.arch for r in report.rows] == [str(a) for a in archs]
    assert [r.measured for r in report.rows] == [1.0 + len(str(a)) / 10 for a in archs]
    assert [r.predicted for r in report.rows] == [table.predict(a) for a in archs]  # entries filled in first
    assert [r.arena_bytes for r in report.rows] == [102, 103, 104, 105]  # subnet i built with seed 2 + i
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
