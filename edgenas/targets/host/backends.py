"""Host CPU backends that run one model file at batch 1: ONNX Runtime, TVM (Relax, llvm) and LiteRT.

Each backend turns a model into a :class:`Runner` holding its input, so timing measures only the
call. All run single-threaded: the host is shared, and a latency table must not depend on how
many cores happen to be idle.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from ...errors import ToolchainError

BACKENDS = ("onnxruntime", "tvm", "litert")
"""Backends in preference order when two are equally fast."""

FLOAT_BACKENDS = ("onnxruntime", "tvm")  # take a float ONNX model
INT8_BACKENDS = ("litert",)  # take an int8 .tflite

K = TypeVar("K")

TIMING = "interleaved-floor,quiet-gate,ftz/3"
"""How host samples are taken (see :func:`time_runners`); tables measured another way are stale."""


@dataclass
class Runner:
    """A loaded model bound to one input; ``call()`` runs one inference."""

    backend: str
    call: Callable[[], object]


def fastest_call(call: Callable[[], object], seconds: float, *, min_calls: int = 1) -> float:
    """Seconds of the fastest of the calls made in a burst of ``seconds`` (at least ``min_calls``)."""
    clock = time.perf_counter
    best = float("inf")
    calls = 0
    end = clock() + seconds
    while calls < min_calls or clock() < end:
        t0 = clock()
        call()
        best = min(best, clock() - t0)
        calls += 1
    return best


class QuietGate:
    """Holds measurement rounds back while the machine runs slow.

    On a shared or virtual machine the same code runs up to 1.7x slower for stretches of one to
    several seconds (measured on this project's CI host: another tenant on the core, or the vCPU
    moved), too long for a burst minimum to step over. The gate times a fixed sentinel workload
    and lets a round start (and keeps its result) only while the sentinel runs within
    ``tolerance`` of the fastest it has ever run. Waiting is bounded: after ``max_wait_s`` within
    one :func:`time_runners` call the gate stays open, so a machine that is always busy still
    gets measured.
    """

    def __init__(self, *, tolerance: float = 0.08, max_wait_s: float = 10.0, probe_s: float = 0.004) -> None:
        self.tolerance = tolerance
        self.max_wait_s = max_wait_s
        self.probe_s = probe_s
        self.best = float("inf")
        self.waited_s = 0.0
        rng = np.random.default_rng(0)
        self._a = rng.random((48, 48), dtype=np.float32)
        self._b = rng.random((48, 48), dtype=np.float32)

    def probe(self) -> float:
        """Fastest sentinel call (seconds) over one short burst; also updates ``best``."""
        best = fastest_call(self._sentinel, self.probe_s)
        self.best = min(self.best, best)
        return best

    def _sentinel(self) -> None:
        for _ in range(8):
            self._a @ self._b

    def quiet(self) -> bool:
        return self.waited_s >= self.max_wait_s or self.probe() <= self.best * (1 + self.tolerance)

    def wait(self) -> None:
        """Return once the machine is quiet (or the waiting budget is spent)."""
        t0 = time.perf_counter()
        while not self.quiet():
            self.waited_s += time.perf_counter() - t0
            t0 = time.perf_counter()


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Flush denormal floats to zero on this thread while timing: random weights drive
    activations into denormals, whose slow path on x86 would make a table depend on weight
    values (backends run single-threaded, on the calling thread)."""
    import torch

    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def time_runners(runners: Mapping[K, Runner], *, rounds: int = 15, samples: int = 3, span_s: float = 0.3,
                 gate: QuietGate | None = None) -> dict[K, list[float]]:
    """Milliseconds per inference of every runner: ``samples`` values each, each value the fastest
    call over ``rounds // samples`` bursts.

    Bursts are interleaved round-robin across runners and stretched so the rounds span about
    ``span_s`` seconds; sample ``g`` takes rounds ``g, g + samples, ...``, so every sample sees
    the whole span, and its fastest call is what the code costs on a free core. With a ``gate``,
    rounds start only while the machine is quiet, and a round during which it turned slow is
    run again.
    """
    if rounds < samples or samples < 1:
        raise ValueError(f"rounds ({rounds}) must be >= samples ({samples}) >= 1")
    burst_s = span_s / max(1, rounds * len(runners))
    floors: dict[K, list[float]] = {key: [] for key in runners}
    with flush_denormals():
        for runner in runners.values():  # warm up: first calls allocate and fill caches
            for _ in range(3):
                runner.call()
        if gate:
            gate.waited_s = 0.0  # the waiting budget is per call
        kept = 0
        while kept < rounds:
            if gate:
                gate.wait()
            this_round = {key: fastest_call(runner.call, burst_s, min_calls=3) * 1e3 for key, runner in runners.items()}
            if gate is None or gate.quiet():
                for key, value in this_round.items():
                    floors[key].append(value)
                kept += 1
    return {key: [min(f[g::samples]) for g in range(samples)] for key, f in floors.items()}


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
        "timing": TIMING,
    }
