"""ARM64 Linux target over TVM RPC: cross-compiled .so, timed on the device with time_evaluator."""

from .driver import AARCH64_CXX, AARCH64_TARGET, RpcDevice, build, fingerprint, measure, run
from .loopback import loopback_server

__all__ = ["AARCH64_CXX", "AARCH64_TARGET", "RpcDevice", "build", "fingerprint", "loopback_server", "measure", "run"]
