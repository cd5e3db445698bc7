"""Child processes (QEMU, servers) that never outlive edgenas.

Why: ``SIGTERM`` to ``edgenas run`` left QEMU running, and ``kill -9`` of ``edgenas profile`` left
QEMU processes behind. Three layers make sure a child dies with us:

- it runs in its own process group (a terminal's Ctrl-C reaches only us, and we stop the whole
  group, not just its leader);
- on Linux the kernel SIGKILLs it when its parent dies, however that happens, ``kill -9`` included
  (``prctl(PR_SET_PDEATHSIG)``). The kernel means the parent *thread*: start children from a
  thread that lives as long as they do (the main thread);
- the CLI turns ``SIGTERM`` into :class:`Terminated`, which unwinds the stack like Ctrl-C, so the
  ``finally`` blocks that stop children and remove scratch folders run.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM: unwinds like Ctrl-C, then exits with 143 (128 + 15).

    A ``SystemExit``, so no ``except Exception`` swallows it."""

    def __init__(self) -> None:
        super().__init__(128 + signal.SIGTERM)


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux; elsewhere a no-op).

    Call it in the child; ``parent_pid`` closes the race of a parent that died before the call."""
    prctl = _prctl()
    if prctl is None:
        return
    prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signal.SIGKILL))
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


def _preexec(parent_pid: int) -> Callable[[], None] | None:
    """``die_with_parent`` for ``Popen``, with everything looked up before the fork (the child
    between fork and exec should do as little as possible)."""
    prctl = _prctl()
    if prctl is None:
        return None
    option, sig = ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL)

    def preexec() -> None:
        prctl(option, sig)
        if os.getppid() != parent_pid:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def start_child(cmd: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
    """Start ``cmd`` in its own process group, killed by the kernel if this process dies.

    Pair it with :func:`stop_child` (or use :func:`child_process`)."""
    return subprocess.Popen(list(cmd), start_new_session=True, preexec_fn=_preexec(os.getpid()), **popen_kwargs)


def stop_child(proc: subprocess.Popen, timeout_s: float = 3.0) -> None:
    """SIGTERM the child's process group, then SIGKILL it after ``timeout_s``; reap the child."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(timeout=timeout_s)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the child's pid
    except (ProcessLookupError, PermissionError):
        proc.send_signal(sig)


@contextmanager
def child_process(cmd: Sequence[str], **popen_kwargs: Any) -> Iterator[subprocess.Popen]:
    """:func:`start_child` for the block; the child is stopped on exit, exceptions included."""
    proc = start_child(cmd, **popen_kwargs)
    try:
        yield proc
    finally:
        stop_child(proc)


def _raise_terminated(signum: int, frame: Any) -> None:
    # A second SIGTERM during the clean-up kills at once; children then die with us (PDEATHSIG).
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated()


@contextmanager
def terminate_cleanly() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
