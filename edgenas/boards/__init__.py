"""Board profiles: the frozen Board value and the registry that loads built-ins and plugins."""

from .board import Board, FlashSpec, MemoryRegion, PinMux, RegisterBit, SerialSpec, UartSpec
from .cflags import cflag_problem
from .device import DEVICE_DRIVERS, DeviceProfile, RunnerSpec
from .hookspecs import hookimpl
from .loader import load_board_file, parse_board
from .registry import (
    DEFAULT_BOARD_FOR_CORE,
    BoardRegistry,
    board_for_target,
    default_registry,
    get_board,
    list_boards,
    user_boards_dir,
)

__all__ = [
    "Board", "FlashSpec", "MemoryRegion", "PinMux", "RegisterBit", "SerialSpec", "UartSpec", "hookimpl",
    "DEVICE_DRIVERS", "DeviceProfile", "RunnerSpec", "cflag_problem", "load_board_file", "parse_board", "DEFAULT_BOARD_FOR_CORE", "BoardRegistry", "board_for_target",
    "default_registry", "get_board", "list_boards", "user_boards_dir",
]
