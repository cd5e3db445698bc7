"""Opening the byte stream to a device: a real board's USB serial port, or QEMU's TCP serial.

The protocol code only needs ``read``/``write``/``timeout``; pyserial gives that for both
``/dev/ttyACM0`` and ``socket://127.0.0.1:PORT``, so only the URL differs between the two.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import serial
from serial.tools import list_ports

from ..boards import Board
from ..errors import DeviceError


def open_serial(url: str, *, baudrate: int = 115200, timeout_s: float = 0.1) -> serial.SerialBase:
    """Open ``url`` (a device path or any pyserial URL) or raise DeviceError."""
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=timeout_s)
    except (serial.SerialException, ValueError) as e:
        raise DeviceError(f"cannot open serial link {url}: {e}",
                          hint="check the port name and that no other program holds it") from e


def connect_socket(port: int, *, host: str = "127.0.0.1", timeout_s: float = 10.0,
                   alive: Callable[[], bool] = lambda: True) -> serial.SerialBase:
    """Connect to a TCP serial server (QEMU) that may not be listening yet; retry until ``timeout_s``.

    ``alive()`` is polled between tries so a crashed emulator fails fast instead of timing out.
    """
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if not alive():
            break
        try:
            link = serial.serial_for_url(f"socket://{host}:{port}", timeout=0.1)
        except serial.SerialException as e:
            last = e
            time.sleep(0.05)
            continue
        # Frames are small writes: without TCP_NODELAY, Nagle's algorithm holds a write back until
        # the previous one is acknowledged, and delayed ACKs make that up to 40 ms per frame.
        sock = getattr(link, "_socket", None)
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return link
    raise DeviceError(f"could not connect to {host}:{port} within {timeout_s:.0f} s ({last})",
                      hint="the emulator did not start listening; see its stderr")


def matching_ports(board: Board, ports: list | None = None) -> list[str]:
    """Device paths of USB serial ports whose VID/PID match ``board.serial`` (sorted)."""
    if board.serial.kind != "usb":
        return []
    ports = list_ports.comports() if ports is None else ports
    return sorted(p.device for p in ports
                  if p.vid == board.serial.vid and p.pid in board.serial.pids)


def find_serial_port(board: Board, ports: list | None = None) -> str:
    """The single serial port of a connected ``board``.

    Raises:
        DeviceError: the board has no USB serial, none is connected, or several match.
    """
    if board.serial.kind != "usb":
        raise DeviceError(f"board {board.name} has no USB serial port (serial kind {board.serial.kind!r})",
                          hint="emulated boards are reached through run_qemu()")
    found = matching_ports(board, ports)
    ids = ", ".join(f"{board.serial.vid:04x}:{p:04x}" for p in board.serial.pids)
    if not found:
        raise DeviceError(f"no serial port for {board.name} (USB ids {ids})",
                          hint="plug the board in, check the cable carries data, and that you may open "
                               "/dev/ttyACM* (dialout group); or pass the port explicitly")
    if len(found) > 1:
        raise DeviceError(f"{len(found)} serial ports match {board.name}: {', '.join(found)}",
                          hint="pass the port explicitly to pick one")
    return found[0]
