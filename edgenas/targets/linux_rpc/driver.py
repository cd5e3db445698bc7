"""ARM64 Linux boards (Raspberry Pi...) through TVM RPC: cross-compile, upload, time remotely.

Same small interface as every target family: ``build(onnx, device, out) -> Path`` compiles a
float ONNX model with TVM Relax for the device's LLVM target and links a shared library with
the cross compiler (``aarch64-linux-gnu-g++`` from Debian's ``g++-aarch64-linux-gnu``);
``run(lib, device, inputs) -> list[Measurement]`` uploads it to a device running
``python -m tvm.exec.rpc_server``, computes each input's outputs there and times it with
``time_evaluator``, so the clock is the device's own. ``measure`` is the bare timing the
profiler takes. Nothing is flashed. Tests run the same path against an RPC server on 127.0.0.1
with the host's target (same protocol, same calls).
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import DeviceError, ToolchainError
from ..host.backends import tvm_compile_onnx
from ..measurement import Measurement

AARCH64_TARGET = {"kind": "llvm", "mtriple": "aarch64-linux-gnu", "mattr": ["+neon"]}
AARCH64_CXX = "aarch64-linux-gnu-g++"


@dataclass(frozen=True)
class RpcDevice:
    """Where the RPC server listens and what code it runs."""

    host: str = "127.0.0.1"
    port: int = 9090
    target: tuple[tuple[str, object], ...] = (("kind", "llvm"),)
    cross_compiler: str | None = None
    """C++ cross compiler used to link the .so, or None for the host's compiler."""

    @classmethod
    def aarch64(cls, host: str, port: int = 9090) -> RpcDevice:
        return cls(host, port, tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in AARCH64_TARGET.items()),
                   AARCH64_CXX)

    def target_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.target}


def build(onnx_path: Path, device: RpcDevice, out_path: Path) -> Path:
    """Compile ``onnx_path`` for ``device`` into a shared library at ``out_path`` (``.so``).

    Raises:
        ToolchainError: TVM missing, or the cross compiler missing or failing.
    """
    from tvm.support import cc

    ex = tvm_compile_onnx(onnx_path, device.target_dict())
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if device.cross_compiler:
        if shutil.which(device.cross_compiler) is None:
            raise ToolchainError(f"{device.cross_compiler} not found on PATH",
                                 hint="apt install g++-aarch64-linux-gnu")
        fcompile = cc.cross_compiler(device.cross_compiler)
    else:
        fcompile = cc.create_shared
    try:
        ex.export_library(str(out_path), fcompile=fcompile)
    except Exception as e:  # TVM raises its own error types from the linker call
        raise ToolchainError(f"linking {out_path.name} failed: {e}", hint="check the cross compiler") from e
    return out_path


def _connect(device: RpcDevice, session_timeout_s: int) -> Any:
    """An RPC session on ``device``.

    Raises:
        DeviceError: the RPC server does not answer.
    """
    from tvm import rpc

    try:
        return rpc.connect(device.host, device.port, session_timeout=session_timeout_s)
    except Exception as e:  # TVM wraps socket errors in its own types
        raise DeviceError(f"TVM RPC server {device.host}:{device.port} does not answer: {e}",
                          hint="start it on the device: python -m tvm.exec.rpc_server --host 0.0.0.0 "
                               f"--port {device.port}") from e


def _load(lib_path: Path, device: RpcDevice, session_timeout_s: int) -> tuple[Any, Any]:
    """Upload ``lib_path`` and load it into a Relax VM on the device; (vm, remote CPU)."""
    from tvm import relax

    remote = _connect(device, session_timeout_s)
    lib_path = Path(lib_path)
    remote.upload(str(lib_path))
    dev = remote.cpu()
    return relax.VirtualMachine(remote.load_module(lib_path.name), dev), dev


def measure(lib_path: Path, device: RpcDevice, x: np.ndarray, *, number: int = 20, repeat: int = 5,
            session_timeout_s: int = 60) -> list[float]:
    """Milliseconds per inference measured on the device (``repeat`` samples of ``number`` calls).

    Raises:
        DeviceError: the RPC server does not answer.
    """
    import tvm

    vm, dev = _load(lib_path, device, session_timeout_s)
    arg = tvm.runtime.tensor(x.astype(np.float32), dev)
    timer = vm.time_evaluator("main", dev, number=number, repeat=repeat)
    return [float(s) * 1e3 for s in timer(arg).results]


def _output_bytes(result: Any) -> bytes:
    """The VM's result (one tensor, or a tuple of them) as float32 bytes, outputs in order."""
    parts = result if isinstance(result, (list, tuple)) or not hasattr(result, "numpy") else [result]
    return b"".join(np.ascontiguousarray(p.numpy(), dtype=np.float32).tobytes() for p in parts)


def run(lib_path: Path, device: RpcDevice, inputs: Sequence[np.ndarray], *, number: int = 10, repeat: int = 3,
        session_timeout_s: int = 60) -> list[Measurement]:
    """One Measurement per input (unit ``ns`` of the device's clock), as every target's ``run`` gives.

    ``output`` is the float32 output the device computed for the input (the model is float: these
    are not the int8 bytes of the C runners); ``total_count`` the median of ``repeat`` samples,
    each the mean of ``number`` calls. TVM gives no per-layer times here (``per_layer`` is empty)
    and stack is not measured on Linux (``stack_bytes`` 0).

    Raises:
        DeviceError: no inputs, or the RPC server does not answer.
    """
    import tvm

    if len(inputs) == 0:
        raise DeviceError("no inputs", hint="pass float32 inputs of the model's input shape")
    vm, dev = _load(lib_path, device, session_timeout_s)
    timer = vm.time_evaluator("main", dev, number=number, repeat=repeat)
    measurements = []
    for x in inputs:
        arg = tvm.runtime.tensor(np.asarray(x, dtype=np.float32), dev)
        output = _output_bytes(vm["main"](arg))
        seconds = timer(arg).results
        measurements.append(Measurement(output=output, total_count=round(float(np.median(seconds)) * 1e9),
                                        per_layer=(), unit="ns", stack_bytes=0))
    return measurements


def fingerprint(device: RpcDevice) -> dict[str, object]:
    import tvm

    return {"rpc": f"{device.host}:{device.port}", "target": device.target_dict(), "tvm": tvm.__version__,
            "cross_compiler": device.cross_compiler or "host"}
