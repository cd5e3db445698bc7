"""Run firmware in QEMU with a TCP serial port, and always stop the emulator afterwards.

QEMU runs with ``-icount shift=0``: one guest instruction is one ns of virtual time, which makes
SysTick counts a deterministic function of the instruction stream (see timer_systick.c). The
serial port is a TCP server that waits for us (``wait=on``) so no byte of the guest is lost, and
sends each byte at once (``nodelay=on``: with Nagle's algorithm, a reply stalled ~40 ms mid-frame
waiting for our delayed ACK). ``EDGENAS_QEMU_ARGS`` adds arguments to every emulator started (a
development hook: ``bench/instruction_trace.py`` sets it to log every executed instruction).
"""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import serial

from ...boards import Board
from ...children import start_child, stop_child
from ...errors import BoardError, ToolchainError
from ..transport import connect_socket
from .build import Firmware

QEMU = "qemu-system-arm"
ICOUNT_SHIFT = 0
EXTRA_ARGS_ENV = "EDGENAS_QEMU_ARGS"


@dataclass
class QemuProcess:
    """A running emulator and the TCP port its UART0 listens on."""

    process: subprocess.Popen
    port: int
    command: list[str]

    def alive(self) -> bool:
        return self.process.poll() is None

    def stderr_tail(self) -> str:
        if self.alive() or self.process.stderr is None:
            return ""
        return self.process.stderr.read().decode(errors="replace")[-2000:]


def free_tcp_port() -> int:
    """A port that was free a moment ago (the OS picks it; QEMU binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def qemu_command(elf: Path, board: Board, port: int) -> list[str]:
    if not board.emulated:
        raise BoardError(f"board {board.name} is not emulated (no [qemu] machine in its profile)",
                         hint="flash it with edgenas.targets.cortex_m.flash() and talk over its USB serial port")
    return [
        QEMU, *shlex.split(os.environ.get(EXTRA_ARGS_ENV, "")), "-M", board.qemu_machine, "-nographic", "-monitor", "none",
        "-icount", f"shift={ICOUNT_SHIFT}",
        "-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on",
        "-kernel", str(elf),
    ]


@contextmanager
def qemu_process(firmware: Firmware | Path, board: Board) -> Iterator[QemuProcess]:
    """Start QEMU on ``firmware`` for ``board``; the guest starts when a client connects to ``.port``.

    The emulator is killed on exit from the block, including on exceptions, KeyboardInterrupt and
    the CLI's SIGTERM; and by the kernel if this process is killed outright (``children.py``).
    """
    qemu = shutil.which(QEMU)
    if qemu is None:
        raise ToolchainError(f"{QEMU} not found on PATH", hint="install QEMU (Debian: apt install qemu-system-arm)")
    elf = firmware.elf if isinstance(firmware, Firmware) else Path(firmware)
    if not elf.is_file():
        raise ToolchainError(f"firmware {elf} does not exist", hint="build it with build_firmware() first")
    port = free_tcp_port()
    cmd = qemu_command(elf, board, port)
    # Own process group: a terminal Ctrl-C reaches us, and we (not the terminal) stop the emulator.
    proc = start_child(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield QemuProcess(proc, port, cmd)
    finally:
        stop_child(proc)


@contextmanager
def run_qemu(firmware: Firmware | Path, board: Board, *, connect_timeout_s: float = 10.0
             ) -> Iterator[serial.SerialBase]:
    """Start QEMU and yield a connected pyserial stream to the guest's UART (``socket://``)."""
    with qemu_process(firmware, board) as q:
        try:
            link = connect_socket(q.port, timeout_s=connect_timeout_s, alive=q.alive)
        except Exception as e:
            raise ToolchainError(f"QEMU for {board.name} did not accept a connection: {e}\n{q.stderr_tail()}",
                                 hint="check the machine name and the firmware ELF") from e
        try:
            yield link
        finally:
            link.close()
