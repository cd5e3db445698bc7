"""Synthetic int8 models of our own for ``bench/mcu_vs_tflm.py``: the layer shapes the two MLPerf
Tiny models lack, so a slow kernel cannot hide behind them.

- ``dw_strided``: a MobileNet-like stack on 32x32x16 with 3x3 depthwise at stride 1 and 2, SAME
  and VALID, 7x7 stride 1 and 5x5 stride 2 (on a 5x5 map, as at a network's tail), pointwise
  convs between them, MEAN and an FC head;
- ``dw_kx1``: an audio model on a 49x10 spectrogram (DS-CNN's 10x4 stride-2 stem), then K×1
  depthwise (3x1 stride 1 and 2, 5x1, 10x1 stride 1 and 2) with pointwise convs, MEAN, FC;
- ``dense_autoencoder``: dense layers only, shaped like MLPerf Tiny's anomaly-detection
  autoencoder (640-128-128-128-128-8-128-128-128-128-640), with the narrow 8-wide bottleneck.

Weights and biases are drawn from fixed seeds, so each model's bytes are always the same.
"""

from __future__ import annotations

import numpy as np

from reliability_models import SeededBuilder

from edgenas.deploy.ir import Graph, Op


class _Stack:
    """Appends layers to one chain; each output scale grows with the layer's fan-in, as random
    weights make the accumulator grow, so outputs use the int8 range without saturating."""

    def __init__(self, seed: int, shape: tuple[int, ...]) -> None:
        self.b = SeededBuilder(seed)
        self.ops: list[Op] = []
        self.x = self.first = self.b.act("x", shape, 0.05, -3)

    def _out(self, shape: tuple[int, ...], w: str, fan_in: int) -> str:
        xs = self.b.tensors[self.x].quant.scale[0]  # type: ignore[union-attr]
        ws = float(np.mean(self.b.tensors[w].quant.scale))  # type: ignore[union-attr]
        zp = int(self.b.rng.integers(-20, 20))
        return self.b.act(f"t{len(self.ops)}", shape, float(np.float32(xs * ws * 40.0 * np.sqrt(fan_in))), zp)

    def conv(self, cout: int, kh: int, kw: int, stride: tuple[int, int] = (1, 1), padding: str = "same",
             depthwise: bool = False, activation: str = "relu") -> None:
        n, h, w, c = self.b.tensors[self.x].shape
        i = len(self.ops)
        if padding == "same":
            oh, ow = -(-h // stride[0]), -(-w // stride[1])
        else:
            oh, ow = (h - kh) // stride[0] + 1, (w - kw) // stride[1] + 1
        cout = c if depthwise else cout
        wt = (self.b.weights(f"w{i}", (1, kh, kw, c), 3, True) if depthwise
              else self.b.weights(f"w{i}", (cout, kh, kw, c), 0, True))
        bias = self.b.bias(f"b{i}", self.x, wt, cout)
        out = self._out((n, oh, ow, cout), wt, kh * kw * (1 if depthwise else c))
        attrs = dict(stride_h=stride[0], stride_w=stride[1], dilation_h=1, dilation_w=1, padding=padding,
                     activation=activation)
        kind = "depthwise_conv2d" if depthwise else "conv2d"
        self.ops.append(Op(kind, [self.x, wt, bias], [out], attrs, name=f"{kind}_{i}"))
        self.x = out

    def dw(self, kh: int, kw: int, stride: tuple[int, int] = (1, 1), padding: str = "same") -> None:
        self.conv(0, kh, kw, stride, padding, depthwise=True)

    def mean(self) -> None:
        n, _, _, c = self.b.tensors[self.x].shape
        q = self.b.tensors[self.x].quant
        out = self.b.act(f"t{len(self.ops)}", (n, c), q.scale[0], q.zero_point[0])  # type: ignore[union-attr]
        self.ops.append(Op("mean", [self.x], [out], {"axes": (1, 2), "keep_dims": False}, name=f"mean_{len(self.ops)}"))
        self.x = out

    def fc(self, cout: int, activation: str = "relu") -> None:
        n, cin = self.b.tensors[self.x].shape
        i = len(self.ops)
        wt = self.b.weights(f"w{i}", (cout, cin), 0, False)
        bias = self.b.bias(f"b{i}", self.x, wt, cout)
        out = self._out((n, cout), wt, cin)
        self.ops.append(Op("fully_connected", [self.x, wt, bias], [out], {"activation": activation},
                           name=f"fully_connected_{i}"))
        self.x = out

    def graph(self, name: str) -> Graph:
        return self.b.graph(self.ops, self.first, self.x, name)


def dw_strided() -> Graph:
    s = _Stack(21, (1, 32, 32, 16))
    s.dw(3, 3)
    s.conv(32, 1, 1)
    s.dw(3, 3, (2, 2))
    s.dw(7, 7)
    s.conv(48, 1, 1)
    s.dw(3, 3, (2, 2), "valid")
    s.conv(64, 1, 1)
    s.dw(3, 3, padding="valid")
    s.dw(5, 5, (2, 2))
    s.conv(96, 1, 1)
    s.mean()
    s.fc(10, "none")
    return s.graph("dw_strided")


def dw_kx1() -> Graph:
    s = _Stack(22, (1, 49, 10, 1))
    s.conv(64, 10, 4, (2, 2))
    for kh, sh in ((3, 1), (3, 2), (5, 1), (10, 1), (10, 2)):
        s.dw(kh, 1, (sh, 1))
        s.conv(64, 1, 1)
    s.mean()
    s.fc(12, "none")
    return s.graph("dw_kx1")


def dense_autoencoder() -> Graph:
    s = _Stack(23, (1, 640))
    for width in (128, 128, 128, 128, 8, 128, 128, 128, 128):
        s.fc(width)
    s.fc(640, "none")
    return s.graph("dense_autoencoder")


SWEEP_MODELS = {"dw_strided": dw_strided, "dw_kx1": dw_kx1, "dense_autoencoder": dense_autoencoder}
