"""Talking to an Android device through the ``adb`` client (Debian's ``adb`` package).

Only three adb verbs are used: ``devices -l``, ``push`` and ``shell``. A shell command's exit
status is echoed by the device itself (``; echo EN_RC=$?``) because old adb clients and devices
without shell protocol v2 always return 0; a missing ``EN_RC`` line means the connection broke,
which is :class:`DeviceLost` (the profile loop has saved every batch before it, so a rerun
resumes).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ...errors import DeviceError, ToolchainError

_RC = re.compile(r"EN_RC=(-?\d+)\s*$")
_LOST = ("not found", "offline", "no devices", "closed", "disconnected", "device still authorizing",
         "protocol fault", "connection reset")


class DeviceLost(DeviceError):
    """The device went away (unplugged, rebooted, adb server killed) in the middle of a command."""


@dataclass(frozen=True)
class AdbDevice:
    """One line of ``adb devices -l``: serial, state (``device``, ``unauthorized``...), extra fields."""

    serial: str
    state: str
    details: dict[str, str]


def find_adb(adb: str = "adb") -> str:
    """Absolute path of the adb client.

    Raises:
        ToolchainError: not on PATH.
    """
    path = shutil.which(adb)
    if path is None:
        raise ToolchainError(f"{adb!r} (the Android Debug Bridge client) is not on PATH",
                             hint="apt-get install adb (or `make setup`), or put Android platform-tools on PATH")
    return path


def parse_devices(text: str) -> list[AdbDevice]:
    """Devices from ``adb devices -l`` output (daemon start-up chatter before the list is skipped)."""
    lines = text.replace("\r", "").splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("List of devices attached")) + 1
    except StopIteration:
        return []
    out = []
    for line in lines[start:]:
        if not line.strip() or line.startswith("*"):
            continue
        serial, _, rest = line.partition(" ") if "\t" not in line else line.partition("\t")
        rest = rest.strip()
        # "no permissions (...)" is a two-word state followed by free text
        if rest.startswith("no permissions"):
            state, extra = "no permissions", rest[len("no permissions"):]
        else:
            state, _, extra = rest.partition(" ")
        details = dict(kv.split(":", 1) for kv in extra.split() if ":" in kv)
        out.append(AdbDevice(serial.strip(), state, details))
    return out


class Adb:
    """An adb client bound to one device (chosen by :meth:`select`)."""

    def __init__(self, adb: str = "adb", *, timeout_s: float = 30.0) -> None:
        self.adb = find_adb(adb)
        self.timeout_s = timeout_s
        self.serial: str | None = None

    def _call(self, args: list[str], timeout_s: float | None = None) -> subprocess.CompletedProcess:
        cmd = [self.adb, *(["-s", self.serial] if self.serial else []), *args]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False,
                                  timeout=timeout_s or self.timeout_s)
        except subprocess.TimeoutExpired as e:
            raise DeviceLost(f"adb {' '.join(args[:2])} did not answer within {timeout_s or self.timeout_s:.0f} s",
                             hint="check the cable and `adb devices`; then run the same command again (it resumes)") from e

    def devices(self) -> list[AdbDevice]:
        proc = self._call(["devices", "-l"])
        if proc.returncode != 0:
            raise DeviceError(f"adb devices failed: {(proc.stderr or proc.stdout).strip()[-300:]}",
                              hint="restart the adb server: adb kill-server && adb start-server")
        return parse_devices(proc.stdout)

    def select(self, serial: str | None = None) -> str:
        """Pick the device: ``serial`` if given, else the only one attached.

        Raises:
            DeviceError: none attached, several and no ``serial``, ``serial`` not attached, or
                the device is unauthorized, offline or not permitted.
        """
        self.serial = None
        found = self.devices()
        if serial is not None:
            found = [d for d in found if d.serial == serial]
            if not found:
                raise DeviceError(f"no Android device with serial {serial!r} is attached",
                                  hint="`adb devices -l` lists the serials; check the cable, or `adb connect HOST:PORT`")
        if not found:
            raise DeviceError("no Android device is attached",
                              hint="plug the phone in, enable USB debugging (Settings > Developer options) and "
                                   "check `adb devices -l`")
        if len(found) > 1:
            raise DeviceError(f"{len(found)} Android devices are attached: {', '.join(d.serial for d in found)}",
                              hint="pick one with --serial ID")
        device = found[0]
        if device.state == "unauthorized":
            raise DeviceError(f"device {device.serial} has not authorized this computer",
                              hint="unlock the phone and accept the 'Allow USB debugging?' prompt, then retry")
        if device.state != "device":
            raise DeviceError(f"device {device.serial} is {device.state!r}, not ready",
                              hint="reconnect it; 'no permissions' needs udev rules (apt-get install android-sdk-platform-tools-common)")
        self.serial = device.serial
        return device.serial

    def _check_lost(self, proc: subprocess.CompletedProcess, what: str) -> None:
        text = (proc.stderr + proc.stdout).strip()
        if proc.returncode != 0 and any(s in text.lower() for s in _LOST):
            raise DeviceLost(f"device {self.serial} disconnected during {what}: {text[-300:]}",
                             hint="reconnect it (`adb devices -l`) and run the same command again: it resumes")

    def push(self, local: Path, remote: str) -> None:
        proc = self._call(["push", str(local), remote], timeout_s=max(self.timeout_s, 120.0))
        self._check_lost(proc, f"push of {Path(local).name}")
        if proc.returncode != 0:
            raise DeviceError(f"adb push {Path(local).name} -> {remote} failed: {(proc.stderr + proc.stdout).strip()[-300:]}",
                              hint="check free space on the device and that the folder is writable")

    def shell(self, command: str, timeout_s: float | None = None) -> tuple[int, str]:
        """Run ``command`` in the device's shell; its exit status and its output (stdout and stderr).

        Raises:
            DeviceLost: the connection broke (no exit status came back).
        """
        proc = self._call(["shell", f"{command} 2>&1; echo EN_RC=$?"], timeout_s)
        out = proc.stdout.replace("\r", "")
        m = _RC.search(out)
        if m is None:
            self._check_lost(proc, f"`{command[:60]}`")
            raise DeviceLost(f"device {self.serial} gave no exit status for `{command[:60]}`: "
                             f"{(proc.stderr + out).strip()[-300:]}",
                             hint="reconnect it (`adb devices -l`) and run the same command again: it resumes")
        return int(m.group(1)), out[: m.start()]

    def getprop(self, name: str) -> str:
        rc, out = self.shell(f"getprop {shlex.quote(name)}")
        return out.strip() if rc == 0 else ""
