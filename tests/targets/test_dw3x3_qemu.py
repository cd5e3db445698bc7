"""Integration: the 3x3 depthwise entry point (en_dwconv2d_3x3_s8, arm/dwconv3x3_s8.c) is
bit-exact in QEMU, where its hand-scheduled loops run (the host tests run their C twins).

One chain of 3x3 layers at stride 1 and 2, SAME and VALID, on rows of odd and even widths (17,
then 13 after a reshape; odd output widths enter the pair loops at their second pair), 12
channels (three groups of four), every activation, and output zero points at both ends of int8
(ReLU with zero point 127 clamps everything, with -128 it is the no-clamp requantisation), in
place and not, on every emulated board (the M55 build calls its own depthwise kernel).
"""

from __future__ import annotations

import pytest

from edgenas.deploy.ir import Graph
from edgenas.deploy.requant import conv_quant
from tests.targets.board_names import EMULATED
from tests.targets.dw_chain import DwChain, check_in_qemu

pytestmark = pytest.mark.board

C = 12
# (stride, padding, activation, output zero point or None for a random one)
LAYERS = [
    (1, "same", "relu", None), (2, "same", "none", None), (1, "valid", "relu6", None),
    (2, "valid", "relu", None), (1, "same", "relu", -128), (2, "same", "relu6", 127),
    (1, "same", "none", 127), (2, "valid", "none", -128), (1, "valid", "relu", 127),
]


def _chain(shape: tuple[int, ...], first: list, reshaped: tuple[int, ...], then: list, seed: int, name: str) -> Graph:
    """3x3 layers ``first`` on ``shape``, a reshape, then layers ``then``."""
    ch = DwChain(shape, seed)
    for part in (first, then):
        for s, padding, activation, zp in part:
            ch.dw(3, 3, s, s, padding, activation, zp)
        if part is first:
            ch.reshape(reshaped)
    return ch.graph(name)


@pytest.mark.parametrize("in_place", [True, False], ids=["in_place", "out_of_place"])
@pytest.mark.parametrize("board_name", EMULATED)
def test_dw3x3_chain_bit_exact_in_qemu(board_name, in_place, tmp_path, boards):
    graph = _chain((1, 13, 17, C), LAYERS, (1, 17, 13, C), LAYERS[:4], 5, "dw3x3_shapes")
    dws, source = check_in_qemu(graph, boards.get(board_name), tmp_path, in_place)
    assert len(dws) == len(LAYERS) + 4
    assert all(lay["in_place"] == in_place for lay in dws)
    assert source.count("en_dwconv2d_3x3_s8(") == len(dws)  # every layer takes the new entry point


# random output zero points: a layer that clamps every output would hide the layers before it
NARROW = [(1, "same", "relu", None), (2, "same", "none", None), (1, "valid", "relu6", None),
          (2, "valid", "relu", None), (1, "same", "none", None)]
ONE_COLUMN = [(1, "same", "relu", None), (2, "same", "none", None), (1, "same", "none", None)]


@pytest.mark.parametrize("in_place", [True, False], ids=["in_place", "out_of_place"])
@pytest.mark.parametrize("board_name", EMULATED)
def test_dw3x3_transposed_chain_bit_exact_in_qemu(board_name, in_place, tmp_path, boards):
    """Maps narrower than 8 pixels run transposed (columns as rows): 25x5 as DS-CNN's, then
    125x1 (one-pixel rows, padding on both sides of every view row; compiled uncropped, as
    cropping makes those layers 3x1)."""
    graph = _chain((1, 25, 5, C), NARROW, (1, 125, 1, C), ONE_COLUMN, 6, "dw3x3_transposed")
    dws, source = check_in_qemu(graph, boards.get(board_name), tmp_path, in_place, crop_taps=False)
    assert len(dws) == len(NARROW) + len(ONE_COLUMN)
    # in place, the transposed view takes only outputs of the input's size (stride 1, SAME)
    same_size = sum(s == 1 and padding == "same" for s, padding, *_ in NARROW + ONE_COLUMN)
    want = same_size if in_place else len(dws)
    assert source.count("en_dwconv2d_3x3_s8(") == want and want >= 4


# outputs that saturate at both ends of int8: the requantisations without clamping (no activation,
# or ReLU at zero point -128) and the ReLU form's, at both strides and both row parities
SATURATING = [(1, "same", "none", 0), (2, "same", "none", -5), (1, "valid", "relu", -128),
              (2, "valid", "relu", -40), (1, "same", "relu", -60), (2, "same", "none", 10)]


@pytest.mark.parametrize("board_name", EMULATED)
def test_dw3x3_saturating_chain_bit_exact_in_qemu(board_name, tmp_path, boards):
    ch = DwChain((1, 15, 18, 8), 7)
    for s, padding, activation, zp in SATURATING:
        ch.dw(3, 3, s, s, padding, activation, zp, spread=6.0)
    dws, source = check_in_qemu(ch.graph("dw3x3_saturating"), boards.get(board_name), tmp_path, False)
    assert len(dws) == len(SATURATING)
    assert source.count("en_dwconv2d_3x3_s8(") == len(dws)


# channels whose multipliers need no right shift (shift 0, d3_rq1_shift0; a model's first
# depthwise layer often has a few) in a group of their own and beside shifted ones, without
# clamping, with ReLU (zero point -128: nothing clamps) and ReLU6, at both strides and row parities
SHIFT0 = [(1, "same", "none", None, 6), (2, "same", "relu", None, 2), (1, "valid", "relu", -128, 4),
          (2, "valid", "none", None, 5), (1, "same", "relu6", None, 3), (2, "same", "relu", -20, 12)]


@pytest.mark.parametrize("board_name", EMULATED)
def test_dw3x3_shift0_chain_bit_exact_in_qemu(board_name, tmp_path, boards):
    ch = DwChain((1, 15, 18, C), 8)
    for s, padding, activation, zp, shift0 in SHIFT0:
        ch.dw(3, 3, s, s, padding, activation, zp, shift0=shift0)
    graph = ch.graph("dw3x3_shift0")
    zero_shifts = []
    for op in graph.ops:
        if op.kind == "depthwise_conv2d":
            x, w, _ = (graph.tensor(t).quant for t in op.inputs)
            _, shifts = conv_quant(x.scale[0], w.scale, graph.tensor(op.outputs[0]).quant.scale[0])
            zero_shifts.append(shifts.count(0))
    assert zero_shifts == [layer[-1] for layer in SHIFT0]
    dws, source = check_in_qemu(graph, boards.get(board_name), tmp_path, False)
    assert len(dws) == len(SHIFT0)
    assert source.count("en_dwconv2d_3x3_s8(") == len(dws)
