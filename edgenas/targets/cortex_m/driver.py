"""The cortex_m driver: build, flash and run one model on one board (emulated or real).

Same small interface as every target family: build(model, board) -> Firmware,
run(firmware, inputs) -> Measurement, flash(firmware). Emulated boards run in QEMU; real boards
are flashed with pyOCD and reached over their USB serial port.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from ...boards import Board
from ...errors import ToolchainError
from ..measurement import Measurement
from ..protocol import DeviceClient
from ..transport import find_serial_port, open_serial
from .build import Firmware, build_firmware
from .elf import elf_memory
from .flashing import flash as _flash
from .qemu import ICOUNT_SHIFT, run_qemu

__all__ = ["build", "connect", "flash", "run"]


def build(model: Path | Sequence[Path], board: Board, out_dir: Path, **kwargs) -> Firmware:
    """Build firmware (see :func:`build_firmware`)."""
    return build_firmware(model, board, out_dir, **kwargs)


def flash(firmware: Firmware, *, probe_uid: str | None = None) -> None:
    """Flash a real board (see :func:`edgenas.targets.cortex_m.flashing.flash`)."""
    _flash(firmware.board, firmware.bin, probe_uid=probe_uid)


@contextmanager
def connect(firmware: Firmware, *, port: str | None = None, invoke_timeout_s: float = 60.0
            ) -> Iterator[DeviceClient]:
    """A handshaken DeviceClient for ``firmware``: in QEMU if the board is emulated, else over the
    board's serial port (``port`` or discovered by VID/PID; the board must already be flashed)."""
    board = firmware.board
    if board.emulated:
        with run_qemu(firmware, board) as link:
            client = DeviceClient(link, invoke_timeout_s=invoke_timeout_s, icount_shift=ICOUNT_SHIFT)
            client.hello()
            yield client
        return
    link = open_serial(port or find_serial_port(board), baudrate=board.uart.baud)
    try:
        client = DeviceClient(link, invoke_timeout_s=invoke_timeout_s)
        client.hello()
        yield client
    finally:
        link.close()


def run(firmware: Firmware, inputs: Sequence[bytes], *, port: str | None = None) -> list[Measurement]:
    """Run each input once; measurements carry the image's flash and arena sizes.

    Raises:
        ArenaOverrunError: an inference wrote outside the arena (a guard next to it changed).
        ToolchainError: the harness's guarded arena is not the ELF's ``en_arena`` (the linker
            script did not place it between the guards, so overruns would go unseen).
    """
    mem = elf_memory(firmware.elf)
    with connect(firmware, port=port) as client:
        assert client.info is not None
        if client.info.arena_bytes != mem["arena_bytes"]:
            raise ToolchainError(
                f"the harness guards a {client.info.arena_bytes}-byte arena but en_arena is {mem['arena_bytes']} bytes",
                hint="the linker script must place the .bss.en_arena section between the arena guards; "
                     "build with -fdata-sections and edgenas's linker.ld")
        return [replace(client.run(x), arena_bytes=mem["arena_bytes"], flash_bytes=mem["flash_bytes"])
                for x in inputs]
