"""Integration: the small-map depthwise strategy's target-only code (arm/dw_small_s8.c: the
hand-scheduled 3x3 window, the unrolled rows of 5 and 7 taps and the tap and row loops of other
windows, built only for DSP cores) is bit-exact in QEMU.

The host tests (tests/runtime_c/test_dw_shapes.py) run the same strategy with C in place of the
assembly; here the kernel-server firmware runs random en_dwconv2d_s8 calls drawn around the
shapes it takes (channel counts that are multiples of 4, maps up to 11x11: 3x3, 5x5 and 7x7
windows, Kx1 of 5 to 10 taps run transposed; and rectangular and 1xK ones that other strategies
take) on the emulated M4 and M7 at -O2 and -O0, and every call's bytes must equal the host
reference build's: strides 1 to 3, SAME, VALID and uneven padding, in place and not, batches of
2, per-tensor and per-channel scales, huge biases and extreme shifts (the exact requantisation).
Four layers at the tail of a MobileNet also check, at -O2, that each call took the cheaper
strategy (instructions per MAC): the small-map one for a 3x3 window on a 7x7 map and a 7x7 one on
a 10x10 map (its rows of taps unrolled), the direct one (which skips taps over padding) for a 7x7
window on a 3x3 map."""

from __future__ import annotations

import numpy as np
import pytest

from tests.runtime_c import kernel_server as ks
from tests.runtime_c.test_mve_kernels_qemu import _bias, _quant

pytestmark = pytest.mark.board

BOARDS = ("mps2-an386", "mps2-an500")


def _pad(rng: np.random.Generator, size: int, k: int, s: int) -> tuple[int, int]:
    """(leading padding, output size): SAME, VALID or uneven."""
    r = rng.random()
    if r < 0.45:
        out = -(-size // s)
        return max((out - 1) * s + k - size, 0) // 2, out
    if r < 0.7:
        return 0, max((size - k) // s + 1, 0)
    lead = int(rng.integers(0, (k - 1) // 2 + 1))
    return lead, max((size + lead + int(rng.integers(0, k)) - k) // s + 1, 0)


def _call(rng: np.random.Generator, kh: int, kw: int) -> ks.Call | None:
    c = int(rng.choice([4, 8, 12, 16]))
    sh, sw = (int(v) for v in rng.choice([1, 1, 2, 3], 2))
    h = int(rng.integers(max(kh - 2, 1), 12))
    w = int(rng.integers(max(kw - 2, 1), 12))
    n = 2 if rng.random() < 0.15 else 1
    in_place = bool(rng.random() < 0.4)
    pt, oh = _pad(rng, h, kh, sh)
    pl, ow = _pad(rng, w, kw, sw)
    if oh < 1 or ow < 1 or ((oh - 1) * sh + kh) * ((ow - 1) * sw + kw) > 484 or \
            (in_place and oh * ow > h * w):
        return None
    x = rng.integers(-128, 128, (n, h, w, c), dtype=np.int8)
    wt = rng.integers(-127, 128, (1, kh, kw, c), dtype=np.int8)
    return ks.dwconv(x, wt, _bias(rng, c), _quant(rng, c, kh * kw), (sh, sw), (pt, pl), (oh, ow),
                     in_place=in_place)


def _calls(seed: int) -> list[ks.Call]:
    rng = np.random.default_rng(seed)
    kernels = [(3, 3), (5, 5), (3, 3), (5, 1), (10, 1), (7, 1), (5, 5), (7, 7), (3, 5), (1, 6)]
    calls: list[ks.Call] = []
    while len(calls) < 80:
        call = _call(rng, *kernels[len(calls) % len(kernels)])
        if call is not None:
            calls.append(call)
    return calls


# (K, stride, input size, padding, output size, instructions per MAC that the call stays under at
# -O2 on both boards, or None). Measured on the M7 before the strategy: 7.7-7.9, 5.0-5.1, 2.6
# (direct) and 3.0 (row engine); with it 4.5-4.7, 3.6-3.9 (too close to check), 2.6 and 2.1.
SPEED = ((3, 1, 7, 0, 5, 5.5), (5, 2, 5, 2, 3, None), (7, 1, 3, 3, 3, 2.7), (7, 1, 10, 3, 10, 2.5))


def _speed_calls() -> list[ks.Call]:
    """A MobileNet tail: 3x3 VALID on 7x7, 5x5 stride 2 on 5x5, 7x7 SAME on 3x3 and on 10x10; 32
    channels."""
    rng = np.random.default_rng(5)
    calls = []
    for k, s, h, pad, out, _ in SPEED:
        x = rng.integers(-128, 128, (1, h, h, 32), dtype=np.int8)
        wt = rng.integers(-127, 128, (1, k, k, 32), dtype=np.int8)
        q = ks.Quant(-3, 5, np.full(32, (1 << 30) + 12345, np.int32), np.full(32, -9, np.int32), (5, 127))
        calls.append(ks.dwconv(x, wt, rng.integers(-2000, 2000, 32).astype(np.int32), q, (s, s), (pad, pad),
                               (out, out)))
    return calls


@pytest.mark.parametrize("opt", ["-O2", "-O0"])
@pytest.mark.parametrize("board_name", BOARDS)
def test_dw_small_matches_ref_in_qemu(board_name: str, opt: str, tmp_path) -> None:  # noqa: ANN001
    fw = ks.build_on(board_name, tmp_path, opt=opt)
    calls = _calls(13)
    speed = _speed_calls()
    results = ks.check(fw, calls + speed)
    if opt == "-O2":
        for c, r, limit in zip(speed, results[len(calls):], (row[-1] for row in SPEED)):
            assert limit is None or r.instructions / c.macs < limit, (c.out_shape, r.instructions / c.macs)
