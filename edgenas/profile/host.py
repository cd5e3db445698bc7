"""Profiling the host CPU (ONNX Runtime, TVM, LiteRT) and ARM64 Linux boards over TVM RPC.

Entries are timed in the context they have inside a subnet, in milliseconds. A model call costs
more than its layers (binding the input, layout conversions at the model's edges, copying the
output out), and alone a block pays all of it while inside a subnet it pays none. So an entry
is timed behind a *prefix* (a plain block that produces its input, as the block before it would):
its sample is ``T(prefix -> entry) - T(prefix)``, paired sample by sample. The input side
cancels within the pair and the output side cancels between consecutive entries (an entry's
output edge is the next prefix's), so the sum over a subnet's entries keeps exactly the
subnet's own edges. The stem really reads the graph input: it is timed alone, minus the *null*
model (one cheap op on a 1x1x1 input), whose time is the table's per-inference overhead.

Float backends (ONNX Runtime, TVM) run the float ONNX export of a model; LiteRT runs the int8
``.tflite`` of its deployed graph.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ..deploy import write_tflite
from ..deploy.ir import Graph
from ..errors import ToolchainError
from ..space import Arch, SpaceSpec, same_out, sample_arch
from ..supernet import Subnet
from ..supernet.subnet import ConvBNAct, InvertedResidual
from ..targets.host import (
    FLOAT_BACKENDS,
    QuietGate,
    available_backends,
    host_fingerprint,
    litert_runner,
    ort_runner,
    time_runners,
    tvm_runner,
)
from ..targets import linux_rpc
from .base import ArchMeasurement, EntrySamples
from .graphs import chain_graph, random_arch_graph
from ..space.signature import Signature

OPSET = 17


class _Stem(nn.Sequential):
    def __init__(self, sig: Signature) -> None:
        s = sig.in_size
        after = same_out(s, sig.stride)
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


def prefix_signature(sig: Signature) -> Signature:
    """The block timed before ``sig``: a plain inverted residual (expand 3, 3x3, no residual
    add) that keeps ``sig``'s input shape. Measured here, an entry costs the same behind it as
    behind its real predecessors in a subnet; behind a lone 1x1 conv or a residual block, ONNX
    Runtime adds 1-2 us of layout work per entry (10 % of a small subnet)."""
    c = sig.in_channels
    return Signature("mbconv", sig.in_size, c, 3 * c, c, 3, 1, False)


@dataclass(frozen=True)
class TimedModel:
    """One model to time: its float layers, input shape ``(1, C, S, S)`` and deployed int8 graph."""

    module: nn.Module
    shape: tuple[int, ...]
    int8_graph: Callable[[], Graph]


def _null_model() -> TimedModel:
    """The cheapest model: binds a 1x1x1 input and returns it through one op."""
    sig = Signature("head", 1, 1, 1, 1, 1, 1, False)  # a 1x1 conv: the cheapest int8 model LiteRT runs
    return TimedModel(_Null(), (1, 1, 1, 1), lambda: chain_graph([sig], lead=False, tail=False)[0])


def _chain_model(sigs: Sequence[Signature]) -> TimedModel:
    """The entries ``sigs`` one after the other (the first one's input is the model's)."""
    first = sigs[0]
    return TimedModel(nn.Sequential(*[entry_module(s) for s in sigs]).eval(),
                      (1, first.in_channels, first.in_size, first.in_size),
                      lambda: chain_graph(list(sigs), lead=False, tail=False)[0])


def entry_models(sigs: Sequence[Signature]) -> dict[str, TimedModel]:
    """Models that time ``sigs`` in context: ``e{i}`` per entry, ``p{S}x{C}`` per prefix, ``null``."""
    models = {"null": _null_model()}
    for i, sig in enumerate(sigs):
        if sig.kind == "stem":
            models[f"e{i}"] = _chain_model([sig])
            continue
        pre = prefix_signature(sig)
        models[f"e{i}"] = _chain_model([pre, sig])
        models.setdefault(_prefix_key(sig), _chain_model([pre]))
    return models


def _prefix_key(sig: Signature) -> str:
    return f"p{sig.in_size}x{sig.in_channels}"


def entry_samples(sigs: Sequence[Signature], times: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """Entry samples from the times of :func:`entry_models`: entry minus its prefix (the stem:
    minus the null model), pair by pair, floored at 0 (a block cannot take negative time; noise
    can put a tiny block's pair below its baseline)."""
    out: dict[str, list[float]] = {}
    for i, sig in enumerate(sigs):
        base = times["null"] if sig.kind == "stem" else times[_prefix_key(sig)]
        out.setdefault(sig.key, []).extend(max(0.0, t - b) for t, b in zip(times[f"e{i}"], base, strict=True))
    return out


class HostProfiler:
    """Times entries and subnets on this machine's CPU with one backend, single-threaded."""

    target = "host"
    unit = "ms"

    def __init__(self, backend: str = "onnxruntime", *, rounds: int = 15, samples: int = 3, span_s: float = 0.3,
                 max_wait_s: float = 10.0, batch_size: int = 16) -> None:
        if backend not in available_backends():
            raise ToolchainError(f"host backend {backend!r} is not available here",
                                 hint=f"available: {', '.join(available_backends())}")
        self.backend = backend
        self.board = "host-cpu"
        self.rounds = rounds
        self.samples = samples
        self.span_s = span_s
        self.gate = QuietGate(max_wait_s=max_wait_s)
        self.batch_size = batch_size

    def fingerprint(self) -> dict[str, object]:
        return host_fingerprint(self.backend)

    def time_models(self, models: Mapping[str, TimedModel], work_dir: Path) -> dict[str, list[float]]:
        """``samples`` times (ms) per model, all models timed interleaved (see ``time_runners``)."""
        runners = {}
        for name, m in models.items():
            if self.backend in FLOAT_BACKENDS:
                x = np.random.default_rng(0).random(m.shape).astype(np.float32)
                path = export_module(m.module, m.shape, Path(work_dir) / f"{name}.onnx")
                runners[name] = ort_runner(path, x) if self.backend == "onnxruntime" else tvm_runner(path, x)
            else:
                graph = m.int8_graph()
                t = graph.tensor(graph.inputs[0])
                xq = np.random.default_rng(0).integers(-128, 128, size=t.shape, dtype=np.int8)
                runners[name] = litert_runner(write_tflite(graph), xq)
        return time_runners(runners, rounds=self.rounds, samples=self.samples, span_s=self.span_s, gate=self.gate)

    def measure_overhead(self, spec: SpaceSpec, work_dir: Path) -> list[float]:
        return self.time_models({"null": _null_model()}, Path(work_dir))["null"]

    def measure_entries(self, sigs: Sequence[Signature], work_dir: Path) -> EntrySamples:
        return EntrySamples(entry_samples(sigs, self.time_models(entry_models(sigs), Path(work_dir))))

    def measure_arch(self, spec: SpaceSpec, arch: Arch, work_dir: Path, seed: int = 0) -> ArchMeasurement:
        torch.manual_seed(seed)
        model = TimedModel(Subnet(spec, arch).eval(), (1, spec.in_channels, arch.resolution, arch.resolution),
                           lambda: random_arch_graph(spec, arch, seed))
        samples = self.time_models({"arch": model}, Path(work_dir))["arch"]
        return ArchMeasurement(arch=str(arch), latency=float(np.median(samples)), samples=tuple(samples))


def choose_host_backend(spec: SpaceSpec, work_dir: Path, *, seed: int = 0,
                        backends: Sequence[str] | None = None) -> tuple[str, dict[str, float]]:
    """Time a few random subnets with every available backend; return the fastest and all medians (ms)."""
    rng = np.random.default_rng(seed)
    archs = [sample_arch(spec, rng) for _ in range(3)]
    medians: dict[str, float] = {}
    for backend in backends or available_backends():
        prof = HostProfiler(backend, rounds=6, samples=2, span_s=0.1)
        medians[backend] = float(sum(prof.measure_arch(spec, a, Path(work_dir) / backend / str(i)).latency
                                     for i, a in enumerate(archs)))
    best = min(medians, key=lambda b: medians[b])
    return best, medians


class RpcProfiler(HostProfiler):
    """Times entries and subnets on a device running a TVM RPC server (ARM64 Linux, or the host
    on 127.0.0.1): TVM cross-compiles each model to a ``.so`` that the device loads and times
    with ``time_evaluator`` (the device's own clock; models are timed one after another)."""

    target = "linux-rpc"

    def __init__(self, device: linux_rpc.RpcDevice, *, samples: int = 5, number: int = 20, batch_size: int = 8) -> None:
        self.device: linux_rpc.RpcDevice = device
        self.backend = "tvm-rpc"
        self.board = f"{device.host}:{device.port}"
        self.samples = samples
        self.number = number
        self.batch_size = batch_size

    def fingerprint(self) -> dict[str, object]:
        return linux_rpc.fingerprint(self.device)

    def time_models(self, models: Mapping[str, TimedModel], work_dir: Path) -> dict[str, list[float]]:
        out = {}
        for name, m in models.items():
            path = export_module(m.module, m.shape, Path(work_dir) / f"{name}.onnx")
            lib = linux_rpc.build(path, self.device, path.with_suffix(".so"))
            x = np.random.default_rng(0).random(m.shape).astype(np.float32)
            out[name] = linux_rpc.measure(lib, self.device, x, number=self.number, repeat=self.samples)
        return out
