"""Module-level jobs for the pool tests (a Ray worker imports them by name)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from edgenas.errors import DeviceError


def square(state: tuple, x: int) -> int:
    return x * x


def offset_setup(offset: int) -> int:
    return offset


def add_offset(state: int, x: int) -> int:
    return state + x


def niceness(state: tuple, x: int) -> int:
    """The worker's own niceness (os.nice(0) changes nothing, it only reports)."""
    return os.nice(0)


def broken_setup() -> None:
    raise RuntimeError("no supernet here")


def fail_once(state: tuple, payload: tuple[int, str]) -> int:
    """Raises the first time it sees a task (a marker file remembers), then answers."""
    x, marks = payload
    mark = Path(marks) / f"tried-{x}"
    if not mark.exists():
        mark.touch()
        raise ValueError(f"flaky on {x}")
    return x


def always_fail(state: tuple, x: int) -> int:
    raise ValueError(f"bad input {x}")


def die_once(state: tuple, payload: tuple[int, str]) -> int:
    """Kills its own worker process the first time it sees a task: a crash, not an exception."""
    x, marks = payload
    mark = Path(marks) / f"died-{x}"
    if not mark.exists():
        mark.touch()
        os._exit(1)
    return x


def hang_once(state: tuple, payload: tuple[int, str]) -> int:
    """Hangs (far past any timeout) the first time it sees a task."""
    x, marks = payload
    mark = Path(marks) / f"hung-{x}"
    if not mark.exists():
        mark.touch()
        time.sleep(600)
    return x


def board_setup(marks: str) -> str:
    """Each worker claims a board name: the first worker to start gets the broken one."""
    claim = Path(marks) / "broken-board-claimed"
    try:
        claim.touch(exist_ok=False)
        return "broken"
    except FileExistsError:
        return f"ok-{os.getpid()}"


def on_board(board: str, x: int) -> str:
    if board == "broken":
        raise DeviceError(f"board {board} does not answer")
    return f"{x}"


def counting_setup(marks: str) -> None:
    """Leaves one file per worker set up, so a test can count setups."""
    (Path(marks) / f"setup-{os.getpid()}-{time.monotonic_ns()}").touch()


def slow_setup(seconds: float) -> float:
    """A worker that takes ``seconds`` to set up (unpacking a big supernet, opening a board)."""
    time.sleep(seconds)
    return seconds
