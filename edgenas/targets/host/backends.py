"""Host CPU backends that run one model file at batch 1: ONNX Runtime, TVM (Relax, llvm) and LiteRT.

Each backend turns a model into a :class:`Runner` holding its input, so timing measures only the
call. All run single-threaded: the host is shared, and a latency table must not depend on how
many cores happen to be idle.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import ToolchainError

BACKENDS = ("onnxruntime", "tvm", "litert")
"""Backends in preference order when two are equally fast."""

FLOAT_BACKENDS = ("onnxruntime", "tvm")  # take a float ONNX model
INT8_BACKENDS = ("litert",)  # take an int8 .tflite


@dataclass
class Runner:
    """A loaded model bound to one input; ``call()`` runs one inference."""

    backend: str
    call: Callable[[], object]


def time_runner(runner: Runner, *, repeats: int = 5, number: int = 20, warmup: int = 5) -> list[float]:
    """Milliseconds per inference: ``repeats`` samples, each the fastest of ``number`` timed calls.

    The fastest call of a burst is what the code costs when nothing else interferes; on a
    shared machine a mean over the burst mostly measures the other tenants.
    """
    for _ in range(warmup):
        runner.call()
    samples = []
    clock = time.perf_counter
    for _ in range(repeats):
        best = float("inf")
        for _ in range(number):
            t0 = clock()
            runner.call()
            best = min(best, clock() - t0)
        samples.append(best * 1e3)
    return samples


def ort_runner(onnx_path: Path, x: np.ndarray) -> Runner:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    feed = {name: x.astype(np.float32)}
    return Runner("onnxruntime", lambda: sess.run(None, feed))


def _fold_constants(onnx_path: Path) -> Path:
    """Constant-fold with ONNX Runtime's basic optimiser (TorchScript exports compute PAD
    amounts at run time, which TVM's ONNX frontend rejects as dynamic pads)."""
    import onnxruntime as ort

    out = onnx_path.with_suffix(".folded.onnx")
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    opts.optimized_model_filepath = str(out)
    ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
    return out


def tvm_compile_onnx(onnx_path: Path, target: dict | None = None):  # noqa: ANN201 (TVM executable)
    """Compile a float ONNX model with TVM Relax (``tvm.compile``); weights bound as constants."""
    try:
        import onnx
        import tvm
        from tvm.relax.frontend.onnx import from_onnx
    except ImportError as e:
        raise ToolchainError(f"TVM is not usable: {e}", hint='pip install "apache-tvm[rpc]==0.27.*"') from e
    mod = from_onnx(onnx.load(str(_fold_constants(Path(onnx_path)))), keep_params_in_input=False)
    return tvm.compile(mod, target=tvm.target.Target(target or {"kind": "llvm"}))


def tvm_runner(onnx_path: Path, x: np.ndarray) -> Runner:
    import tvm
    from tvm import relax

    ex = tvm_compile_onnx(onnx_path)
    dev = tvm.cpu()
    vm = relax.VirtualMachine(ex, dev)
    arg = tvm.runtime.tensor(x.astype(np.float32), dev)
    main = vm["main"]
    return Runner("tvm", lambda: main(arg))


def litert_runner(tflite_bytes: bytes, x: np.ndarray) -> Runner:
    """LiteRT with its default (XNNPACK) kernels, one thread: the fast path a user would deploy."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:
        raise ToolchainError("LiteRT is not installed", hint="pip install ai-edge-litert") from e
    interp = Interpreter(model_content=bytes(tflite_bytes), num_threads=1)
    interp.allocate_tensors()
    inp = interp.get_input_details()[0]
    interp.set_tensor(inp["index"], x.astype(inp["dtype"]).reshape(inp["shape"]))
    return Runner("litert", interp.invoke)


def available_backends() -> list[str]:
    """Backends whose Python package imports here."""
    out = []
    for name, module in (("onnxruntime", "onnxruntime"), ("tvm", "tvm"), ("litert", "ai_edge_litert")):
        try:
            __import__(module)
            out.append(name)
        except ImportError:
            continue
    return out


def backend_versions() -> dict[str, str]:
    versions = {}
    for name, module in (("onnxruntime", "onnxruntime"), ("tvm", "tvm"), ("litert", "ai_edge_litert")):
        try:
            versions[name] = str(getattr(__import__(module), "__version__", "unknown"))
        except ImportError:
            continue
    return versions


def host_fingerprint(backend: str) -> dict[str, object]:
    """Identity of the host measurements: CPU, Python, the backend and its version."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "backend": backend,
        "backend_version": backend_versions().get(backend, "missing"),
        "threads": 1,
    }
