"""ARM64 Linux boards (Raspberry Pi...) with edgenas's own C runner: cross-compiled, run on the
board over ssh, or on this PC under qemu-aarch64 (genuine ARM64 code, emulated timing)."""

from .build import AARCH64, HOST, RunnerBuild, Toolchain, build_runner
from .driver import build, default_launcher, fingerprint, run, run_runner
from .launch import Completed, Launcher, LocalLauncher, QemuUserLauncher, SshLauncher
from .records import InputRuns, RunnerOutput, parse_records

__all__ = [
    "AARCH64", "HOST", "Completed", "InputRuns", "Launcher", "LocalLauncher", "QemuUserLauncher", "RunnerBuild",
    "RunnerOutput", "SshLauncher", "Toolchain", "build", "build_runner", "default_launcher", "fingerprint",
    "parse_records", "run", "run_runner",
]
