"""Where a runner executes: this PC, qemu-aarch64 on this PC, or a Linux board over ssh.

A launcher puts the runner and its input file somewhere it can run, runs it with arguments and
returns its stdout text. The runner's records are the same whichever launcher ran it, so the
driver above parses one format. The Android driver has its own launcher (adb) with the same
shape.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ...errors import DeviceError, ToolchainError


@dataclass(frozen=True)
class Completed:
    """What a runner left behind: its exit status and output text (stdout, then stderr)."""

    returncode: int
    stdout: str
    stderr: str = ""


class Launcher(Protocol):
    """Runs a runner executable on some Linux: ``run(exe, inputs, args) -> Completed``."""

    emulated: bool

    def run(self, exe: Path, inputs: Path, args: list[str], timeout_s: float) -> Completed: ...

    def describe(self) -> dict[str, object]: ...


def _run(cmd: list[str], timeout_s: float, what: str) -> Completed:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as e:
        raise DeviceError(f"{what} did not finish within {timeout_s:.0f} s",
                          hint="the runner hangs, or the device or machine is heavily loaded") from e
    except OSError as e:
        raise ToolchainError(f"cannot start {cmd[0]}: {e.strerror}", hint="check that it is installed") from e
    return Completed(proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


@dataclass(frozen=True)
class LocalLauncher:
    """This PC runs the runner itself (the host build, the reference for bit-exact checks)."""

    emulated: bool = False

    def run(self, exe: Path, inputs: Path, args: list[str], timeout_s: float = 120.0) -> Completed:
        return _run([str(exe), str(inputs), *args], timeout_s, f"{exe.name} on this machine")

    def describe(self) -> dict[str, object]:
        return {"launcher": "local"}


@dataclass(frozen=True)
class QemuUserLauncher:
    """qemu-aarch64 (Debian's ``qemu-user``) runs genuine ARM64 code on this PC, one process per run.

    ``sysroot`` (``-L``) is only needed for a dynamically linked runner; ours is static. Its clock
    is real but measures the emulator: timings say nothing about a Pi's or a phone's speed.
    """

    qemu: str = "qemu-aarch64"
    sysroot: str | None = None
    emulated: bool = True

    def binary(self) -> str:
        """Absolute path of the emulator, or ToolchainError."""
        path = shutil.which(self.qemu)
        if path is None:
            raise ToolchainError(f"{self.qemu} not found on PATH",
                                 hint="apt-get install qemu-user (or `make setup`)")
        return path

    def run(self, exe: Path, inputs: Path, args: list[str], timeout_s: float = 120.0) -> Completed:
        sysroot = ["-L", self.sysroot] if self.sysroot else []
        return _run([self.binary(), *sysroot, str(exe), str(inputs), *args], timeout_s, f"{exe.name} under {self.qemu}")

    def describe(self) -> dict[str, object]:
        proc = subprocess.run([self.binary(), "--version"], capture_output=True, text=True, check=False)
        return {"launcher": "qemu-user", "qemu": proc.stdout.splitlines()[0] if proc.stdout else self.qemu}


@dataclass(frozen=True)
class SshLauncher:
    """A Linux board reached with OpenSSH (``host`` as ssh takes it, e.g. ``pi@raspberrypi.local``).

    The runner and input are copied with scp into ``remote_dir`` and run there. Key-based login
    is assumed (BatchMode: a password prompt is an error, not a hang).
    """

    host: str
    remote_dir: str = "/tmp/edgenas"
    emulated: bool = False

    def _ssh(self, remote_cmd: str, timeout_s: float) -> Completed:
        return _run(["ssh", "-o", "BatchMode=yes", self.host, remote_cmd], timeout_s, f"ssh {self.host}")

    def run(self, exe: Path, inputs: Path, args: list[str], timeout_s: float = 120.0) -> Completed:
        if shutil.which("ssh") is None or shutil.which("scp") is None:
            raise ToolchainError("ssh/scp not found on PATH", hint="apt-get install openssh-client")
        d = shlex.quote(self.remote_dir)
        prep = self._ssh(f"mkdir -p {d}", timeout_s)
        if prep.returncode != 0:
            raise DeviceError(f"ssh {self.host} failed: {prep.stderr.strip()[-500:]}",
                              hint="check `ssh HOST true` works without a password (ssh-copy-id)")
        copy = _run(["scp", "-q", "-o", "BatchMode=yes", str(exe), str(inputs), f"{self.host}:{self.remote_dir}/"],
                    timeout_s, f"scp to {self.host}")
        if copy.returncode != 0:
            raise DeviceError(f"copying the runner to {self.host} failed: {copy.stderr.strip()[-500:]}",
                              hint="check the remote folder is writable")
        cmd = " ".join(shlex.quote(a) for a in [f"{self.remote_dir}/{exe.name}", f"{self.remote_dir}/{inputs.name}",
                                                *args])
        return self._ssh(cmd, timeout_s)

    def describe(self) -> dict[str, object]:
        return {"launcher": "ssh", "host": self.host}
