"""Run a function on untrusted input in a child process that may crash, hang or exhaust memory.

The bench must count a segfault or an endless loop in the importer as a finding, not die of it,
so each call goes to a spawned worker over a pipe: no answer within the timeout is a hang (the
worker is killed and replaced), a closed pipe is a crash (with the worker's exit code). The
worker's address space is capped, so a model that asks for terabytes fails inside the call
(as a MemoryError the probe can report) instead of swapping the machine.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import os
import resource
from dataclasses import dataclass
from typing import Any

MEMORY_HEADROOM_BYTES = 3 << 30


def _vm_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _serve(conn: Any, module: str, func: str, parent_pid: int) -> None:  # noqa: ANN401
    from edgenas.children import die_with_parent

    die_with_parent(parent_pid)  # a bench killed mid-run leaves no worker behind
    fn = getattr(importlib.import_module(module), func)
    conn.send("ready")  # imports done: the caller's timeout now measures calls only
    base = _vm_bytes()
    limit = base + MEMORY_HEADROOM_BYTES
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        result = fn(*args)
        # After a call that ran into the cap, freed memory stays mapped (fragmented), and the next
        # call would fail for the last one's sake: such a worker answers, then retires.
        retire = _vm_bytes() > base + MEMORY_HEADROOM_BYTES // 2
        conn.send((result, retire))
        if retire:
            return


@dataclass(frozen=True)
class Died:
    """What happened instead of an answer: ``"hang"`` or ``"crash"`` (with the exit code)."""

    what: str
    exit_code: int | None = None


class Sandbox:
    """``Sandbox("mod", "fn", timeout_s).call(*args)`` -> ``mod.fn(*args)`` or a :class:`Died`."""

    def __init__(self, module: str, func: str, timeout_s: float, start_timeout_s: float = 300.0) -> None:
        self.module, self.func, self.timeout_s, self.start_timeout_s = module, func, timeout_s, start_timeout_s
        self.ctx = mp.get_context("spawn")
        self.proc: Any = None
        self.conn: Any = None
        self.restarts = 0

    def _start(self) -> None:
        parent, child = self.ctx.Pipe()
        self.proc = self.ctx.Process(target=_serve, args=(child, self.module, self.func, os.getpid()), daemon=True)
        self.proc.start()
        child.close()
        self.conn = parent
        if not parent.poll(self.start_timeout_s) or parent.recv() != "ready":
            raise RuntimeError(f"sandbox worker for {self.module}.{self.func} did not start")

    def _stop(self) -> int | None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.join()
            code = self.proc.exitcode
            self.conn.close()
            self.proc = self.conn = None
            return code
        return None

    def call(self, *args: Any) -> Any:  # noqa: ANN401
        if self.proc is None:
            self._start()
        try:
            self.conn.send(args)
            if self.conn.poll(self.timeout_s):
                result, retire = self.conn.recv()
                if retire:
                    self._stop()
                return result
            self._stop()
            self.restarts += 1
            return Died("hang")
        except (EOFError, BrokenPipeError, ConnectionResetError):
            self.proc.join(5)
            code = self.proc.exitcode
            self._stop()
            self.restarts += 1
            return Died("crash", code)

    def close(self) -> None:
        self._stop()
