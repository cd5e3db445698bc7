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

from tests.runtime_c import kernel_server as ks
from tests.runtime_c.test_mve_kernels_qemu import conv_add_calls

pytestmark = pytest.mark.board

BOARDS = ("mps2-an386", "mps2-an500")


@pytest.mark.parametrize("opt", ["-O2", "-Os"])
@pytest.mark.parametrize("board_name", BOARDS)
def test_conv_add_with_table_matches_ref_in_qemu(board_name: str, opt: str, tmp_path) -> None:  # noqa: ANN001
    calls = conv_add_calls(np.random.default_rng(11), 3000, lut=lambda i: i % 4 != 3)  # some without a table
    ks.check(ks.build_on(board_name, tmp_path, opt=opt), calls)
