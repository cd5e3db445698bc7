"""Integration: the fused conv + ADD with its table (en_add_quant.lut) is bit-exact in QEMU.

The arm build's batched ADD (rq4_batch into a buffer, then t1[v] + t2[skip] and the SMMULR
output stage per pixel run) is target code like any other: here the kernel-server firmware
runs random en_conv2d_add_packed_s8 calls on the emulated M4 and M7, with the table codegen
emits and without it, in place over the skip tensor and not, and every call's bytes must equal
the host reference build's (which computes the ADD element by element, TFLite's way).
Geometries, requantisations and ADD quantisations (zero points at the int8 ends, three
activations) are those of the Helium kernel tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.boards import BoardRegistry
from tests.runtime_c import kernel_server as ks
from tests.runtime_c.test_mve_kernels_qemu import _add_quant, _bias, _check, _conv_geometry, _quant

pytestmark = pytest.mark.board

BOARDS = ("mps2-an386", "mps2-an500")


def _calls(seed: int) -> list[ks.Call]:
    rng = np.random.default_rng(seed)
    calls = []
    for i in range(24):
        g = _conv_geometry(rng, 3000)
        cout, taps = g["w"].shape[0], int(np.prod(g["w"].shape[1:]))
        q = _quant(rng, cout, taps)
        skip = rng.integers(-128, 128, (g["x"].shape[0], *g["out_hw"], cout), dtype=np.int8)
        calls.append(ks.conv_add(g["x"], g["w"], _bias(rng, cout), q, _add_quant(rng, q.output_zp), skip,
                                 in_place=bool(i % 2), stride=g["stride"], pad=g["pad"], dilation=g["dil"],
                                 packed=True, lut=i % 4 != 3))
    return calls


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board_name", BOARDS)
def test_conv_add_with_table_matches_ref_in_qemu(board_name: str, opt: str, tmp_path) -> None:  # noqa: ANN001
    board = BoardRegistry(entry_points=False, user_dir=None).get(board_name)
    _check(ks.build(board, tmp_path, opt=opt), _calls(11))
