"""Android target: models measured on a phone over adb, with LiteRT's benchmark_model (which the
user supplies) or edgenas's own static ARM64 runner."""

from .adb import Adb, AdbDevice, DeviceLost, find_adb, parse_devices
from .benchmark import BenchmarkResult, OpTiming, benchmark_command, parse_benchmark_output
from .driver import AdbLauncher, AndroidSession, benchmark, build, connect, parse_cpu_list, run

__all__ = [
    "Adb", "AdbDevice", "AdbLauncher", "AndroidSession", "BenchmarkResult", "DeviceLost", "OpTiming", "benchmark",
    "benchmark_command", "build", "connect", "find_adb", "parse_benchmark_output", "parse_cpu_list",
    "parse_devices", "run",
]
