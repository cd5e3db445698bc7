"""Integration: the DSP build of the packed conv is bit-exact in QEMU.

Its target-only code runs only in firmware: the assembly dot product, the column expansion with
the rotation folded into SXTAB16 (two blocks per pass, whole window rows at once), and rq4_fold,
the assembly requantisation of per-channel layers whose shifts lie in [-22, -1]. Random calls
with every requantisation edge (per-tensor, left shifts, shifts past -22, multiplier 0, narrow
activation ranges, zero points at the int8 ends) run on the emulated M4 and M7, and every call's
bytes must equal the host reference build's.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.runtime_c import kernel_server as ks
from tests.runtime_c.test_mve_kernels_qemu import conv_calls

pytestmark = pytest.mark.board


@pytest.mark.parametrize("board_name, opt", [("mps2-an386", "-O2"), ("mps2-an500", "-O2"),
                                             ("mps2-an500", "-O0"), ("mps2-an500", "-Os")])
def test_conv_packed_matches_ref_in_qemu(board_name: str, opt: str, tmp_path) -> None:  # noqa: ANN001
    """-O0 and -Os too: the inline assembly pins registers, which -O0's frame pointer constrains."""
    calls = conv_calls(np.random.default_rng(31), 40) + conv_calls(np.random.default_rng(32), 8, packed=False)
    ks.check(ks.build_on(board_name, tmp_path, opt=opt), calls)
