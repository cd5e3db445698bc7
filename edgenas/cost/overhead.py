"""Firmware bytes besides the model's weights and arena, from the measured table.

``edgenas/assets/cost/firmware_overhead.json`` is written by :mod:`edgenas.cost.calibrate` from
real builds (see its docstring for the method). Flash: runtime kernels, harness, startup and the
per-layer parameter structs and call sites. RAM: harness buffers (input and output copies, link
buffer, profiler slots), libc state, and the board firmware's stack reserve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from ..boards import Board
from ..errors import BoardError
from ..paths import OVERHEAD_TABLE

DEFAULT_STACK_BYTES = 8192  # edgenas.targets.cortex_m.linker.DEFAULT_STACK_BYTES (targets is not imported here)


def _align16(n: int) -> int:
    return -(-n // 16) * 16


@dataclass(frozen=True)
class FirmwareOverhead:
    """Fitted overhead of one core family (estimates: see ``*_max_residual_bytes``).

    Attributes:
        core: e.g. ``cortex-m7``.
        flash_base_bytes, flash_per_layer_bytes: flash besides ``en_w_*`` weights.
        flash_strided_dw_bytes: code the strided depthwise strategy adds when a layer calls it.
        flash_kx1_dw_bytes: code the Kx1 depthwise strategy adds when a layer calls it.
        flash_kx1_long_dw_bytes: the same for the long-Kx1 (row-pair) strategy.
        ram_base_bytes, ram_per_layer_bytes: RAM besides arena, I/O copies and stack reserve.
        stack_reserve_bytes: the stack reserve the linker script places after ``.bss``.
        flash_max_residual_bytes, ram_max_residual_bytes: worst fit error over the calibration builds.
    """

    core: str
    flash_base_bytes: float
    flash_per_layer_bytes: float
    ram_base_bytes: float
    ram_per_layer_bytes: float
    flash_strided_dw_bytes: float = 0.0
    flash_kx1_dw_bytes: float = 0.0
    flash_kx1_long_dw_bytes: float = 0.0
    stack_reserve_bytes: int = DEFAULT_STACK_BYTES
    flash_max_residual_bytes: float = 0.0
    ram_max_residual_bytes: float = 0.0

    def flash_bytes(self, layers: int, strided_dw: bool = False, kx1_dw: bool = False,
                    kx1_long_dw: bool = False) -> int:
        """Flash used besides the model weights by a model of ``layers`` kernel calls (with
        ``strided_dw`` / ``kx1_dw`` / ``kx1_long_dw``: one that calls the strided / Kx1 /
        long-Kx1 depthwise entry point)."""
        return int(round(self.flash_base_bytes + self.flash_per_layer_bytes * layers
                         + (self.flash_strided_dw_bytes if strided_dw else 0.0)
                         + (self.flash_kx1_dw_bytes if kx1_dw else 0.0)
                         + (self.flash_kx1_long_dw_bytes if kx1_long_dw else 0.0)))

    def ram_bytes(self, layers: int, input_bytes: int, output_bytes: int) -> int:
        """RAM besides the arena: harness I/O copies (16-aligned), fixed state, stack reserve."""
        fixed = int(round(self.ram_base_bytes + self.ram_per_layer_bytes * layers))
        return fixed + _align16(input_bytes) + _align16(output_bytes) + self.stack_reserve_bytes


@lru_cache(maxsize=None)
def _table() -> dict:
    if not OVERHEAD_TABLE.is_file():
        return {"cores": {}}
    return json.loads(OVERHEAD_TABLE.read_text())


def overhead_for_core(core: str) -> FirmwareOverhead:
    """The measured overhead for ``core``.

    Raises:
        BoardError: no measurement for that core.
    """
    entry = _table()["cores"].get(core)
    if entry is None:
        known = ", ".join(sorted(_table()["cores"])) or "none"
        raise BoardError(f"no firmware overhead measured for core {core!r} (measured: {known})",
                         hint="run `python -m edgenas.cost.calibrate " + core + "` with the Arm toolchain installed")
    return FirmwareOverhead(
        core=core,
        flash_base_bytes=entry["flash"]["base_bytes"],
        flash_per_layer_bytes=entry["flash"]["per_layer_bytes"],
        flash_strided_dw_bytes=entry["flash"].get("strided_dw_bytes", 0.0),
        flash_kx1_dw_bytes=entry["flash"].get("kx1_dw_bytes", 0.0),
        flash_kx1_long_dw_bytes=entry["flash"].get("kx1_long_dw_bytes", 0.0),
        ram_base_bytes=entry["ram"]["base_bytes"],
        ram_per_layer_bytes=entry["ram"]["per_layer_bytes"],
        stack_reserve_bytes=int(entry["builds"][0]["stack_reserve_bytes"]),
        flash_max_residual_bytes=entry["flash"]["max_abs_residual_bytes"],
        ram_max_residual_bytes=entry["ram"]["max_abs_residual_bytes"],
    )


def overhead_for_board(board: Board) -> FirmwareOverhead:
    return overhead_for_core(board.core)
