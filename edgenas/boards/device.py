"""Device profiles: phones and Linux boards (application processors), read from the same TOML files.

A Cortex-M :class:`Board` describes memory maps and UARTs; a phone or a Raspberry Pi needs none
of that but instead how to reach it (adb, ssh, or qemu-aarch64 on this PC), which runner measures
there (edgenas's own C runner, or LiteRT's ``benchmark_model`` that the user supplies), with how
many threads, pinned to which CPUs, and how many warm-up and timed runs. ``driver`` chooses the
kind: ``android`` and ``linux_arm64`` profiles are parsed here, every other one is a Board.
Validation is as strict as for boards: unknown keys at any depth, bad types and values that
would reach a command line are BoardErrors naming the file and the dotted field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .fields import Fields, description

DEVICE_DRIVERS = ("android", "linux_arm64")
CONNECTIONS = {"android": ("adb",), "linux_arm64": ("qemu-user", "ssh")}
RUNNER_KINDS = {"android": ("litert-benchmark", "edgenas-c"), "linux_arm64": ("edgenas-c",)}
ABIS = ("arm64-v8a",)

_TOP_LEVEL_KEYS = frozenset({"name", "description", "driver", "core", "abi", "cflags", "connection", "runner", "cpu",
                             "device", "replaces_builtin"})
_CONNECTION_KEYS = frozenset({"kind", "host", "serial", "qemu"})
_RUNNER_KEYS = frozenset({"kind", "path", "threads", "warmup_runs", "runs"})
_CPU_KEYS = frozenset({"pin"})
_DEVICE_KEYS = frozenset({"dir"})

_CORE = re.compile(r"[a-z][a-z0-9.-]{0,31}")
_CFLAG = re.compile(r"-m(cpu|tune|arch)=[a-z0-9][a-z0-9.+-]{0,63}")
_HOST = re.compile(r"([A-Za-z0-9._-]{1,64}@)?[A-Za-z0-9][A-Za-z0-9.-]{0,252}")  # ssh [user@]host, no options
_SERIAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")  # adb serials: R58M12345, emulator-5554, 10.0.0.5:5555
_DEVICE_DIR = re.compile(r"/[A-Za-z0-9._/-]{1,200}")
_TOOL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RUNS = (1, 100_000)
_THREADS = (1, 64)
_CPU_NUMBER = (0, 1023)


@dataclass(frozen=True)
class RunnerSpec:
    """What measures on the device.

    ``kind``: ``edgenas-c`` (our runner, built for the board from the generated C) or
    ``litert-benchmark`` (LiteRT's ``benchmark_model`` on the ``.tflite``); ``path`` is where
    that binary lies on this PC (empty: pass it with ``--runner``; nothing is downloaded).
    """

    kind: str
    path: str = ""
    threads: int = 1
    warmup_runs: int = 5
    runs: int = 50


@dataclass(frozen=True)
class DeviceProfile:
    """A phone or Linux board profile. ``pin`` lists the CPUs runs are pinned to; empty = the
    highest-numbered online CPU, found on the device (usually a big core)."""

    name: str
    description: str
    driver: str
    core: str
    abi: str
    cflags: tuple[str, ...]
    connection: str
    runner: RunnerSpec
    pin: tuple[int, ...] = ()
    host: str | None = None
    serial: str | None = None
    qemu_user: str = "qemu-aarch64"
    device_dir: str = "/data/local/tmp/edgenas"
    source: str = field(default="", compare=False)
    replaces_builtin: bool = field(default=False, compare=False)

    kind = "device"

    @property
    def emulated(self) -> bool:
        return self.connection == "qemu-user"

    @property
    def counter_unit(self) -> str:
        return "ns"


def parse_device(f: Fields, file: str, source: str = "") -> DeviceProfile:
    """Validate a device profile (``driver`` is ``android`` or ``linux_arm64``)."""
    f.reject_unknown(_TOP_LEVEL_KEYS)
    driver = f.choice("driver", DEVICE_DRIVERS)
    conn = f.sub("connection", _CONNECTION_KEYS)
    connection = conn.choice("kind", CONNECTIONS[driver])
    host = conn.token("host", _HOST, "ssh host ([user@]host)", ... if connection == "ssh" else None)
    serial = conn.token("serial", _SERIAL, "adb serial", None)
    qemu = conn.token("qemu", _TOOL, "qemu-user binary name", "qemu-aarch64")
    r = f.sub("runner", _RUNNER_KEYS)
    runner = RunnerSpec(r.choice("kind", RUNNER_KINDS[driver]), r.get("path", str, ""),
                        r.bounded("threads", _THREADS, 1), r.bounded("warmup_runs", (0, _RUNS[1]), 5),
                        r.bounded("runs", _RUNS, 50))
    if runner.path and not runner.path.isprintable():
        raise r.error("path", "must be printable text")
    pin: tuple[int, ...] = ()
    if "cpu" in f.table:
        c = f.sub("cpu", _CPU_KEYS)
        values = c.get("pin", list, [], "a list of CPU numbers")
        if not all(isinstance(v, int) and not isinstance(v, bool) and _CPU_NUMBER[0] <= v <= _CPU_NUMBER[1]
                   for v in values):
            raise c.error("pin", f"must be CPU numbers {_CPU_NUMBER[0]}..{_CPU_NUMBER[1]}")
        pin = tuple(sorted(set(values)))
    cflags = f.get("cflags", list, [], "a list of strings")
    for i, flag in enumerate(cflags):
        if not isinstance(flag, str) or not _CFLAG.fullmatch(flag):
            raise f.error(f"cflags[{i}]", f"= {flag!r:.60} is not allowed",
                          hint="device cflags may only be -mcpu=, -mtune= or -march= with a plain value")
    device_dir = f.sub("device", _DEVICE_KEYS).token("dir", _DEVICE_DIR, "absolute device folder",
                                                     "/data/local/tmp/edgenas") if "device" in f.table else \
        ("/data/local/tmp/edgenas" if driver == "android" else "/tmp/edgenas")
    if ".." in device_dir.split("/"):
        raise f.error("device.dir", "must not contain '..'")
    return DeviceProfile(
        name=f.token("name", re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"), "board name"),
        description=description(f), driver=driver, core=f.token("core", _CORE, "core name"),
        abi=f.choice("abi", ABIS), cflags=tuple(cflags), connection=connection, runner=runner, pin=pin,
        host=host, serial=serial, qemu_user=qemu, device_dir=device_dir, source=source or file,
        replaces_builtin=f.get("replaces_builtin", bool, False),
    )


def is_device_table(data: dict[str, Any]) -> bool:
    """True when a parsed profile names a phone or Linux driver (else it is a Board)."""
    return data.get("driver") in DEVICE_DRIVERS
