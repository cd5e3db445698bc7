"""Errors of the task pools, in the :class:`~edgenas.errors.EdgenasError` family."""

from __future__ import annotations

from ..errors import EdgenasError
from .task import Failure


class ClusterError(EdgenasError):
    """A Ray cluster that cannot be reached or started, or a pool left without workers."""

    exit_code = 3


class TasksFailed(EdgenasError):
    """Tasks that failed on every allowed attempt; the others' results were all delivered."""

    def __init__(self, failures: list[Failure], total: int) -> None:
        shown = "; ".join(f"task {f.task.id} ({f.task.label or f.task.payload!r}) after {f.attempts} "
                          f"attempts: {f.error}" for f in failures[:3])
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        super().__init__(f"{len(failures)} of {total} tasks failed: {shown}{more}",
                         hint="the finished tasks are recorded; run the command again to retry only the failed ones")
        self.failures = failures

