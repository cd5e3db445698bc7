"""Integration: the packed and wide fully-connected kernels' target-only code (the LDM/SMLAD loops
of four rows, compiled only for DSP cores at -O1 and up) is bit-exact in QEMU.

The host tests (tests/runtime_c/test_fc_packed.py) run the arm sources with C in place of the
assembly; here the kernel-server firmware runs random en_fc_packed_s8 and en_fc_wide_s8 calls (every
other one) on the emulated M4
and M7 (-O2, and -O0 where the C loop runs instead) and every call's bytes must equal the host
reference en_fc_s8 on the plain weights and bias: odd input lengths, output counts leaving
groups of 2 and 1, narrow 8-input and 1024-input layers, a layer past the 1024-input slice,
batches, extreme zero points, huge biases, per-tensor and per-channel quantisation.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.runtime_c import kernel_server as ks
from tests.runtime_c.test_mve_kernels_qemu import _bias, _quant

pytestmark = pytest.mark.board

BOARDS = ("mps2-an386", "mps2-an500")


def _calls(seed: int) -> list[ks.Call]:
    rng = np.random.default_rng(seed)
    shapes = [(8, 128), (8, 10), (1024, 3), (1100, 2), (64, 10), (65, 11), (3, 5), (1, 1), (127, 6), (256, 7)]
    shapes += [(int(rng.integers(1, 300)), int(rng.integers(1, 40))) for _ in range(14)]
    calls = []
    for i, (cin, cout) in enumerate(shapes):
        batches = 1 if i % 5 else 2
        x = rng.integers(-128, 128, (batches, cin), dtype=np.int8)
        w = rng.integers(-127, 128, (cout, cin), dtype=np.int8)
        calls.append(ks.fc_packed(x, w, _bias(rng, cout), _quant(rng, cout, cin), wide=i % 2 == 1))
    return calls


@pytest.mark.parametrize("opt", ["-O2", "-O0"])
@pytest.mark.parametrize("board_name", BOARDS)
def test_fc_packed_matches_ref_in_qemu(board_name: str, opt: str, tmp_path) -> None:  # noqa: ANN001
    fw = ks.build_on(board_name, tmp_path, opt=opt)
    calls = _calls(7)
    ks.check(fw, calls)


@pytest.mark.parametrize("board_name", BOARDS)
def test_fc_packed_fast_requant_edges_in_qemu(board_name: str, tmp_path) -> None:  # noqa: ANN001
    """The assembly of the four-row runs (fc_rows4: its TBB entry for every chunk count modulo
    4, its QADD / Q-flag range check stopping and resuming a run, its SMMLAR requantisation and
    lane clamp) against the host reference, on the edge cases of the host test."""
    from tests.runtime_c.test_fc_packed import FAST_EDGE_QUANTS, FAST_EDGE_SHAPES, fast_edge_case

    fw = ks.build_on(board_name, tmp_path, opt="-O2")
    calls = []
    for cin, cout in FAST_EDGE_SHAPES:
        for k in range(len(FAST_EDGE_QUANTS)):
            x, w, bias, x_zp, y_zp, mults, shifts, act = fast_edge_case(100 * cin + cout + 13 * k, cin, cout)
            calls.append(ks.fc_packed(x, w, bias, ks.Quant(x_zp, y_zp, mults, shifts, act), wide=k % 2 == 1))
    ks.check(fw, calls)
