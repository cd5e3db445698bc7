"""Integration: the depthwise row engine's target-only code (hand-scheduled 3x3 pair loop and
the LDRD loop of larger windows, compiled only for DSP cores at -O1 and up) is bit-exact in QEMU.

The host tests (tests/runtime_c/test_dw_shapes.py) run the same engine with C in place of the
assembly, so this chain of depthwise layers covers what only the firmware runs: 3x3 at stride 1
and 2 with odd output widths (the pair loop's discarded extra window), 5x5 and 7x7 (LDRD loop),
Kx1 and 1xK (transposed and not; 2x1 to 4x1 through en_dwconv2d_kx1_s8), a 1-D series, SAME and VALID, 7 channels (groups of 4, 2 and
1), activations with clamping, in place and not, on every emulated board.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.targets.cortex_m import build_firmware, driver
from tests.targets.board_names import EMULATED

pytestmark = pytest.mark.board

C = 7
# (KH, KW, stride_h, stride_w, padding, activation); a PAD restores 13x11 after each layer
LAYERS = [
    (3, 3, 1, 1, "same", "relu"), (3, 3, 2, 2, "same", "none"), (3, 3, 1, 1, "valid", "relu6"),
    (5, 5, 1, 1, "same", "none"), (5, 5, 2, 2, "valid", "relu"), (7, 7, 1, 2, "same", "none"),
    (3, 1, 1, 1, "same", "relu"), (10, 1, 2, 1, "same", "none"), (1, 5, 1, 1, "same", "relu6"),
    (3, 1, 2, 1, "valid", "relu6"), (4, 1, 1, 2, "same", "none"), (2, 1, 2, 1, "same", "relu"),
]
ONE_D = [(3, 1, 1, 1, "same", "relu"), (10, 1, 1, 1, "same", "none"), (15, 1, 2, 1, "valid", "relu"),
         (3, 1, 2, 1, "same", "none")]


def _chain(seed: int = 3) -> Graph:
    rng = np.random.default_rng(seed)
    tensors: dict[str, Tensor] = {}
    ops: list[Op] = []

    def act(name: str, shape: tuple[int, ...], scale: float, zp: int) -> str:
        tensors[name] = Tensor(name, shape, "int8", QuantParams((float(np.float32(scale)),), (zp,)))
        return name

    def dw(x: str, kh: int, kw: int, sh: int, sw: int, padding: str, activation: str) -> str:
        n, h, w, c = tensors[x].shape
        oh, ow = ((-(-h // sh), -(-w // sw)) if padding == "same"
                  else ((h - kh) // sh + 1, (w - kw) // sw + 1))
        i = len(ops)
        ws = tuple(float(np.float32(v)) for v in rng.uniform(0.002, 0.02, c))
        tensors[f"w{i}"] = Tensor(f"w{i}", (1, kh, kw, c), "int8", QuantParams(ws, (0,) * c, 3),
                                  rng.integers(-127, 128, (1, kh, kw, c), dtype=np.int8))
        s_in = tensors[x].quant.scale[0]  # type: ignore[union-attr]
        tensors[f"b{i}"] = Tensor(f"b{i}", (c,), "int32", QuantParams(tuple(s_in * v for v in ws), (0,) * c),
                                  rng.integers(-3000, 3000, c).astype(np.int32))
        y = act(f"t{i}", (n, oh, ow, c), s_in * float(np.mean(ws)) * 40 * np.sqrt(kh * kw), int(rng.integers(-30, 30)))
        ops.append(Op("depthwise_conv2d", [x, f"w{i}", f"b{i}"], [y],
                      dict(stride_h=sh, stride_w=sw, dilation_h=1, dilation_w=1, padding=padding,
                           activation=activation), name=f"dw_{i}"))
        if (oh, ow) == (h, w):
            return y
        j = len(ops)
        tensors[f"p{j}"] = Tensor(f"p{j}", (4, 2), "int32", None,
                                  np.array([[0, 0], [0, h - oh], [0, w - ow], [0, 0]], np.int32))
        z = act(f"t{j}", (n, h, w, c), tensors[y].quant.scale[0], tensors[y].quant.zero_point[0])  # type: ignore[union-attr]
        ops.append(Op("pad", [y, f"p{j}"], [z], {}, name=f"pad_{j}"))
        return z

    x = act("x", (1, 13, 11, C), 0.05, -3)
    for layer in LAYERS:
        x = dw(x, *layer)
    i = len(ops)
    q = tensors[x].quant
    series = act(f"t{i}", (1, 143, 1, C), q.scale[0], q.zero_point[0])  # type: ignore[union-attr]
    ops.append(Op("reshape", [x], [series], {"new_shape": (1, 143, 1, C)}, name=f"reshape_{i}"))
    x = series
    for layer in ONE_D:
        x = dw(x, *layer)
    return Graph(tensors, ops, ["x"], [x], name="dw_shapes")


@pytest.mark.parametrize("in_place", [True, False], ids=["in_place", "out_of_place"])
@pytest.mark.parametrize("board_name", EMULATED)
def test_depthwise_chain_bit_exact_in_qemu(board_name, in_place, tmp_path, boards):
    from edgenas.deploy.compile import compile_graph
    from edgenas.deploy.reference import run_reference

    graph = _chain()
    res = compile_graph(graph, tmp_path / "src", in_place=in_place)
    dws = [lay for lay in res.layers if lay["kind"] == "depthwise_conv2d"]
    assert len(dws) == len(LAYERS) + len(ONE_D)
    assert all(lay["in_place"] == in_place for lay in dws)
    fw = build_firmware(tmp_path / "src", boards.get(board_name), tmp_path / "fw")
    x = np.random.default_rng(1).integers(-128, 128, size=(2, 13, 11, C), dtype=np.int8)
    want = run_reference(graph, x).reshape(2, -1)
    for m, w in zip(driver.run(fw, [xi.tobytes() for xi in x]), want):
        assert np.frombuffer(m.output, np.int8).tolist() == w.tolist()
