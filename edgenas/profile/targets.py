"""Target names -> profilers, and where each target's default table lives.

Cortex-M targets are core names (``cortex-m7``...) resolved to a board (``--board`` or the
core's default board); ``host`` is this CPU with the fastest available backend; ``linux-rpc``
is a device running a TVM RPC server (``host:port``); ``linux-arm64`` an ARM64 Linux board profile
(``qemu-arm64`` by default, ``raspberry-pi-4`` over ssh) measured with edgenas's C runner;
``android`` a phone over adb (``android-arm64`` by default, ``pixel-cpu``).
"""

from __future__ import annotations

from pathlib import Path

from ..boards import DEFAULT_BOARD_FOR_CORE, DeviceProfile, board_for_target, get_board
from ..cost.latency_table import UnknownTargetError
from ..errors import BoardError, UsageError
from ..paths import LATENCY_DIR
from ..space import DEFAULT_SPACE

OTHER_TARGETS = ("host", "linux-rpc", "linux-arm64", "android")
DEFAULT_DEVICE = {"linux-arm64": "qemu-arm64", "android": "android-arm64"}
DEVICE_DRIVER = {"linux-arm64": "linux_arm64", "android": "android"}


def list_targets() -> list[str]:
    return sorted(DEFAULT_BOARD_FOR_CORE) + list(OTHER_TARGETS)


def get_profiler(target: str, *, board: str | None = None, backend: str | None = None, rpc: str | None = None,
                 aarch64: bool = False, work_dir: Path | None = None, spec=None, serial: str | None = None,
                 runner: str | None = None, ssh: str | None = None, **kwargs):  # noqa: ANN001, ANN201
    """The profiler for ``target``.

    Args:
        board: Cortex-M board name (default: the core's default board).
        backend: host backend (default: the fastest on a few random subnets of ``spec``).
        rpc: ``host:port`` of the TVM RPC server for ``linux-rpc``.
        aarch64: ``linux-rpc`` device is ARM64 Linux (cross-compile); else it runs the host's code.
        serial: ``android`` device's adb serial (default: the only one attached).
        runner: ``android`` benchmark_model binary on this PC (default: the profile's runner.path).
        ssh: ``linux-arm64`` board's ssh host (default: the profile's connection.host).

    Raises:
        UnknownTargetError: no driver for ``target``.
        BoardError: unknown board.
    """
    if target in DEFAULT_BOARD_FOR_CORE:
        from .cortex_m import CortexMProfiler

        b = get_board(board) if board else board_for_target(target)
        return CortexMProfiler(b, target=target, **kwargs)
    if target == "host":
        from .host import HostProfiler, choose_host_backend

        if backend is None:
            if spec is None or work_dir is None:
                backend = "onnxruntime"
            else:
                backend, _ = choose_host_backend(spec, Path(work_dir) / "choose-backend")
        return HostProfiler(backend, **kwargs)
    if target == "linux-rpc":
        from ..targets.linux_rpc import RpcDevice
        from .host import RpcProfiler

        host, _, port = (rpc or "127.0.0.1:9090").rpartition(":")
        if not host or not port.isdigit():
            raise UsageError(f"--rpc {rpc!r} is not HOST:PORT", hint="e.g. --rpc 192.168.1.20:9090")
        device = RpcDevice.aarch64(host, int(port)) if aarch64 else RpcDevice(host, int(port))
        return RpcProfiler(device, **kwargs)
    if target in DEFAULT_DEVICE:
        device = device_profile(target, board)
        if target == "android":
            from .android import android_profiler

            return android_profiler(device, serial=serial, runner=runner, **kwargs)
        from .linux_arm64 import LinuxArm64Profiler

        if device.connection == "ssh" and not (ssh or device.host):
            raise UsageError(f"board {device.name} is reached over ssh and has no host", hint="pass --ssh USER@HOST")
        return LinuxArm64Profiler(device, host=ssh, **kwargs)
    raise UnknownTargetError(f"unknown profiling target {target!r}",
                             hint=f"known targets: {', '.join(list_targets())}")


def device_profile(target: str, board: str | None = None) -> DeviceProfile:
    """The phone or Linux board profile ``board`` (default: the target's) of a device ``target``
    (``android``, ``linux-arm64``): profile and extract resolve it alike.

    Raises:
        BoardError: unknown board, or one whose driver is not the target's.
    """
    device = get_board(board or DEFAULT_DEVICE[target])
    if getattr(device, "driver", "") != DEVICE_DRIVER[target]:
        raise BoardError(f"board {device.name} is not a {target} profile (driver {device.driver})",
                         hint=f"`edgenas boards` lists the profiles whose driver is {DEVICE_DRIVER[target]}")
    return device


def device_target(device: DeviceProfile) -> str:
    """The target name of a device profile (``linux_arm64`` driver -> ``linux-arm64``)."""
    return next(t for t, d in DEVICE_DRIVER.items() if d == device.driver)


def table_file_name(name: str, space: str = DEFAULT_SPACE) -> str:
    """``<board or target>.json`` for the default space, ``<board or target>.<space>.json`` for
    another: one board holds one table per space (the entries are the space's layer shapes)."""
    return f"{name}.json" if space == DEFAULT_SPACE else f"{name}.{space}.json"


def written_table_path(name: str, space: str = DEFAULT_SPACE) -> Path:
    """Where `edgenas profile` writes a table without --table (``latency/<board or target>.json``
    in the working folder), and so where search and extract look for one."""
    return Path("latency") / table_file_name(name, space)


def default_table_path(target: str, board: str | None = None, space: str = DEFAULT_SPACE) -> Path:
    """Where the shipped table of a target for ``space`` lives (``assets/latency/``, named by
    :func:`table_file_name`)."""
    if target in DEFAULT_BOARD_FOR_CORE:
        return LATENCY_DIR / table_file_name(board or DEFAULT_BOARD_FOR_CORE[target], space)
    if target in DEFAULT_DEVICE:
        return LATENCY_DIR / table_file_name(board or DEFAULT_DEVICE[target], space)
    return LATENCY_DIR / table_file_name(target, space)
