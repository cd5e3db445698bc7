"""Measurement: what one on-target inference reports, with its unit in the name of the field."""

from __future__ import annotations

from dataclasses import asdict, dataclass

UNITS = ("instructions", "cycles", "ns")


@dataclass(frozen=True)
class Measurement:
    """One inference on a device.

    ``total_count`` and ``per_layer`` are in ``unit``: emulated instructions (QEMU -icount),
    real CPU cycles, or ``ns`` of a Linux runner's CLOCK_MONOTONIC (real time on a real CPU;
    under qemu-user only the emulator's speed). ``stack_bytes`` is the peak stack depth during
    the run (painted stack; 0 where not measured, as on Linux), and ``arena_touched_bytes`` how
    much of the arena the run really used (painted arena: the highest byte written, from the
    arena start).
    Counts are integers at the counter's resolution (one SysTick tick is ~31-40 instructions).
    """

    output: bytes
    total_count: int
    per_layer: tuple[int, ...]
    unit: str
    stack_bytes: int
    arena_bytes: int | None = None
    flash_bytes: int | None = None
    arena_touched_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, got {self.unit!r}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["output"] = self.output.hex()
        d["per_layer"] = list(self.per_layer)
        return d
