"""Linker script generation from a board's memory regions, and reading overflows back out of ld.

Sizing everything in the linker script means a model that does not fit fails at link time; the
error text ("region `RAM' overflowed by 1234 bytes") is parsed into a MemoryOverflowError that
names the board's region and the byte count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...boards import Board
from ...paths import TARGETS_DIR

LINKER_TEMPLATE = TARGETS_DIR / "cortex_m" / "linker.ld.in"
DEFAULT_STACK_BYTES = 8192
# Guard bytes on each side of the arena (targets/cortex_m/arena.c): enough to catch a kernel that
# runs a row or a 16-byte vector past either end, and only 32 bytes of RAM.
ARENA_GUARD_BYTES = 16

# ld region names in the template -> board memory region names.
LD_REGIONS = {"FLASH": "flash", "RAM": "ram"}

_OVERFLOW = re.compile(r"region [`'\"](\w+)['\"] overflowed by (\d+) bytes")


@dataclass(frozen=True)
class RegionOverflow:
    """A board memory region that the image exceeds, and by how much."""

    region: str
    overflow_bytes: int


def render_linker_script(board: Board, stack_bytes: int = DEFAULT_STACK_BYTES) -> str:
    """Fill ``linker.ld.in`` with ``board``'s flash/RAM regions and the stack reserve."""
    if stack_bytes <= 0 or stack_bytes % 8:
        raise ValueError(f"stack_bytes must be a positive multiple of 8, got {stack_bytes}")
    values = {
        "BOARD": board.name,
        "FLASH_ORIGIN": f"{board.flash.origin:#010x}",
        "FLASH_SIZE": f"{board.flash.size_bytes:#x}",
        "RAM_ORIGIN": f"{board.ram.origin:#010x}",
        "RAM_SIZE": f"{board.ram.size_bytes:#x}",
        "STACK_BYTES": f"{stack_bytes:#x}",
        "ARENA_GUARD_BYTES": f"{ARENA_GUARD_BYTES:#x}",
    }
    text = LINKER_TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.search(r"@[A-Z_]+@", text)
    if leftover:
        raise ValueError(f"linker template placeholder {leftover.group(0)} has no value")
    return text


def parse_overflows(ld_output: str) -> list[RegionOverflow]:
    """All ``region `X' overflowed by N bytes`` lines, mapped to board region names."""
    seen: dict[str, int] = {}
    for m in _OVERFLOW.finditer(ld_output):
        region = LD_REGIONS.get(m.group(1), m.group(1).lower())
        seen[region] = max(seen.get(region, 0), int(m.group(2)))
    return [RegionOverflow(r, n) for r, n in seen.items()]
