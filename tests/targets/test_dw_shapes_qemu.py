"""Integration: the depthwise row engine's target-only code (hand-scheduled 3x3 pair loop and
the LDRD loop of larger windows, compiled only for DSP cores at -O1 and up) is bit-exact in QEMU.

The host tests (tests/runtime_c/test_dw_shapes.py) run the same engine with C in place of the
assembly, so this chain of depthwise layers covers what only the firmware runs: 3x3 at stride 1
and 2 with odd output widths (the pair loop's discarded extra window), 5x5 and 7x7 (LDRD loop),
Kx1 and 1xK (transposed and not; 2x1 to 4x1 through en_dwconv2d_kx1_s8), a 1-D series, SAME and VALID, 7 channels (groups of 4, 2 and
1), activations with clamping, in place and not, on every emulated board.
"""

from __future__ import annotations

import pytest

from edgenas.deploy.ir import Graph
from tests.targets.board_names import EMULATED
from tests.targets.dw_chain import DwChain, check_in_qemu

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
    ch = DwChain((1, 13, 11, C), seed)
    for layer in LAYERS:
        ch.dw(*layer)
    ch.reshape((1, 143, 1, C))
    for layer in ONE_D:
        ch.dw(*layer)
    return ch.graph("dw_shapes")


@pytest.mark.parametrize("in_place", [True, False], ids=["in_place", "out_of_place"])
@pytest.mark.parametrize("board_name", EMULATED)
def test_depthwise_chain_bit_exact_in_qemu(board_name, in_place, tmp_path, boards):
    dws, _ = check_in_qemu(_chain(), boards.get(board_name), tmp_path, in_place)
    assert len(dws) == len(LAYERS) + len(ONE_D)
    assert all(lay["in_place"] == in_place for lay in dws)
