"""A chain of depthwise layers with random int8 weights for the QEMU kernel tests: after a layer
that shrinks the tensor a PAD restores its size, so every layer of a chain sees the same shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgenas.boards import Board
from edgenas.deploy.compile import compile_graph
from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.reference import run_reference
from edgenas.targets.cortex_m import build_firmware, driver


class DwChain:
    """Appends depthwise layers (and PAD / RESHAPE) to one chain; weights from one generator."""

    def __init__(self, shape: tuple[int, ...], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.x = self._act("x", shape, 0.05, -3)

    def _act(self, name: str, shape: tuple[int, ...], scale: float, zp: int) -> str:
        self.tensors[name] = Tensor(name, tuple(shape), "int8", QuantParams((float(np.float32(scale)),), (zp,)))
        return name

    def _quant(self, t: str) -> tuple[float, int]:
        q = self.tensors[t].quant
        return q.scale[0], q.zero_point[0]  # type: ignore[union-attr]

    def dw(self, kh: int, kw: int, sh: int, sw: int, padding: str, activation: str, zp: int | None = None,
           spread: float = 1.0, shift0: int = 0) -> None:
        """One depthwise layer; its output zero point is ``zp`` or a random one; ``spread`` > 1 narrows
        the output scale so that many outputs saturate at both ends of int8; the first ``shift0``
        channels get multipliers in [0.5, 1) (no right shift), with weights in [-1, 1] and small
        biases so that their outputs stay mostly inside int8."""
        x, rng = self.x, self.rng
        n, h, w, c = self.tensors[x].shape
        oh, ow = ((-(-h // sh), -(-w // sw)) if padding == "same"
                  else ((h - kh) // sh + 1, (w - kw) // sw + 1))
        i = len(self.ops)
        ws = [float(np.float32(v)) for v in rng.uniform(0.002, 0.02, c)]
        weights = rng.integers(-127, 128, (1, kh, kw, c), dtype=np.int8)
        s_in = self._quant(x)[0]
        bias = rng.integers(-3000, 3000, c).astype(np.int32)
        s_out = float(np.float32(s_in * float(np.mean(ws)) * 40 * np.sqrt(kh * kw) / spread))
        for k in range(shift0):
            ws[k] = float(np.float32(s_out * rng.uniform(0.55, 0.95) / s_in))
            weights[..., k] = rng.integers(-1, 2, (1, kh, kw), dtype=np.int8)
            bias[k] = rng.integers(-60, 60)
        self.tensors[f"w{i}"] = Tensor(f"w{i}", (1, kh, kw, c), "int8", QuantParams(tuple(ws), (0,) * c, 3), weights)
        self.tensors[f"b{i}"] = Tensor(f"b{i}", (c,), "int32", QuantParams(tuple(s_in * v for v in ws), (0,) * c),
                                       bias)
        y = self._act(f"t{i}", (n, oh, ow, c), s_out, int(rng.integers(-30, 30)) if zp is None else zp)
        self.ops.append(Op("depthwise_conv2d", [x, f"w{i}", f"b{i}"], [y],
                           dict(stride_h=sh, stride_w=sw, dilation_h=1, dilation_w=1, padding=padding,
                                activation=activation), name=f"dw_{i}"))
        self.x = y
        if (oh, ow) != (h, w):
            j = len(self.ops)
            self.tensors[f"p{j}"] = Tensor(f"p{j}", (4, 2), "int32", None,
                                           np.array([[0, 0], [0, h - oh], [0, w - ow], [0, 0]], np.int32))
            self.x = self._act(f"t{j}", (n, h, w, c), *self._quant(y))
            self.ops.append(Op("pad", [y, f"p{j}"], [self.x], {}, name=f"pad_{j}"))

    def reshape(self, shape: tuple[int, ...]) -> None:
        i = len(self.ops)
        y = self._act(f"t{i}", shape, *self._quant(self.x))
        self.ops.append(Op("reshape", [self.x], [y], {"new_shape": tuple(shape)}, name=f"reshape_{i}"))
        self.x = y

    def graph(self, name: str) -> Graph:
        return Graph(self.tensors, self.ops, ["x"], [self.x], name=name)


def check_in_qemu(graph: Graph, board: Board, work: Path, in_place: bool,
                  crop_taps: bool = True) -> tuple[list[dict], str]:
    """Compile ``graph`` (in-place reuse on or off), run two random inputs on ``board`` and assert
    the outputs equal the int8 reference; returns the depthwise layers and the generated C."""
    res = compile_graph(graph, work / "src", in_place=in_place, crop_taps=crop_taps)
    fw = build_firmware(work / "src", board, work / "fw")
    x = np.random.default_rng(1).integers(-128, 128, size=(2, *graph.tensor(graph.inputs[0]).shape[1:]),
                                          dtype=np.int8)
    want = run_reference(graph, x).reshape(2, -1)
    for m, w in zip(driver.run(fw, [xi.tobytes() for xi in x]), want):
        assert np.frombuffer(m.output, np.int8).tolist() == w.tolist()
    source = "".join(p.read_text() for p in (work / "src").glob("*.c"))
    return [lay for lay in res.layers if lay["kind"] == "depthwise_conv2d"], source
