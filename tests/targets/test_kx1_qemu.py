"""Integration: en_dwconv2d_kx1_s8's and en_dwconv2d_kx1_long_s8's target-only code (the
hand-scheduled 3x1 column loops at stride 1 and 2, the row pairs' PKH / SSUB16 / SEL, built only
for DSP cores) is bit-exact in QEMU.

The host tests (tests/runtime_c/test_dw_shapes.py) run the arm sources with the C column walk in
place of the assembly; here the kernel-server firmware runs random en_dwconv2d_kx1_s8 calls on
the emulated M4 and M7 (-O2 and -O0: the loops are naked functions, the same at any level; the
compiled C around them is not) and every call's bytes must equal the host reference build's:
3x1 at stride 1 and 2 (and 2x1 and 4x1, which other paths take, and 5x1 to 31x1 through the
long-Kx1 entry point, with its unrolled and its looped windows), SAME, VALID and explicit
padding that leaves a padded last output or two, heights from 1, 1-D series and several
columns, channel counts in groups of 4 (and odd ones, which fall back), in place and not,
batches, ReLU with the output zero point as its floor (the loops' case) as well as other
activations, extreme zero points, huge biases and per-tensor / per-channel scales.
5- and 6-tap windows at stride 1 and 2 with every output count mod 4, narrow activation ranges
and extreme zero points exercise the long entry's assembly steps. Three 16x16x8 layers also check,
at -O2, that the loops ran (instructions per MAC well below the C loops').
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.runtime_c import kernel_server as ks
from tests.runtime_c.test_mve_kernels_qemu import _bias, _quant

pytestmark = pytest.mark.board

BOARDS = ("mps2-an386", "mps2-an500")


def _geometry(rng: np.random.Generator, h: int, k: int, s: int) -> tuple[int, int]:
    """(pad_top, OH): SAME, VALID or an explicit top / bottom padding."""
    r = rng.random()
    if r < 0.45:  # SAME
        oh = -(-h // s)
        total = max((oh - 1) * s + k - h, 0)
        return total // 2, oh
    if r < 0.7:  # VALID
        return 0, max((h - k) // s + 1, 0)
    pt = int(rng.integers(0, (k - 1) // 2 + 1))
    pb = int(rng.integers(0, k))
    return pt, max((h + pt + pb - k) // s + 1, 0)


def _call(rng: np.random.Generator, k: int, s: int, h: int, w: int, c: int, n: int, in_place: bool) -> ks.Call | None:
    pt, oh = _geometry(rng, h, k, s)
    if oh < 1 or (in_place and oh > h):
        return None
    q = _quant(rng, c, k)
    if rng.random() < 0.6:  # ReLU: act_min = output zero point (the hand-scheduled loops)
        q = ks.Quant(q.input_zp, q.output_zp, q.mults, q.shifts, (q.output_zp, 127))
    x = rng.integers(-128, 128, (n, h, w, c), dtype=np.int8)
    wt = rng.integers(-127, 128, (1, k, 1, c), dtype=np.int8)
    if rng.random() < 0.1:
        wt[...] = rng.choice([-127, 127])
    return ks.dwconv(x, wt, _bias(rng, c), q, (s, 1), (pt, 0), (oh, w), in_place=in_place, kx1=True)


def _calls(seed: int) -> list[ks.Call]:
    rng = np.random.default_rng(seed)
    calls: list[ks.Call] = []
    while len(calls) < 90:
        i = len(calls)
        k = 3 if i % 3 else int(rng.choice([2, 4, 5, 6, 7, 9, 10, 15, 31]))
        s = 1 + i % 2
        c = int(rng.choice([4, 8, 12, 16, 24, 4, 8, 7]))
        w = int(rng.choice([1, 1, 2, 3, 5]))
        h = int(rng.choice([1, 2, 3, 4, 5, int(rng.integers(1, 40)), int(rng.integers(1, 40))]))
        while h * w * c > 1200:
            h = max(1, h // 2)
        n = 2 if rng.random() < 0.1 else 1
        call = _call(rng, k, s, h, w, c, n, in_place=bool(rng.random() < 0.5))
        if call is not None:
            calls.append(call)
    return calls


def _speed_calls() -> list[ks.Call]:
    """16x16x8 3x1 ReLU layers at stride 1 and 2, in place and not: the hand-scheduled loops."""
    rng = np.random.default_rng(5)
    calls = []
    for s, in_place in ((1, False), (2, True)):
        x = rng.integers(-128, 128, (1, 16, 16, 8), dtype=np.int8)
        wt = rng.integers(-127, 128, (1, 3, 1, 8), dtype=np.int8)
        oh = -(-16 // s)
        pt = max((oh - 1) * s + 3 - 16, 0) // 2
        q = ks.Quant(-3, 5, np.full(8, (1 << 30) + 12345, np.int32), np.full(8, -9, np.int32), (5, 127))
        calls.append(ks.dwconv(x, wt, rng.integers(-2000, 2000, 8).astype(np.int32), q, (s, 1), (pt, 0),
                               (oh, 16), in_place=in_place, kx1=True))
    return calls


def _five_six_tap_calls() -> list[ks.Call]:
    """5- and 6-tap windows (three weight words: the long entry's assembly steps of four outputs)
    at stride 1 and 2, with every output count mod 4 and below 4 (one more step into a buffer gives
    the last 1-3), 1 to 3 columns, a narrow activation range (both clamps bite) and the extreme zero points."""
    rng = np.random.default_rng(23)
    calls = []
    for i, (k, s, h) in enumerate([(5, 1, 4), (5, 1, 9), (5, 2, 13), (6, 2, 16), (5, 2, 7), (6, 1, 18),
                                   (5, 1, 30), (6, 2, 11), (5, 1, 2), (6, 2, 5)]):
        c, w = (4, 8, 12)[i % 3], 1 + i % 3
        oh = -(-h // s)
        pt = max((oh - 1) * s + k - h, 0) // 2
        zp_in, zp_out = ((-128, 127), (127, -128), (-3, 5))[i % 3]
        q = ks.Quant(zp_in, zp_out, rng.integers(1 << 28, (1 << 31) - 1, c).astype(np.int32),
                     np.full(c, -9 - i % 4, np.int32), (min(max(zp_out, -100), 60), 90) if i % 2 else (zp_out, 127))
        x = rng.integers(-128, 128, (1, h, w, c), dtype=np.int8)
        wt = rng.integers(-127, 128, (1, k, 1, c), dtype=np.int8)
        bias = rng.integers(-3000, 3000, c).astype(np.int32)
        calls.append(ks.dwconv(x, wt, bias, q, (s, 1), (pt, 0), (oh, w), in_place=bool(i % 2), kx1=True))
    return calls


def _long_speed_call() -> ks.Call:
    """A 16x16x8 5x1 ReLU layer at stride 1: the assembly steps."""
    rng = np.random.default_rng(6)
    x = rng.integers(-128, 128, (1, 16, 16, 8), dtype=np.int8)
    wt = rng.integers(-127, 128, (1, 5, 1, 8), dtype=np.int8)
    q = ks.Quant(-3, 5, np.full(8, (1 << 30) + 12345, np.int32), np.full(8, -9, np.int32), (5, 127))
    return ks.dwconv(x, wt, rng.integers(-2000, 2000, 8).astype(np.int32), q, (1, 1), (2, 0), (16, 16),
                     in_place=False, kx1=True)


@pytest.mark.parametrize("opt", ["-O2", "-O0"])
@pytest.mark.parametrize("board_name", BOARDS)
def test_kx1_matches_ref_in_qemu(board_name: str, opt: str, tmp_path) -> None:  # noqa: ANN001
    fw = ks.build_on(board_name, tmp_path, opt=opt)
    calls = _calls(11) + _five_six_tap_calls()
    speed = _speed_calls() + [_long_speed_call()]
    results = ks.check(fw, calls + speed)
    if opt == "-O2":  # the loops ran (3x1 about 4.1 / 4.6 instructions per MAC, the C loops 6.6 / 8.0;
        # 5x1 about 4.1, the C steps 4.8)
        for c, r, bound in zip(speed, results[len(calls):], (5.0, 5.0, 4.5)):
            assert r.instructions / c.macs < bound, (c.out_shape, r.instructions / c.macs)
