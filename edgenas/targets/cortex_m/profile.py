"""Profiling on Cortex-M: run a firmware several times and keep every per-layer count, plus the
toolchain fingerprint a latency table is valid for.

Knows nothing about NAS: it measures whatever model the firmware holds. Attributing layers to
table entries is the profile package's job. Emulated boards count instructions (QEMU
``-icount``; deterministic), real boards count cycles (DWT).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...boards import Board
from ...errors import ToolchainError
from ...paths import RUNTIME_C_DIR
from ..measurement import Measurement
from ..protocol import DeviceClient
from ..transport import find_serial_port, open_serial
from .build import BASE_CFLAGS, GCC, KIT_DIR, LDFLAGS, Firmware
from .driver import connect
from .elf import elf_memory
from .qemu import ICOUNT_SHIFT, QEMU


@dataclass(frozen=True)
class ProfileRun:
    """Repeated inferences of one firmware.

    Attributes:
        measurements: one per repeat (same input), counts in ``unit``.
        memory: :func:`elf_memory` of the image (arena, weights, flash...).
    """

    measurements: tuple[Measurement, ...]
    memory: dict[str, int]

    @property
    def unit(self) -> str:
        return self.measurements[0].unit

    def layer_samples(self, layer: int) -> list[int]:
        return [m.per_layer[layer] for m in self.measurements]

    def overhead_samples(self) -> list[int]:
        """Per-inference count outside the layers (input/output copies, call, profiler start)."""
        return [m.total_count - sum(m.per_layer) for m in self.measurements]


def profile_firmware(firmware: Firmware, input_bytes: bytes, *, repeats: int = 3, port: str | None = None,
                     timeout_s: float = 2.0, retries: int = 5, invoke_timeout_s: float = 120.0) -> ProfileRun:
    """Run ``firmware`` ``repeats`` times on ``input_bytes`` and keep every measurement.

    Emulated boards start in QEMU; real boards must already be flashed and are reached over
    ``port`` (or the board's discovered USB serial port).

    Raises:
        DeviceError: the device does not answer (after ``retries`` attempts of ``timeout_s``) or
            answers wrongly.
    """
    memory = elf_memory(firmware.elf)
    board = firmware.board
    if board.emulated:
        with connect(firmware, invoke_timeout_s=invoke_timeout_s) as client:
            runs = tuple(client.run(input_bytes) for _ in range(repeats))
    else:
        link = open_serial(port or find_serial_port(board), baudrate=board.uart.baud)
        try:
            client = DeviceClient(link, timeout_s=timeout_s, retries=retries, invoke_timeout_s=invoke_timeout_s)
            client.hello()
            runs = tuple(client.run(input_bytes) for _ in range(repeats))
        finally:
            link.close()
    return ProfileRun(runs, memory)


@lru_cache(maxsize=8)
def _tool_version(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolchainError(f"{tool} not found on PATH", hint="install it (see `make setup`)")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0].strip() if out else "unknown"


def sources_hash(extra: Sequence[Path] = (), board: Board | None = None) -> str:
    """SHA-256 (16 hex) over the runtime kernels, the target kit and ``extra`` files.

    With ``board``, only the kernel variants its build compiles (``src/arm`` on cores with the DSP
    extension, ``src/mve`` on cores with Helium): a table measured on the M7 stays current when
    only the Helium kernels change.
    """
    skipped = set() if board is None else {d for d, used in (("arm", board.dsp), ("mve", board.mve)) if not used}
    h = hashlib.sha256()
    files = sorted(p for d in (RUNTIME_C_DIR / "src", RUNTIME_C_DIR / "include", KIT_DIR)
                   for p in Path(d).rglob("*") if p.is_file() and p.suffix in (".c", ".h", ".in")
                   and not (p.parent.parent == RUNTIME_C_DIR / "src" and p.parent.name in skipped))
    for p in [*files, *extra]:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def toolchain_fingerprint(board: Board, opt: str = "-O2") -> dict[str, object]:
    """What makes a count reproducible on ``board``: compiler, flags, C sources, clock, emulator."""
    fp: dict[str, object] = {
        "board": board.name,
        "core": board.core,
        "clock_hz": board.clock_hz,
        "compiler": _tool_version(GCC),
        "cflags": [*board.cflags, opt, *BASE_CFLAGS],
        "ldflags": list(LDFLAGS),
        "runtime_sources": sources_hash(board=board),
        "dsp_kernels": bool(board.dsp),
    }
    if board.emulated:
        fp["emulator"] = _tool_version(QEMU)
        fp["icount_shift"] = ICOUNT_SHIFT
    return fp
