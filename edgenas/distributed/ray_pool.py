"""The Ray pool: one Ray actor per worker, the driver hands out tasks and collects results.

Why actors, not plain remote functions: a worker sets up once (unpacks the supernet, holds a
board) and keeps that state for all its tasks, and an actor runs one task at a time, so a board
is a resource that exactly one task holds. Why the driver hands out one task per idle worker
instead of submitting everything: only the tasks actually running are in flight (a killed run
loses at most one per worker), a task that hangs can be timed out from its real start, and
progress can say what each worker is doing.

Failures, all bounded by ``max_attempts`` per task:
- the task raises: it is retried, on another worker when one is free;
- the worker process dies, or the task runs past ``task_timeout_s`` (counted from when it was
  handed out or its worker finished setting up, whichever is later): the worker is replaced by
  a fresh one and the task retried;
- the task raises one of ``job.retire_on`` (a board stopped answering): the worker leaves the
  pool for good and the task goes to another worker, without using up an attempt.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ClusterError, TasksFailed
from .task import Done, Failure, Job, Task, Watch, check_unique_ids


class _Worker:
    """The actor's body: set up once, then run tasks on that state."""

    def __init__(self, run: Any, setup: Any, *context: Any) -> None:
        self.run_fn = run
        self.state = setup(*context)

    def run(self, payload: Any) -> tuple[Any, str]:
        return self.run_fn(self.state, payload), f"{socket.gethostname()}:{os.getpid()}"

    def ready(self) -> bool:
        """Answers once set-up is done (an actor's calls queue behind its ``__init__``)."""
        return True


@dataclass
class _InFlight:
    slot: str
    task: Task
    start: float


class RayPool:
    """Runs tasks on ``workers`` Ray actors of the cluster ``ray`` is connected to.

    Args:
        workers: number of actors (each takes one CPU, plus ``job.resources``).
        max_attempts: tries per task before it is reported as failed (>= 1).
        task_timeout_s: a task running longer is stopped (its worker replaced) and retried.
        shutdown: call ``ray.shutdown()`` on close (the pool started the local cluster).
        note: a line for the user about the cluster (where it is, how many workers).
    """

    def __init__(self, workers: int, *, max_attempts: int = 3, task_timeout_s: float | None = None,
                 shutdown: bool = False, note: str = "") -> None:
        if workers < 1:
            raise ValueError(f"workers={workers} must be >= 1")
        if max_attempts < 1:
            raise ValueError(f"max_attempts={max_attempts} must be >= 1")
        self.workers = workers
        self.max_attempts = max_attempts
        self.task_timeout_s = task_timeout_s
        self.shutdown = shutdown
        self.note = note
        self._job: Job | None = None  # the job whose workers are kept between map calls
        self._actors: dict[str, Any] = {}
        self._start: Any = None
        self._slots = 0  # slot names handed out for the kept job
        self._retired = 0  # its workers taken out of the pool for good
        self._ready_at: dict[str, float] = {}  # slot -> when its worker was seen set up
        self._setting_up: dict[Any, str] = {}  # a worker's pending ready() -> its slot

    def _workers_for(self, job: Job, total: int) -> dict[str, Any]:
        """The kept workers of ``job`` (set up on an earlier call), topped up to what ``total``
        tasks can use: a search maps batch after batch with one job and must not unpack the
        supernet and data again for each batch."""
        import ray

        if job is not self._job:
            self._release()
            refs = tuple(ray.put(c) for c in job.context)  # shipped once, shared by every worker
            options: dict[str, Any] = {"num_cpus": 1, "max_restarts": 0}
            if job.resources:
                options["resources"] = dict(job.resources)
            actor_class = ray.remote(_Worker).options(**options)
            self._job, self._start = job, lambda: actor_class.remote(job.run, job.setup, *refs)
        while len(self._actors) < min(self.workers - self._retired, total):
            self._launch(f"w{self._slots}")
            self._slots += 1
        return self._actors

    def _launch(self, slot: str) -> None:
        """Start the worker of ``slot``; its timeout clock waits for its set-up (:meth:`_began`)."""
        self._actors[slot] = actor = self._start()
        self._ready_at.pop(slot, None)
        self._setting_up = {ref: s for ref, s in self._setting_up.items() if s != slot}
        self._setting_up[actor.ready.remote()] = slot

    def _note_ready(self, ref: Any) -> None:
        """A worker answered ready() (or failed to start: its task's own result says so)."""
        slot = self._setting_up.pop(ref)
        self._ready_at[slot] = time.monotonic()

    def _began(self, flight: _InFlight) -> float | None:
        """When ``flight`` started to run: handed out, and its worker set up (None: not yet).
        Why: on a busy machine a fresh worker's start-up alone can outlast a task's timeout."""
        ready = self._ready_at.get(flight.slot)
        return None if ready is None else max(flight.start, ready)

    def _release(self) -> None:
        """Stop the kept workers (they may hold boards or run a task no one waits for)."""
        if self._actors:
            import ray

            for actor in self._actors.values():
                ray.kill(actor, no_restart=True)
        self._job, self._actors, self._start, self._slots, self._retired = None, {}, None, 0, 0
        self._ready_at, self._setting_up = {}, {}

    def map(self, job: Job, tasks: Sequence[Task], *, watch: Watch | None = None) -> Iterator[Done]:
        """Run ``tasks`` on the workers and yield each result as it arrives (not in id order).

        Tasks are handed out in id order. The workers stay set up for the next call with the same
        ``job`` object. Closing the iterator early stops the workers; the tasks then in flight
        are lost, the yielded ones are not.

        Raises:
            TasksFailed: after all others, when some tasks failed ``max_attempts`` times.
            ClusterError: a worker's setup failed, or every worker was retired.
        """
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        queue = deque(check_unique_ids(tasks))
        if not queue:
            return
        total = len(queue)
        actors = self._workers_for(job, total)
        busy = {slot: "" for slot in actors}
        running: dict[Any, _InFlight] = {}
        attempts: dict[int, int] = {}
        avoid: dict[int, str] = {}  # task id -> the worker it last failed on
        failures: list[Failure] = []

        def tell() -> None:
            if watch:
                watch(dict(busy))

        def pick(slot: str) -> Task | None:
            others_alive = len(actors) > 1
            for i, task in enumerate(queue):
                if avoid.get(task.id) != slot or not others_alive:
                    del queue[i]
                    return task
            return None

        def retry(task: Task, error: str, *, counts: bool = True) -> None:
            if counts and attempts[task.id] >= self.max_attempts:
                failures.append(Failure(task, error, attempts[task.id]))
            else:
                if not counts:
                    attempts[task.id] -= 1
                queue.appendleft(task)  # keeps id order: it was the earliest one handed out

        def replace(slot: str) -> None:
            ray.kill(actors[slot], no_restart=True)
            self._launch(slot)

        finished = False
        try:
            while queue or running:
                for slot in sorted(actors):
                    if busy[slot] or not queue:
                        continue
                    task = pick(slot)
                    if task is None:
                        continue
                    attempts[task.id] = attempts.get(task.id, 0) + 1
                    running[actors[slot].run.remote(task.payload)] = _InFlight(slot, task, time.monotonic())
                    busy[slot] = task.label or str(task.id)
                tell()
                if not running:
                    raise ClusterError(f"no worker left for {len(queue)} tasks (all were taken out of the pool)",
                                       hint="check the boards or devices that stopped answering, then run again")
                ready, _ = ray.wait([*running, *self._setting_up], num_returns=1, timeout=self._wait_s(running))
                if not ready:
                    self._stop_overdue(running, busy, avoid, replace, retry)
                    continue
                if ready[0] in self._setting_up:
                    self._note_ready(ready[0])
                    continue
                flight = running.pop(ready[0])
                busy[flight.slot] = ""
                try:
                    value, where = ray.get(ready[0])
                except RayActorError as exc:
                    if getattr(exc, "actor_init_failed", False):
                        raise ClusterError(f"a worker could not start: {exc}",
                                           hint="the job's setup failed; see the error above") from exc
                    replace(flight.slot)
                    avoid[flight.task.id] = flight.slot
                    retry(flight.task, "its worker died")
                except RayTaskError as exc:
                    cause = exc.cause if isinstance(exc.cause, BaseException) else exc
                    avoid[flight.task.id] = flight.slot
                    if job.retire_on and isinstance(cause, job.retire_on):
                        ray.kill(actors.pop(flight.slot), no_restart=True)
                        self._ready_at.pop(flight.slot, None)
                        self._retired += 1
                        del busy[flight.slot]
                        retry(flight.task, f"{type(cause).__name__}: {cause}", counts=False)
                    else:
                        retry(flight.task, f"{type(cause).__name__}: {cause}")
                else:
                    tell()
                    yield Done(flight.task.id, value, f"{flight.slot} ({where})", attempts[flight.task.id],
                               time.monotonic() - flight.start)
            finished = True
        finally:
            if not finished:  # closed early or failed: tasks may still run on the workers
                self._release()
            busy = {slot: "" for slot in busy}
            tell()
        if failures:
            raise TasksFailed(sorted(failures, key=lambda f: f.task.id), total)

    def _wait_s(self, running: dict[Any, _InFlight]) -> float | None:
        """How long to wait for a result before the oldest running task is overdue."""
        begun = [b for b in map(self._began, running.values()) if b is not None]
        if self.task_timeout_s is None or not begun:
            return None
        return max(0.0, min(begun) + self.task_timeout_s - time.monotonic())

    def _stop_overdue(self, running: dict[Any, _InFlight], busy: dict[str, str], avoid: dict[int, str],
                      replace: Any, retry: Any) -> None:
        now = time.monotonic()
        for ref, flight in list(running.items()):
            began = self._began(flight)
            if self.task_timeout_s is not None and began is not None and now - began >= self.task_timeout_s:
                del running[ref]
                busy[flight.slot] = ""
                replace(flight.slot)
                avoid[flight.task.id] = flight.slot
                retry(flight.task, f"no result within {self.task_timeout_s:g} s")

    def close(self) -> None:
        """Stop the kept workers; disconnect from Ray, stopping the local cluster if this pool started it."""
        self._release()
        if self.shutdown:
            import ray

            ray.shutdown()
            self.shutdown = False

    def __enter__(self) -> RayPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
