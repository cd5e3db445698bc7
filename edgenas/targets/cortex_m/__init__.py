"""Cortex-M target family: firmware build, QEMU and real-board runs, flashing, ELF memory."""

from .build import Firmware, board_config_header, build_firmware
from .driver import build, connect, run
from .elf import ARENA_SYMBOL, WEIGHT_PREFIX, elf_memory
from .flashing import flash, pyocd_command
from .linker import RegionOverflow, parse_overflows, render_linker_script
from .qemu import qemu_process, run_qemu

__all__ = [
    "Firmware", "board_config_header", "build_firmware", "build", "connect", "run", "ARENA_SYMBOL",
    "WEIGHT_PREFIX", "elf_memory", "flash", "pyocd_command", "RegionOverflow", "parse_overflows",
    "render_linker_script", "qemu_process", "run_qemu",
]
