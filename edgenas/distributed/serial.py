"""The serial pool: every task in this process, in task-id order.

It is the reference the Ray pool must match (same results, same order after sorting by id), and
what runs when Ray is not installed or one worker is asked for. It cannot stop a hung task.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from .errors import TasksFailed
from .task import Done, Failure, Job, Task, Watch, check_unique_ids

WORKER = "local"


class SerialPool:
    """Runs tasks one after the other in this process.

    Args:
        max_attempts: tries per task before it is reported as failed (>= 1).
        note: a line for the user about why this pool was chosen (e.g. Ray is missing).
    """

    workers = 1

    def __init__(self, *, max_attempts: int = 3, note: str = "") -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts={max_attempts} must be >= 1")
        self.max_attempts = max_attempts
        self.note = note

    def map(self, job: Job, tasks: Sequence[Task], *, watch: Watch | None = None) -> Iterator[Done]:
        """Run ``tasks`` in id order and yield each result as it is done.

        Raises:
            TasksFailed: after the others, when some tasks failed ``max_attempts`` times.
            BaseException: a ``job.retire_on`` error, at once (the only worker is broken).
        """
        todo = check_unique_ids(tasks)
        if not todo:
            return
        state = job.setup(*job.context)
        failures: list[Failure] = []
        for task in todo:
            for attempt in range(1, self.max_attempts + 1):
                if watch:
                    watch({WORKER: task.label})
                start = time.perf_counter()
                try:
                    value = job.run(state, task.payload)
                except job.retire_on:
                    raise  # the only worker is out of order: nothing to hand the task to
                except Exception as exc:  # noqa: BLE001 (a task's own error is retried, then reported)
                    if attempt == self.max_attempts:
                        failures.append(Failure(task, f"{type(exc).__name__}: {exc}", attempt))
                    continue
                if watch:
                    watch({WORKER: ""})
                yield Done(task.id, value, WORKER, attempt, time.perf_counter() - start)
                break
        if watch:
            watch({WORKER: ""})
        if failures:
            raise TasksFailed(failures, len(todo))

    def close(self) -> None:
        """Nothing to release; here so every pool closes the same way."""

    def __enter__(self) -> SerialPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
