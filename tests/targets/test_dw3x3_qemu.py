"""Integration: the 3x3 depthwise entry point (en_dwconv2d_3x3_s8, arm/dwconv3x3_s8.c) is
bit-exact in QEMU, where its hand-scheduled loops run (the host tests run their C twins).

One chain of 3x3 layers at stride 1 and 2, SAME and VALID, on rows of odd and even widths (17,
then 13 after a reshape; odd output widths enter the pair loops at their second pair), 12
channels (three groups of four), every activation, and output zero points at both ends of int8
(ReLU with zero point 127 clamps everything, with -128 it is the no-clamp requantisation), in
place and not, on every emulated board (the M55 build calls its own depthwise kernel).
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.targets.cortex_m import build_firmware, driver
from tests.targets.board_names import EMULATED

pytestmark = pytest.mark.board

C = 12
# (stride, padding, activation, output zero point or None for a random one)
LAYERS = [
    (1, "same", "relu", None), (2, "same", "none", None), (1, "valid", "relu6", None),
    (2, "valid", "relu", None), (1, "same", "relu", -128), (2, "same", "relu6", 127),
    (1, "same", "none", 127), (2, "valid", "none", -128), (1, "valid", "relu", 127),
]


def _chain(seed: int = 5) -> Graph:
    rng = np.random.default_rng(seed)
    tensors: dict[str, Tensor] = {}
    ops: list[Op] = []

    def act(name: str, shape: tuple[int, ...], scale: float, zp: int) -> str:
        tensors[name] = Tensor(name, shape, "int8", QuantParams((float(np.float32(scale)),), (zp,)))
        return name

    def dw(x: str, s: int, padding: str, activation: str, zp: int | None) -> str:
        n, h, w, c = tensors[x].shape
        oh, ow = ((-(-h // s), -(-w // s)) if padding == "same" else ((h - 3) // s + 1, (w - 3) // s + 1))
        i = len(ops)
        ws = tuple(float(np.float32(v)) for v in rng.uniform(0.002, 0.02, c))
        tensors[f"w{i}"] = Tensor(f"w{i}", (1, 3, 3, c), "int8", QuantParams(ws, (0,) * c, 3),
                                  rng.integers(-127, 128, (1, 3, 3, c), dtype=np.int8))
        s_in = tensors[x].quant.scale[0]  # type: ignore[union-attr]
        tensors[f"b{i}"] = Tensor(f"b{i}", (c,), "int32", QuantParams(tuple(s_in * v for v in ws), (0,) * c),
                                  rng.integers(-3000, 3000, c).astype(np.int32))
        y = act(f"t{i}", (n, oh, ow, c), s_in * float(np.mean(ws)) * 40 * 3,
                int(rng.integers(-30, 30)) if zp is None else zp)
        ops.append(Op("depthwise_conv2d", [x, f"w{i}", f"b{i}"], [y],
                      dict(stride_h=s, stride_w=s, dilation_h=1, dilation_w=1, padding=padding,
                           activation=activation), name=f"dw_{i}"))
        if (oh, ow) == (h, w):
            return y
        j = len(ops)
        tensors[f"p{j}"] = Tensor(f"p{j}", (4, 2), "int32", None,
                                  np.array([[0, 0], [0, h - oh], [0, w - ow], [0, 0]], np.int32))
        z = act(f"t{j}", (n, h, w, c), tensors[y].quant.scale[0], tensors[y].quant.zero_point[0])  # type: ignore[union-attr]
        ops.append(Op("pad", [y, f"p{j}"], [z], {}, name=f"pad_{j}"))
        return z

    x = act("x", (1, 13, 17, C), 0.05, -3)
    for layer in LAYERS:
        x = dw(x, *layer)
    i = len(ops)
    q = tensors[x].quant
    y = act(f"t{i}", (1, 17, 13, C), q.scale[0], q.zero_point[0])  # type: ignore[union-attr]
    ops.append(Op("reshape", [x], [y], {"new_shape": (1, 17, 13, C)}, name=f"reshape_{i}"))
    x = y
    for layer in LAYERS[:4]:
        x = dw(x, *layer)
    return Graph(tensors, ops, ["x"], [x], name="dw3x3_shapes")


@pytest.mark.parametrize("in_place", [True, False], ids=["in_place", "out_of_place"])
@pytest.mark.parametrize("board_name", EMULATED)
def test_dw3x3_chain_bit_exact_in_qemu(board_name, in_place, tmp_path, boards):
    from edgenas.deploy.compile import compile_graph
    from edgenas.deploy.reference import run_reference

    graph = _chain()
    res = compile_graph(graph, tmp_path / "src", in_place=in_place)
    dws = [lay for lay in res.layers if lay["kind"] == "depthwise_conv2d"]
    assert len(dws) == len(LAYERS) + 4
    assert all(lay["in_place"] == in_place for lay in dws)
    calls = "".join(p.read_text() for p in (tmp_path / "src").glob("*.c"))
    assert calls.count("en_dwconv2d_3x3_s8(") == len(dws)  # every layer takes the new entry point
    fw = build_firmware(tmp_path / "src", boards.get(board_name), tmp_path / "fw")
    x = np.random.default_rng(1).integers(-128, 128, size=(2, 13, 17, C), dtype=np.int8)
    want = run_reference(graph, x).reshape(2, -1)
    for m, w in zip(driver.run(fw, [xi.tobytes() for xi in x]), want):
        assert np.frombuffer(m.output, np.int8).tolist() == w.tolist()
