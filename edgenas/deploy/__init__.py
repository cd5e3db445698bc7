"""The deployment compiler: quantize → graph IR → fuse/plan → C codegen → build.

Public names are re-exported here, each loaded on first use: the cost model reads the code
generator's sizes and the planner, and must not pay for torch (``quantize``) or the toolchain
drivers (``host_build``) it never calls. ``tflm`` (TFLite Micro / LiteRT runners) and
``onnx_export`` stay separate imports since they load large third-party runtimes.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .compile import CompileResult, compile_graph
    from .host_build import HostModel, HostRun, build_host
    from .ir import Graph, Op, QuantParams, Tensor
    from .plan import MemoryPlan, plan_memory
    from .quantize import build_int8_graph, quantize_images, quantize_subnet, structure_graph
    from .reference import run_reference
    from .tflite_reader import read_tflite
    from .tflite_writer import write_tflite

_HOMES = {
    "CompileResult": "compile", "compile_graph": "compile",
    "HostModel": "host_build", "HostRun": "host_build", "build_host": "host_build",
    "Graph": "ir", "Op": "ir", "QuantParams": "ir", "Tensor": "ir",
    "MemoryPlan": "plan", "plan_memory": "plan",
    "build_int8_graph": "quantize", "quantize_images": "quantize", "quantize_subnet": "quantize",
    "structure_graph": "quantize",
    "run_reference": "reference",
    "read_tflite": "tflite_reader",
    "write_tflite": "tflite_writer",
}
"""Public name → the submodule that defines it."""

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
