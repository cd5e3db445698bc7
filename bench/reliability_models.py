"""Base models for the .tflite mutation probe: the MLPerf Tiny references and small graphs
edgenas writes itself, so every op kind the importer knows is in at least one base.

The small graphs are built from fixed seeds (deterministic bytes), each shaped like the models
that hide bugs: a dense-only stack (the (1,128) -> (7,128) overflow), strided/dilated convs with
VALID and SAME padding, pooling, a residual add after a PAD, MEAN, reshape and softmax, and
per-tensor as well as per-channel weights.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.tflite_writer import write_tflite

MLPERF_DIR = Path("/work/shared/models/mlperf-tiny")
MLPERF = ("kws_dscnn_int8", "ic_resnet8_int8")
SOFTMAX_Q = QuantParams((1.0 / 256,), (-128,))


class SeededBuilder:
    """Collects tensors for one small graph; weights and biases drawn from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tensors: dict[str, Tensor] = {}

    def act(self, name: str, shape: tuple[int, ...], scale: float = 0.05, zp: int = 0) -> str:
        self.tensors[name] = Tensor(name, shape, "int8", QuantParams((scale,), (zp,)))
        return name

    def weights(self, name: str, shape: tuple[int, ...], axis: int, per_channel: bool) -> str:
        channels = shape[axis] if per_channel else 1
        scales = tuple(float(s) for s in np.float32(self.rng.uniform(0.003, 0.03, channels)))
        data = self.rng.integers(-127, 128, shape, dtype=np.int8)
        self.tensors[name] = Tensor(name, shape, "int8", QuantParams(scales, (0,) * channels, axis), data)
        return name

    def bias(self, name: str, x: str, w: str, channels: int) -> str:
        xs, ws = self.tensors[x].quant.scale[0], self.tensors[w].quant.scale  # type: ignore[union-attr]
        ws = ws if len(ws) == channels else ws * channels
        q = QuantParams(tuple(float(np.float32(xs * s)) for s in ws), (0,) * channels)
        data = self.rng.integers(-2000, 2000, channels).astype(np.int32)
        self.tensors[name] = Tensor(name, (channels,), "int32", q, data)
        return name

    def const(self, name: str, data: np.ndarray, dtype: str) -> str:
        self.tensors[name] = Tensor(name, tuple(data.shape), dtype, None, data.astype(dtype))
        return name

    def graph(self, ops: list[Op], x: str, y: str, name: str) -> Graph:
        return Graph(self.tensors, ops, [x], [y], name=name)


def dense_stack() -> Graph:
    """FC (per-tensor weights) -> FC (per-channel) -> softmax on a (1, 128) input."""
    b = SeededBuilder(11)
    x, h = b.act("x", (1, 128), 0.04, -5), b.act("h", (1, 32), 0.1, -128)
    w1, w2 = b.weights("w1", (32, 128), 0, False), b.weights("w2", (10, 32), 0, True)
    y, p = b.act("y", (1, 10), 0.2, 3), b.act("p", (1, 10))
    b.tensors["p"].quant = SOFTMAX_Q
    ops = [Op("fully_connected", [x, w1, b.bias("b1", x, w1, 32)], [h], {"activation": "relu"}),
           Op("fully_connected", [h, w2, b.bias("b2", h, w2, 10)], [y], {"activation": "none"}),
           Op("softmax", [y], [p], {"beta": 1.0})]
    return b.graph(ops, x, p, "dense_stack")


def conv_pool() -> Graph:
    """Strided VALID conv -> dilated SAME depthwise -> avg pool -> reshape -> FC."""
    b = SeededBuilder(12)
    x = b.act("x", (1, 11, 9, 3), 0.03, 4)
    w1 = b.weights("w1", (8, 3, 3, 3), 0, True)
    c1 = b.act("c1", (1, 5, 4, 8), 0.08, -20)
    w2 = b.weights("w2", (1, 3, 3, 8), 3, True)
    c2 = b.act("c2", (1, 5, 4, 8), 0.07, -10)
    pl = b.act("pl", (1, 2, 2, 8), 0.07, -10)
    r = b.act("r", (1, 32), 0.07, -10)
    w3 = b.weights("w3", (6, 32), 0, True)
    y = b.act("y", (1, 6), 0.25, 2)
    conv = dict(stride_h=2, stride_w=2, dilation_h=1, dilation_w=1, padding="valid", activation="relu6")
    dw = dict(stride_h=1, stride_w=1, dilation_h=2, dilation_w=2, padding="same", activation="relu")
    ops = [Op("conv2d", [x, w1, b.bias("b1", x, w1, 8)], [c1], conv),
           Op("depthwise_conv2d", [c1, w2, b.bias("b2", c1, w2, 8)], [c2], dw),
           Op("avg_pool2d", [c2], [pl], dict(filter_h=2, filter_w=2, stride_h=2, stride_w=2, padding="valid",
                                             activation="none")),
           Op("reshape", [pl], [r], {"new_shape": (1, 32)}),
           Op("fully_connected", [r, w3, b.bias("b3", r, w3, 6)], [y], {"activation": "none"})]
    return b.graph(ops, x, y, "conv_pool")


def residual_pad() -> Graph:
    """PAD -> VALID conv (per-tensor weights) back to the input size -> ADD with the input -> SAME
    avg pool -> MEAN."""
    b = SeededBuilder(13)
    x = b.act("x", (1, 6, 6, 4), 0.05, -3)
    pads = b.const("pads", np.array([[0, 0], [1, 1], [1, 1], [0, 0]]), "int32")
    xp = b.act("xp", (1, 8, 8, 4), 0.05, -3)
    w = b.weights("w", (4, 3, 3, 4), 0, False)
    h = b.act("h", (1, 6, 6, 4), 0.06, 7)
    s = b.act("s", (1, 6, 6, 4), 0.09, -2)
    pl = b.act("pl", (1, 3, 3, 4), 0.09, -2)
    y = b.act("y", (1, 4), 0.04, 1)
    conv = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, padding="valid", activation="none")
    ops = [Op("pad", [x, pads], [xp]),
           Op("conv2d", [xp, w, b.bias("b", xp, w, 4)], [h], conv),
           Op("add", [x, h], [s], {"activation": "relu"}),
           Op("avg_pool2d", [s], [pl], dict(filter_h=3, filter_w=3, stride_h=2, stride_w=2, padding="same",
                                            activation="none")),
           Op("mean", [pl], [y], {"axes": (1, 2), "keep_dims": False})]
    return b.graph(ops, x, y, "residual_pad")


def conv_mean() -> Graph:
    """SAME conv without bias -> MEAN keeping dims -> reshape: the shortest conv model."""
    b = SeededBuilder(14)
    x = b.act("x", (1, 5, 7, 2), 0.05, -3)
    w = b.weights("w", (4, 3, 3, 2), 0, True)
    h = b.act("h", (1, 5, 7, 4), 0.2, 5)
    m = b.act("m", (1, 1, 1, 4), 0.2, 5)
    y = b.act("y", (1, 4), 0.2, 5)
    conv = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, padding="same", activation="relu")
    ops = [Op("conv2d", [x, w], [h], conv),
           Op("mean", [h], [m], {"axes": (1, 2), "keep_dims": True}),
           Op("reshape", [m], [y], {"new_shape": (1, 4)})]
    return b.graph(ops, x, y, "conv_mean")


SMALL = {"dense_stack": dense_stack, "conv_pool": conv_pool, "residual_pad": residual_pad, "conv_mean": conv_mean}


def base_models() -> dict[str, bytes]:
    """name -> .tflite bytes: the MLPerf Tiny models that are present, then the small ones."""
    out = {name: (MLPERF_DIR / f"{name}.tflite").read_bytes() for name in MLPERF
           if (MLPERF_DIR / f"{name}.tflite").is_file()}
    out.update({name: write_tflite(make()) for name, make in SMALL.items()})
    return out
