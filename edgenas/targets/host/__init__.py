"""Host CPU target: run ONNX (ONNX Runtime, TVM) and int8 TFLite (LiteRT) models and time them."""

from .backends import (
    BACKENDS,
    FLOAT_BACKENDS,
    INT8_BACKENDS,
    QuietGate,
    Runner,
    available_backends,
    backend_versions,
    host_fingerprint,
    litert_runner,
    ort_runner,
    time_runners,
    tvm_compile_onnx,
    tvm_runner,
)

__all__ = [
    "BACKENDS", "FLOAT_BACKENDS", "INT8_BACKENDS", "QuietGate", "Runner", "available_backends", "backend_versions",
    "host_fingerprint", "litert_runner", "ort_runner", "time_runners", "tvm_compile_onnx", "tvm_runner",
]
