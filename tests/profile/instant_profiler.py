"""A profiler that measures every latency-table entry at once, for tests of what the commands do
with a table (its header and keys), not of measuring."""

from __future__ import annotations

from edgenas.profile import EntrySamples


class InstantProfiler:
    """Every entry ``entry_ms``, the overhead ``overhead_ms``; subclasses change target or batch."""

    target, unit, backend, board, batch_size = "host", "ms", "fake", "this-cpu", 1000
    entry_ms, overhead_ms = 1.0, 0.5

    def fingerprint(self) -> dict[str, object]:
        return {"fake": 1}

    def measure_entries(self, sigs, work_dir) -> EntrySamples:  # noqa: ANN001
        return EntrySamples({s.key: [self.entry_ms] * 3 for s in sigs})

    def measure_overhead(self, spec, work_dir) -> list[float]:  # noqa: ANN001
        return [self.overhead_ms] * 3
