"""Models bench/reliability.py's mutation probe found accepted by the importer and then crashing
the reference interpreter (KeyError, MemoryError) or failing only when the firmware ran: each is
now a clean import error. The graphs are written directly, so each test holds one lie."""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.reference import run_reference
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.errors import ModelFormatError

Q = QuantParams((0.05,), (-3,))


def _conv(dilation: int, size: int = 5) -> Graph:
    """A 3x3 SAME conv on a (1, size, size, 2) input with the given dilation."""
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, (4, 3, 3, 2), dtype=np.int8)
    t = {
        "x": Tensor("x", (1, size, size, 2), "int8", Q),
        "w": Tensor("w", w.shape, "int8", QuantParams((0.01,) * 4, (0,) * 4, 0), w),
        "y": Tensor("y", (1, size, size, 4), "int8", QuantParams((0.2,), (5,))),
    }
    attrs = dict(stride_h=1, stride_w=1, dilation_h=dilation, dilation_w=1, padding="same", activation="none")
    return Graph(t, [Op("conv2d", ["x", "w"], ["y"], attrs)], ["x"], ["y"])


def _pool(filter_h: int) -> Graph:
    t = {"x": Tensor("x", (1, 6, 6, 4), "int8", Q), "y": Tensor("y", (1, 3, 3, 4), "int8", Q)}
    attrs = dict(filter_h=filter_h, filter_w=3, stride_h=2, stride_w=2, padding="same", activation="none")
    return Graph(t, [Op("avg_pool2d", ["x"], ["y"], attrs)], ["x"], ["y"])


def test_a_constant_graph_output_is_refused_not_a_reference_key_error() -> None:
    graph = _conv(1)
    graph.outputs = ["w"]  # the mutant pointed the subgraph's output at the weights
    with pytest.raises(ModelFormatError, match="graph output 'w' is a constant"):
        read_tflite(write_tflite(graph))


def test_a_dilation_larger_than_the_input_is_refused_not_a_memory_error() -> None:
    """SAME padding grows with the dilation: 2**31 - 1 made the reference pad terabytes."""
    x = np.zeros((1, 5, 5, 2), np.int8)
    run_reference(read_tflite(write_tflite(_conv(5))), x)  # taps 5 apart on 5 rows: still allowed
    for dilation in (6, 1 << 20, (1 << 31) - 1):
        with pytest.raises(ModelFormatError, match=f"dilation {dilation} on an input of size 5"):
            read_tflite(write_tflite(_conv(dilation)))


def test_a_pool_window_the_runtime_refuses_is_refused_at_import() -> None:
    """runtime_c refuses windows over 65,536 taps at run time (exit 3 after the whole build)."""
    read_tflite(write_tflite(_pool(1 << 14)))  # 49,152 taps
    with pytest.raises(ModelFormatError, match="more than 65,536 taps"):
        read_tflite(write_tflite(_pool(1 << 20)))
