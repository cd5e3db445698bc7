"""Real-board plumbing without a board: the pyOCD command line (run through a stand-in `pyocd`
executable on PATH, so the real subprocess path is exercised) and serial port discovery."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from serial.tools.list_ports_common import ListPortInfo

from edgenas.errors import BoardError, DeviceError, ToolchainError
from edgenas.targets.cortex_m.flashing import flash, pyocd_command
from edgenas.targets.transport import find_serial_port, matching_ports


def _fake_pyocd(tmp_path: Path, body: str) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    exe = bindir / "pyocd"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return bindir


def test_pyocd_command_uses_board_target_and_flash_origin(boards, tmp_path):
    cmd = pyocd_command(boards.get("nucleo-h743zi2"), tmp_path / "fw.bin", probe_uid="0669FF")
    assert cmd == ["pyocd", "load", "--target", "stm32h743zitx", "--format", "bin",
                   "--base-address", "0x08000000", "--uid", "0669FF", str(tmp_path / "fw.bin")]
    with pytest.raises(BoardError, match="not flashed with pyOCD"):
        pyocd_command(boards.get("mps2-an500"), tmp_path / "fw.bin")


def test_flash_runs_pyocd_with_the_command(boards, tmp_path, monkeypatch):
    log = tmp_path / "args.txt"
    bindir = _fake_pyocd(tmp_path, f'echo "$@" > {log}\nexit 0\n')
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    image = tmp_path / "firmware.bin"
    image.write_bytes(b"\x00" * 16)
    flash(boards.get("disco-f746ng"), image)
    assert log.read_text().split() == ["load", "--target", "stm32f746nghx", "--format", "bin",
                                       "--base-address", "0x08000000", str(image)]


def test_flash_without_probe_is_a_device_error(boards, tmp_path, monkeypatch):
    bindir = _fake_pyocd(tmp_path, 'echo "0000:ERROR:__main__:No connected debug probes" >&2\nexit 1\n')
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    image = tmp_path / "firmware.bin"
    image.write_bytes(b"\x00")
    with pytest.raises(DeviceError, match="no debug probe") as e:
        flash(boards.get("nucleo-f746zg"), image)
    assert "ST-LINK" in e.value.hint


def test_flash_without_pyocd_is_a_toolchain_error(boards, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    image = tmp_path / "firmware.bin"
    image.write_bytes(b"\x00")
    with pytest.raises(ToolchainError, match="pyocd not found") as e:
        flash(boards.get("nucleo-f746zg"), image)
    assert "pip install pyocd" in e.value.hint


def _port(device: str, vid: int | None, pid: int | None) -> ListPortInfo:
    p = ListPortInfo(device, skip_link_detection=True)
    p.vid, p.pid = vid, pid
    return p


def test_serial_port_discovery_by_vid_pid(boards):
    ports = [_port("/dev/ttyUSB0", 0x0403, 0x6001), _port("/dev/ttyACM1", 0x0483, 0x374E),
             _port("/dev/ttyACM0", 0x0483, 0x374B), _port("/dev/ttyS0", None, None)]
    assert find_serial_port(boards.get("nucleo-f746zg"), ports) == "/dev/ttyACM0"
    assert find_serial_port(boards.get("nucleo-h743zi2"), ports) == "/dev/ttyACM1"
    assert matching_ports(boards.get("mps2-an500"), ports) == []


def test_serial_port_errors(boards):
    with pytest.raises(DeviceError, match="no serial port for nucleo-f746zg") as e:
        find_serial_port(boards.get("nucleo-f746zg"), [_port("/dev/ttyUSB0", 0x0403, 0x6001)])
    assert "dialout" in e.value.hint
    two = [_port("/dev/ttyACM0", 0x0483, 0x374B), _port("/dev/ttyACM1", 0x0483, 0x374B)]
    with pytest.raises(DeviceError, match="2 serial ports match"):
        find_serial_port(boards.get("disco-f746ng"), two)
    with pytest.raises(DeviceError, match="no USB serial port"):
        find_serial_port(boards.get("mps3-an547"), [])
