"""Our own subnets through the whole host pipeline: quantize → .tflite → TFLM == host build ==
numpy reference, bit for bit; LiteRT differs only where FULLY_CONNECTED rounds differently.

The subnets come from a randomly initialised ``mcu-mbv2`` supernet with BN statistics
recalibrated on Fashion-MNIST: untrained, but real int8 graphs of the deployed space (kernels
3/5/7, expand 3/4/6, residual adds, strides, every resolution band), which is what the compiler
must get right. ``our_subnets()`` is shared with tests/targets/test_subnets_qemu.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest
import torch

from edgenas.deploy import build_host, compile_graph, quantize_images, quantize_subnet, read_tflite, run_reference
from edgenas.deploy.ir import Graph
from edgenas.deploy.pipeline import ramp_input
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.deploy.tflm import run_litert, run_tflm
from edgenas.errors import DataError
from edgenas.space import Arch, get_space
from edgenas.supernet import OFASupernet, Subnet, prepare_subnet

# Three distinct subnets: every kernel and expand choice, depths 2-4, widths 0.5/0.75/1.0 and
# resolutions 24/28/32, kept small so a QEMU run takes well under a second.
ARCHS = (
    "r24|w0.5|k3e3,k3e3|k5e4,k3e3|k7e6,k3e3|k3e3,k5e3",
    "r28|w0.75|k5e4,k3e3|k3e6,k7e3,k3e3|k3e3,k3e4|k5e3,k3e3",
    "r32|w1|k7e3,k3e3|k3e3,k3e3|k3e3,k5e3,k3e3,k3e6|k3e4,k3e3",
)
CALIB_IMAGES = 128


@dataclass(frozen=True)
class OurSubnet:
    arch: Arch
    subnet: Subnet
    graph: Graph
    tflite: bytes
    inputs: np.ndarray  # int8 (N, R, R, 1): the ramp, 2 random, 3 Fashion-MNIST test images


@lru_cache(maxsize=1)
def _fashion_mnist():  # noqa: ANN202
    from edgenas.data import load_fashion_mnist

    try:
        return load_fashion_mnist()
    except DataError as e:
        pytest.skip(f"Fashion-MNIST not installed: {e}")


@lru_cache(maxsize=1)
def our_subnets() -> tuple[OurSubnet, ...]:
    """The three subnets, quantized on Fashion-MNIST training images (fixed seeds; cached)."""
    data = _fashion_mnist()
    torch.manual_seed(0)
    spec = get_space("mcu-mbv2")
    net = OFASupernet(spec).eval()
    out = []
    for i, text in enumerate(ARCHS):
        arch = Arch.parse(text).validate(spec)
        sub = prepare_subnet(net, arch, data, calib_images=CALIB_IMAGES)
        graph = quantize_subnet(sub, data.train, count=CALIB_IMAGES)
        shape = graph.tensor(graph.inputs[0]).shape
        rnd = np.random.default_rng(i).integers(-128, 128, size=(2, *shape[1:]), dtype=np.int8)
        images = quantize_images(data.test.x[3 * i: 3 * i + 3], arch.resolution)
        x = np.concatenate([ramp_input(shape), rnd, images])
        out.append(OurSubnet(arch, sub, graph, write_tflite(graph, description=f"edgenas {arch}"), x))
    return tuple(out)


@pytest.mark.slow
def test_subnets_are_distinct_real_int8_graphs():
    subs = our_subnets()
    assert len({str(s.arch) for s in subs}) == 3
    assert len({s.tflite for s in subs}) == 3
    for s in subs:
        kinds = [op.kind for op in s.graph.ops]
        assert kinds[-3:] == ["avg_pool2d", "reshape", "fully_connected"]
        assert "add" in kinds  # residual blocks
        weights = [s.graph.tensor(op.inputs[1]).data for op in s.graph.ops if op.kind == "depthwise_conv2d"]
        assert all(w is not None and np.abs(w.astype(int)).max() == 127 for w in weights)  # per-channel scales in use
    kernels = {s.graph.tensor(op.inputs[1]).shape[1] for s in subs for op in s.graph.ops if op.kind == "depthwise_conv2d"}
    assert kernels == {3, 5, 7}


@pytest.mark.parametrize("index", range(len(ARCHS)))
@pytest.mark.slow
def test_tflm_equals_host_build_and_reference(index, tmp_path):
    s = our_subnets()[index]
    want = run_tflm(s.tflite, s.inputs).reshape(len(s.inputs), -1)
    assert len({tuple(r) for r in want}) == len(want)  # outputs depend on the input
    assert np.array_equal(run_reference(s.graph, s.inputs).reshape(want.shape), want)
    assert np.array_equal(run_reference(read_tflite(s.tflite), s.inputs).reshape(want.shape), want)
    compile_graph(s.graph, tmp_path)
    host = build_host(tmp_path).run(s.inputs)
    assert np.array_equal(host, want)


def _without_classifier(graph: Graph) -> Graph:
    """The same graph ending at the pooled features (the input of FULLY_CONNECTED)."""
    fc = graph.ops[-1]
    assert fc.kind == "fully_connected"
    keep = {n for op in graph.ops[:-1] for n in (*op.inputs, *op.outputs) if n} | set(graph.inputs)
    tensors = {k: v for k, v in graph.tensors.items() if k in keep}
    return Graph(tensors, graph.ops[:-1], list(graph.inputs), [fc.inputs[0]], name=graph.name + "-features")


@pytest.mark.parametrize("index", range(len(ARCHS)))
@pytest.mark.slow
def test_litert_differs_only_in_fully_connected_rounding(index):
    s = our_subnets()[index]
    tflm = run_tflm(s.tflite, s.inputs).astype(int)
    litert = run_litert(s.tflite, s.inputs).astype(int)
    assert np.abs(tflm - litert).max() <= 2
    features = write_tflite(_without_classifier(s.graph))
    assert np.array_equal(run_litert(features, s.inputs), run_tflm(features, s.inputs))


def test_int8_logits_track_the_float_subnet():
    """Quantization keeps the float model's function: dequantized logits correlate closely."""
    s = our_subnets()[2]
    q = s.graph.tensor(s.graph.outputs[0]).quant
    images = s.inputs[3:]
    ours = (run_reference(s.graph, images).astype(np.float64) - q.zero_point[0]) * q.scale[0]
    x = torch.from_numpy((images.astype(np.float32) + 128.0) / 255.0).permute(0, 3, 1, 2)
    with torch.no_grad():
        ref = s.subnet(x).double().numpy()
    corr = np.corrcoef(ours.reshape(-1), ref.reshape(-1))[0, 1]
    assert corr > 0.95, corr
