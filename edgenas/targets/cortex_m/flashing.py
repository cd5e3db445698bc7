"""Flash firmware onto a real board with pyOCD.

pyOCD drives ST-LINK, CMSIS-DAP and J-Link probes. Board profiles name the pyOCD target (a
CMSIS-pack part name such as ``stm32f746zgtx``; install its pack once with
``pyocd pack install <target>``).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ...boards import Board
from ...errors import BoardError, DeviceError, ToolchainError

PYOCD = "pyocd"
_NO_PROBE = ("no available debug probes", "no connected debug probes", "no probe")


def pyocd_command(board: Board, binary: Path, *, probe_uid: str | None = None, pyocd: str = PYOCD) -> list[str]:
    """The ``pyocd load`` command writing ``binary`` at the board's flash origin."""
    if board.flash_method.method != "pyocd" or not board.flash_method.target:
        raise BoardError(f"board {board.name} is not flashed with pyOCD (method {board.flash_method.method!r})",
                         hint="emulated boards run with run_qemu(); no flashing needed")
    cmd = [pyocd, "load", "--target", board.flash_method.target, "--format", "bin",
           "--base-address", f"{board.flash.origin:#010x}"]
    if probe_uid:
        cmd += ["--uid", probe_uid]
    return cmd + [str(binary)]


def flash(board: Board, binary: Path | str, *, probe_uid: str | None = None, timeout_s: float = 120.0) -> None:
    """Write ``binary`` (firmware.bin) to ``board`` and reset it.

    Raises:
        BoardError: the board is not flashable with pyOCD.
        ToolchainError: pyOCD missing, or it failed for another reason.
        DeviceError: no probe connected / the probe did not answer in time.
    """
    binary = Path(binary)
    if not binary.is_file():
        raise ToolchainError(f"firmware image {binary} does not exist", hint="build it with build_firmware() first")
    exe = shutil.which(PYOCD)
    if exe is None:
        raise ToolchainError("pyocd not found on PATH", hint="pip install pyocd (then `pyocd pack install "
                             f"{board.flash_method.target or '<target>'}`)")
    cmd = pyocd_command(board, binary, probe_uid=probe_uid, pyocd=exe)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise DeviceError(f"pyocd did not finish flashing {board.name} within {timeout_s:.0f} s",
                          hint="unplug and replug the board, then retry") from e
    if proc.returncode != 0:
        text = (proc.stdout + proc.stderr).strip()
        if any(s in text.lower() for s in _NO_PROBE):
            raise DeviceError(f"no debug probe found to flash {board.name}",
                              hint="connect the board's ST-LINK USB port; check udev rules for the probe")
        raise ToolchainError(f"pyocd failed flashing {board.name}: {text[-1500:]}",
                             hint=f"is the pack installed? `pyocd pack install {board.flash_method.target}`")
