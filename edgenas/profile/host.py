"""Profiling the host CPU (ONNX Runtime, TVM, LiteRT) and ARM64 Linux boards over TVM RPC.

Each entry is its own small model (the entry's layers with random weights, batch 1), timed in
milliseconds. A model call has a fixed cost (argument binding, dispatch) that a subnet pays
once, so an entry's sample is its model's time minus the median time of a *null* model (one
cheap op on an input of the entry's shape: binding a bigger input costs more), floored at 0,
and the null time of a 1x1x1 input is the table's per-inference overhead.

Float backends (ONNX Runtime, TVM) run the float ONNX export of the entry; LiteRT runs the
int8 ``.tflite`` of the entry's deployed graph.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..deploy import write_tflite
from ..errors import ToolchainError
from ..space import Arch, SpaceSpec, sample_arch
from ..supernet import Subnet
from ..supernet.subnet import ConvBNAct, InvertedResidual
from ..targets.host import (
    FLOAT_BACKENDS,
    available_backends,
    host_fingerprint,
    litert_runner,
    ort_runner,
    time_runner,
    tvm_runner,
)
from .base import ArchMeasurement, EntrySamples
from .graphs import chain_graph, random_arch_graph
from .signature import Signature

OPSET = 17


class _Stem(nn.Sequential):
    def __init__(self, sig: Signature) -> None:
        s = sig.in_size
        after = -(-s // sig.stride)
        super().__init__(ConvBNAct(sig.in_channels, sig.mid_channels, 3, s, sig.stride),
                         ConvBNAct(sig.mid_channels, sig.mid_channels, 3, after, groups=sig.mid_channels),
                         ConvBNAct(sig.mid_channels, sig.out_channels, 1, after, act=False))


class _Head(nn.Module):
    def __init__(self, sig: Signature) -> None:
        super().__init__()
        self.head = ConvBNAct(sig.in_channels, sig.mid_channels, 1, sig.in_size)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(sig.mid_channels, sig.out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.head(x)), 1))


class _Null(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def entry_module(sig: Signature) -> nn.Module:
    """The float layers of one entry (random init, eval mode), input ``(1, C, S, S)``."""
    torch.manual_seed(0)
    if sig.kind == "stem":
        m: nn.Module = _Stem(sig)
    elif sig.kind == "mbconv":
        m = InvertedResidual(sig.in_channels, sig.mid_channels, sig.out_channels, sig.kernel, sig.stride,
                             sig.residual, sig.in_size)
    elif sig.kind == "head":
        m = _Head(sig)
    else:
        raise ValueError(f"unknown signature kind {sig.kind!r}")
    return m.eval()


def export_module(module: nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    """Float ONNX export (TorchScript exporter: no extra packages, reproducible bytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (torch.zeros(*shape),), str(path), dynamo=False, input_names=["input"],
                          output_names=["output"], opset_version=OPSET)
    return path


class HostProfiler:
    """Times entries and subnets on this machine's CPU with one backend, single-threaded."""

    target = "host"
    unit = "ms"

    def __init__(self, backend: str = "onnxruntime", *, repeats: int = 7, number: int = 30, warmup: int = 5,
                 batch_size: int = 16) -> None:
        if backend not in available_backends():
            raise ToolchainError(f"host backend {backend!r} is not available here",
                                 hint=f"available: {', '.join(available_backends())}")
        self.backend = backend
        self.board = "host-cpu"
        self.repeats = repeats
        self.number = number
        self.warmup = warmup
        self.batch_size = batch_size

    def fingerprint(self) -> dict[str, object]:
        return host_fingerprint(self.backend)

    # -------------------------------------------------------------- one model
    def _time_module(self, module: nn.Module, shape: tuple[int, ...], path: Path,
                     int8_graph_fn=None) -> list[float]:  # noqa: ANN001
        x = np.random.default_rng(0).random(shape).astype(np.float32)
        if self.backend in FLOAT_BACKENDS:
            export_module(module, shape, path)
            runner = ort_runner(path, x) if self.backend == "onnxruntime" else tvm_runner(path, x)
        else:
            graph = int8_graph_fn()
            t = graph.tensor(graph.inputs[0])
            xq = np.random.default_rng(0).integers(-128, 128, size=t.shape, dtype=np.int8)
            runner = litert_runner(write_tflite(graph), xq)
        return time_runner(runner, repeats=self.repeats, number=self.number, warmup=self.warmup)

    def _null(self, work_dir: Path, in_size: int = 1, channels: int = 1) -> list[float]:
        """Time a model that only binds an input of ``(1, channels, in_size, in_size)`` and returns
        it through one cheap op: the cost of calling a model that a subnet pays once."""
        from ..deploy.ir import Graph

        def graph() -> Graph:  # a 1x1 conv: the cheapest int8 model LiteRT runs
            return chain_graph([Signature("head", in_size, channels, 1, 1, 1, 1, False)], lead=False, tail=False)[0]

        return self._time_module(_Null(), (1, channels, in_size, in_size),
                                 work_dir / f"null{in_size}x{channels}.onnx", graph)

    def measure_overhead(self, spec: SpaceSpec, work_dir: Path) -> list[float]:
        return self._null(Path(work_dir))

    def measure_entries(self, sigs: Sequence[Signature], work_dir: Path) -> EntrySamples:
        work_dir = Path(work_dir)
        nulls: dict[tuple[int, int], float] = {}
        entries: dict[str, list[float]] = {}
        for i, sig in enumerate(sigs):
            shape_key = (sig.in_size, sig.in_channels)
            if shape_key not in nulls:  # calling a model costs more with a bigger input to bind
                nulls[shape_key] = float(np.median(self._null(work_dir, *shape_key)))
            null = nulls[shape_key]
            shape = (1, sig.in_channels, sig.in_size, sig.in_size)
            samples = self._time_module(
                entry_module(sig), shape, work_dir / f"e{i}.onnx",
                lambda sig=sig: chain_graph([sig], lead=False, tail=False)[0])
            # A block cannot take negative time: when timing noise puts a sample under the null
            # model's median, the block's best estimate is zero, not a negative share of the call.
            entries.setdefault(sig.key, []).extend(max(0.0, s - null) for s in samples)
        return EntrySamples(entries)

    def measure_arch(self, spec: SpaceSpec, arch: Arch, work_dir: Path, seed: int = 0) -> ArchMeasurement:
        work_dir = Path(work_dir)
        torch.manual_seed(seed)
        shape = (1, spec.in_channels, arch.resolution, arch.resolution)
        samples = self._time_module(Subnet(spec, arch).eval(), shape, work_dir / "arch.onnx",
                                    lambda: random_arch_graph(spec, arch, seed))
        return ArchMeasurement(arch=str(arch), latency=float(np.median(samples)), samples=tuple(samples))


def choose_host_backend(spec: SpaceSpec, work_dir: Path, *, seed: int = 0,
                        backends: Sequence[str] | None = None) -> tuple[str, dict[str, float]]:
    """Time a few random subnets with every available backend; return the fastest and all medians (ms)."""
    rng = np.random.default_rng(seed)
    archs = [sample_arch(spec, rng) for _ in range(3)]
    medians: dict[str, float] = {}
    for backend in backends or available_backends():
        prof = HostProfiler(backend, repeats=3, number=10, warmup=3)
        medians[backend] = float(sum(prof.measure_arch(spec, a, Path(work_dir) / backend / str(i)).latency
                                     for i, a in enumerate(archs)))
    best = min(medians, key=lambda b: medians[b])
    return best, medians


class RpcProfiler(HostProfiler):
    """Times entries and subnets on a device running a TVM RPC server (ARM64 Linux, or the host
    on 127.0.0.1): TVM cross-compiles each model to a ``.so`` that the device loads and times
    with ``time_evaluator``."""

    target = "linux-rpc"

    def __init__(self, device, *, repeats: int = 5, number: int = 20, batch_size: int = 8) -> None:  # noqa: ANN001
        from ..targets.linux_rpc import RpcDevice

        self.device: RpcDevice = device
        self.backend = "tvm-rpc"
        self.board = f"{device.host}:{device.port}"
        self.repeats = repeats
        self.number = number
        self.warmup = 0
        self.batch_size = batch_size

    def fingerprint(self) -> dict[str, object]:
        from ..targets.linux_rpc import fingerprint

        return fingerprint(self.device)

    def _time_module(self, module: nn.Module, shape: tuple[int, ...], path: Path,
                     int8_graph_fn=None) -> list[float]:  # noqa: ANN001
        from ..targets.linux_rpc import build, measure

        export_module(module, shape, path)
        lib = build(path, self.device, path.with_suffix(".so"))
        x = np.random.default_rng(0).random(shape).astype(np.float32)
        return measure(lib, self.device, x, number=self.number, repeat=self.repeats)
