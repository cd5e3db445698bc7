"""The deployment compiler: quantize → graph IR → fuse/plan → C codegen → build.

Public names are re-exported here; ``tflm`` (TFLite Micro / LiteRT runners) and
``onnx_export`` stay separate imports since they load large third-party runtimes.
"""

from .compile import CompileResult, compile_graph
from .host_build import HostModel, HostRun, build_host
from .ir import Graph, Op, QuantParams, Tensor
from .plan import MemoryPlan, plan_memory
from .quantize import build_int8_graph, quantize_images, quantize_subnet, structure_graph
from .reference import run_reference
from .tflite_reader import read_tflite
from .tflite_writer import write_tflite

__all__ = [
    "CompileResult",
    "Graph",
    "HostModel",
    "HostRun",
    "MemoryPlan",
    "Op",
    "QuantParams",
    "Tensor",
    "build_host",
    "build_int8_graph",
    "compile_graph",
    "plan_memory",
    "quantize_images",
    "quantize_subnet",
    "read_tflite",
    "run_reference",
    "structure_graph",
    "write_tflite",
]
