"""The one exception family of edgenas.

Every error a user can cause or meet carries a message naming the bad value and a
``hint`` saying what to do; the CLI prints both and exits with ``exit_code``
(1 user/data, 2 usage, 3 board or toolchain unreachable).
"""

from __future__ import annotations


class EdgenasError(Exception):
    """Base class: ``str(e)`` is the message, ``e.hint`` the suggested fix."""

    exit_code = 1

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(EdgenasError):
    """A command-line value that cannot be understood (bad unit, unknown name)."""

    exit_code = 2


class DataError(EdgenasError):
    """A dataset that is missing, empty or inconsistent."""


class SpaceError(EdgenasError):
    """An architecture that does not belong to its search space."""


class CheckpointError(EdgenasError):
    """A checkpoint that is missing, corrupt, or made for another space."""


class ModelFormatError(EdgenasError):
    """A model file (.tflite, graph) that is malformed or uses something unsupported."""


class UnsupportedOpError(ModelFormatError):
    """An operator or tensor type the compiler does not implement."""


class BoardError(EdgenasError):
    """A board profile that is unknown or invalid."""


class ToolchainError(EdgenasError):
    """A compiler, emulator or flasher that is missing or failed."""

    exit_code = 3


class DeviceError(EdgenasError):
    """A device (real or emulated) that does not answer or answers wrongly."""

    exit_code = 3


class MemoryOverflowError(EdgenasError):
    """A model that does not fit a memory region or arena."""


class ArenaOverrunError(EdgenasError):
    """A model that wrote outside its arena: a guard byte next to ``en_arena`` changed.

    Attributes:
        side: ``"above"`` (past the end) or ``"below"`` (before the start).
        reach_bytes: how far the overrun reached into the guard (at least this many bytes).
        arena_bytes: the arena's size.
    """

    def __init__(self, message: str, hint: str = "", *, side: str = "above", reach_bytes: int = 0,
                 arena_bytes: int = 0) -> None:
        super().__init__(message, hint)
        self.side, self.reach_bytes, self.arena_bytes = side, reach_bytes, arena_bytes

    @classmethod
    def at(cls, where: str, side: str, reach_bytes: int, arena_bytes: int) -> ArenaOverrunError:
        """The error for an overrun seen ``where`` ("on the device", "in the host build (input 3)")."""
        edge = "past the end of" if side == "above" else "before the start of"
        return cls(f"the model wrote {reach_bytes} byte(s) {edge} its {arena_bytes:,}-byte arena {where} "
                   f"(the guard {side} en_arena changed): no output or memory figure of this run can be trusted",
                   hint="the generated model.c or its memory plan is wrong (a buffer larger than planned, or an "
                        "offset off); compile the model again, and build it for the host with sanitize=True to "
                        "find the kernel",
                   side=side, reach_bytes=reach_bytes, arena_bytes=arena_bytes)


class InfeasibleBudgetError(EdgenasError):
    """A budget no architecture of the space can meet."""
