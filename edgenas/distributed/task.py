"""What a pool runs: a :class:`Job` (set up once per worker, then run per task) over :class:`Task` s.

Why a job has a setup step: a worker measures many subnets with the same supernet and data, or
profiles many batches on the same board; unpacking the supernet (or opening a board) once per
worker, not once per task, is what keeps a task cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


def _no_setup(*context: Any) -> tuple[Any, ...]:
    return context


@dataclass(frozen=True)
class Job:
    """The work every worker does.

    Attributes:
        run: ``run(state, payload) -> value`` for one task. Must be a module-level function (a
            Ray worker unpickles it by reference).
        setup: ``setup(*context) -> state``, once per worker (default: the context tuple itself).
        context: what setup needs (a supernet, data splits, a board); shipped once to each worker.
        retire_on: exception types meaning the *worker* is broken (a board that stopped answering),
            not the task: the worker leaves the pool and the task goes to another one.
        resources: Ray resources one worker holds for its lifetime, e.g. ``{"board:mps2-an500": 1}``.
    """

    run: Callable[[Any, Any], Any]
    setup: Callable[..., Any] = _no_setup
    context: tuple[Any, ...] = ()
    retire_on: tuple[type[BaseException], ...] = ()
    resources: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Task:
    """One unit of work. ``id`` orders results (never arrival); ``label`` is what progress shows."""

    id: int
    payload: Any
    label: str = ""


@dataclass(frozen=True)
class Done:
    """A finished task: its value, which worker ran it, after how many attempts, in how long."""

    task_id: int
    value: Any
    worker: str
    attempts: int
    seconds: float


@dataclass(frozen=True)
class Failure:
    """A task that failed on every allowed attempt; ``error`` is the last one's message."""

    task: Task
    error: str
    attempts: int


Watch = Callable[[dict[str, str]], None]
"""Called with ``{worker: label of its task, or "" when idle}`` whenever that changes."""


def in_task_order(results: Iterable[Done]) -> list[Done]:
    """``results`` sorted by task id: the order every output is written in, whatever the arrival."""
    return sorted(results, key=lambda d: d.task_id)


def values_in_order(pool: Pool, job: Job, payloads: Sequence[Any], labels: Sequence[str] | None = None, *,
                    watch: Watch | None = None) -> Iterator[Any]:
    """Each payload's value, in payload order, as soon as it and every earlier one are done.

    Why: a search loop stores scores in the order it asked for them, so a result that arrives
    early waits for the ones before it; none waits for a later one.
    """
    tasks = [Task(i, p, labels[i] if labels else "") for i, p in enumerate(payloads)]
    ready: dict[int, Any] = {}
    nxt = 0
    for done in pool.map(job, tasks, watch=watch):
        ready[done.task_id] = done.value
        while nxt in ready:
            yield ready.pop(nxt)
            nxt += 1


def check_unique_ids(tasks: Iterable[Task]) -> list[Task]:
    """The tasks as a list, sorted by id.

    Raises:
        ValueError: two tasks share an id (their results could not be told apart).
    """
    out = sorted(tasks, key=lambda t: t.id)
    for a, b in zip(out, out[1:]):
        if a.id == b.id:
            raise ValueError(f"task id {a.id} is used twice")
    return out


class Pool(Protocol):
    """What :class:`~edgenas.distributed.SerialPool` and :class:`~edgenas.distributed.RayPool` offer."""

    workers: int
    note: str

    def map(self, job: Job, tasks: Sequence[Task], *, watch: Watch | None = None) -> Iterator[Done]: ...

    def close(self) -> None: ...
