"""The packed and wide fully-connected kernels (en_fc_packed_s8, en_fc_wide_s8) are bit-exact with
en_fc_s8's reference.

en_fc_packed_s8 takes codegen's packed weights (rows in interleaved groups of 4, 2 and 1),
en_fc_wide_s8 the same layout widened to int16 with each chunk's inputs in the order 0, 2, 1, 3;
both take the input zero point folded into the bias at compile time. Both host builds (ref, and the arm
sources with the DSP intrinsics emulated) run each call and must give the bytes of the ref
en_fc_s8 on the plain weights and bias (which test_kernels_vs_tflm checks against TFLite
Micro). Shapes reach every path: input lengths not a multiple of 4 (padded chunk tails), output
counts leaving groups of 2 and 1, narrow 8-input layers, long 1024-input layers and longer
ones that the arm build expands in 1024-value slices, batches; quantisation covers extreme zero
points (-128, 127), per-tensor and per-channel, left shifts, multipliers of 0, biases near the
int32 accumulator bound (so the folded bias wraps and the SMMULR requantisation falls back to
the exact form) and narrow activation ranges.
"""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from edgenas.deploy import requant as rq
from edgenas.deploy.codegen import fold_fc_bias, pack_fc_weights

from . import rt

SHAPES = [  # (in_features, out_features)
    (1, 1), (3, 5), (7, 3), (8, 128), (8, 10), (13, 7), (16, 12), (64, 10), (65, 11),
    (127, 6), (128, 64), (256, 13), (1024, 10), (1023, 9), (1025, 3), (2500, 6),
]


def _quant(rng: np.random.Generator, cin: int, cout: int) -> tuple:
    per_channel = rng.random() < 0.5
    n = cout if per_channel else 1
    w_scales = rng.uniform(0.001, 0.05, n).astype(np.float32)
    x_s = float(rng.uniform(0.005, 0.1))
    y_s = x_s * float(w_scales.mean()) * np.sqrt(cin) * 73.0 * 73.0 * 6 / 255.0 * float(rng.uniform(0.3, 2.0))
    r = rng.random()
    if r < 0.15:  # real multiplier > 1: shift >= 0
        y_s = x_s * float(w_scales.min()) / float(rng.uniform(1.0, 8.0))
    mults, shifts = (np.array(v, np.int32) for v in rq.conv_quant(x_s, w_scales, float(np.float32(y_s))))
    if r > 0.85:  # any legal multiplier and shift
        mults = rng.integers(1 << 30, (1 << 31) - 1, n, dtype=np.int64).astype(np.int32)
        shifts = rng.integers(-31, 31, n).astype(np.int32)
        mults[rng.random(n) < 0.2] = 0
    zp = [-128, 127, int(rng.integers(-128, 128))]
    x_zp, y_zp = int(rng.choice(zp)), int(rng.choice(zp))
    act = (-128, 127)
    if rng.random() < 0.3:
        lo = int(rng.integers(-128, 100))
        act = (lo, int(rng.integers(lo, 128)))
    return x_zp, y_zp, mults, shifts, act


def _bias(rng: np.random.Generator, cout: int, cin: int) -> np.ndarray | None:
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.35:  # as large as the accumulator bound allows: |acc| < 2^31
        lim = 2**31 - 1 - 255 * 127 * cin
        return rng.integers(-lim, lim, cout).astype(np.int32)
    return rng.integers(-20000, 20000, cout).astype(np.int32)


def _call(seed: int, cin: int, cout: int, batches: int) -> None:
    rng = np.random.default_rng(seed)
    x_zp, y_zp, mults, shifts, act = _quant(rng, cin, cout)
    w = rng.integers(-127, 128, size=(cout, cin), dtype=np.int8)
    if rng.random() < 0.2:  # saturating weights: every product at its extreme
        w[:] = np.int8(127 if rng.random() < 0.5 else -127)
    x = rng.integers(-128, 128, size=(batches, cin), dtype=np.int8)
    bias = _bias(rng, cout, cin)
    _check_packed(x, w, bias, rt.make_requant(x_zp, y_zp, mults, shifts, act), (cin, cout))


def _check_packed(x, w, bias, q, label: tuple) -> None:  # noqa: ANN001 (arrays, requant)
    """en_fc_packed_s8 and en_fc_wide_s8 of every build variant equal the reference en_fc_s8."""
    rt.use("ref")
    want = rt.fc(x, w, bias, q)
    for variant in rt.VARIANTS:
        rt.use(variant)
        try:
            got = {"packed": rt.fc_packed(x, w, bias, q), "wide": rt.fc_packed(x, w, bias, q, wide=True)}
        finally:
            rt.use("ref")
        for layout, out in got.items():
            assert np.array_equal(out, want), (variant, layout, *label, np.flatnonzero(out != want)[:5])


@pytest.mark.parametrize(("cin", "cout"), SHAPES)
def test_fc_packed_matches_ref(cin: int, cout: int) -> None:
    for k in range(6):
        _call(1000 * cin + 10 * cout + k, cin, cout, batches=1 + (k == 5))


def test_fc_packed_random_shapes() -> None:
    rng = np.random.default_rng(19)
    for k in range(60):
        cin, cout = int(rng.integers(1, 300)), int(rng.integers(1, 40))
        _call(50_000 + k, cin, cout, batches=int(rng.choice([1, 1, 1, 3])))


def test_pack_layout() -> None:
    """Chunk k of row j of a group starting at row r0 lies at r0 * L4 + (k * g + j) * 4."""
    cout, cin = 7, 6  # groups 4, 2, 1; L4 = 8
    w = (np.arange(cout * cin).reshape(cout, cin) % 100).astype(np.int8)
    p = pack_fc_weights(w)
    assert p.size == cout * 8
    assert list(p[:4]) == list(w[0, :4]) and list(p[4:8]) == list(w[1, :4])
    assert list(p[16:18]) == list(w[0, 4:6]) and list(p[18:20]) == [0, 0]
    assert list(p[32:36]) == list(w[4, :4]) and list(p[36:40]) == list(w[5, :4])
    assert list(p[48:52]) == list(w[6, :4]) and list(p[52:56]) == [w[6, 4], w[6, 5], 0, 0]


def test_wide_layout() -> None:
    """The wide layout is the packed one in int16 with chunk lanes 0, 2, 1, 3."""
    from edgenas.deploy.codegen import pack_fc_wide

    cout, cin = 7, 6
    w = (np.arange(cout * cin).reshape(cout, cin) % 100).astype(np.int8)
    p = pack_fc_wide(w)
    assert p.dtype == np.int16 and p.size == cout * 8
    assert list(p[:4]) == [w[0, 0], w[0, 2], w[0, 1], w[0, 3]]
    assert list(p[16:20]) == [w[0, 4], 0, w[0, 5], 0]
    assert list(p[52:56]) == [w[6, 4], 0, w[6, 5], 0]


def test_fold_bias_wraps() -> None:
    w = np.full((2, 3), 127, np.int8)
    b = np.array([2**31 - 1, -(2**31)], np.int32)
    f = fold_fc_bias(w, b, -128)  # + 128 * 381 each: the first wraps
    assert f.dtype == np.int32
    assert int(f[0]) == (2**31 - 1 + 128 * 381) - 2**32 and int(f[1]) == -(2**31) + 128 * 381
    assert fold_fc_bias(w, None, 0) is None


@pytest.mark.parametrize("variant", rt.VARIANTS)
def test_fc_packed_rejects_missing_bias_with_zero_point(variant: str) -> None:
    rt.use(variant)
    try:
        m, s = np.array([1 << 30], np.int32), np.array([-1], np.int32)
        q = rt.make_requant(5, 0, m, s, (-128, 127))
        x, w = np.zeros((1, 4), np.int8), np.zeros(8, np.int8)  # 8 bytes: 4 wide weights
        out = np.full(1, 7, np.int8)
        for fn in (rt.lib().en_fc_packed_s8, rt.lib().en_fc_wide_s8):
            q.input_zp = 5
            st = fn(C.byref(q), 1, 4, rt._i8(x), 1, rt._i8(w), None, rt._i8(out))
            assert st == -1 and out[0] == 7
            q.input_zp = 0
            assert fn(C.byref(q), 1, 4, rt._i8(x), 1, rt._i8(w), None, rt._i8(out)) == 0
            out[0] = 7
    finally:
        rt.use("ref")


# The arm build's fast requantisation (per-tensor, -22 <= shift <= -1: QADD, SMMLAR with the
# zero point and the final rounding folded in) and the exact form it falls back to: shifts on
# both sides of that range, multipliers 0 and 2^31 - 1, extreme zero points and activation
# ranges, and accumulators placed exactly at the fast form's limit (|acc| = 2^30 needs the
# doubling to saturate for +2^30 only) and at the int32 edges, per output, so one run of groups
# stops and resumes. Input lengths give every chunk count modulo 4 (the four-row loop's entry)
# and every expansion tail modulo 16; output counts leave groups of 2 and 1.
FAST_EDGE_SHAPES = [(4, 4), (8, 10), (12, 12), (16, 8), (20, 7), (60, 12), (64, 10), (68, 5),
                    (72, 12), (76, 9), (17, 6), (33, 11), (49, 16), (100, 13)]
ACC_TARGETS = [2**30, 2**30 - 1, 2**30 + 1, -(2**30), -(2**30) - 1, -(2**30) + 1, 2**31 - 1,
               -(2**31), 0, -1, 1]
# (shift, mult), one per case index: the fast range's ends and beyond it, and small multipliers
# (legal, if not what a converter emits), with which an accumulator past the fast form's range
# still gives an unsaturated output, so a missed fallback shows
FAST_EDGE_QUANTS = [(-7, 1000), (-21, 1 << 20), (-1, 2**31 - 1), (-22, 1 << 30), (-13, 1 << 17),
                    (-2, 1), (-23, 1 << 30), (0, 1 << 30), (1, 1 << 30), (-31, 2**31 - 1), (-7, 0),
                    (-9, 1 << 12)]


def fast_edge_case(seed: int, cin: int, cout: int) -> tuple:
    """(x, w, bias, x_zp, y_zp, mults, shifts, act) of one per-tensor layer at the edges above:
    quantisation FAST_EDGE_QUANTS[seed % 12], batch 0's accumulators at ACC_TARGETS in turn."""
    rng = np.random.default_rng(seed)
    batches = 1 + seed % 2
    x_zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    y_zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    shift, mult = FAST_EDGE_QUANTS[seed % len(FAST_EDGE_QUANTS)]
    act = [(-128, 127), (y_zp, 127), (-100, 50), (3, 3)][int(rng.integers(4))]
    act = (min(act), max(act))
    w = rng.integers(-128, 128, size=(cout, cin), dtype=np.int8)
    x = rng.integers(-128, 128, size=(batches, cin), dtype=np.int8)
    # acc[b, o] = bias[o] + sum_i w[o, i] * (x[b, i] - x_zp): place batch 0's at a target
    dot = (x.astype(np.int64) - x_zp) @ w.astype(np.int64).T
    bias = np.zeros(cout, np.int64)
    for o in range(cout):
        t = ACC_TARGETS[(o + seed) % len(ACC_TARGETS)] if o % 4 != 3 else int(rng.integers(-5000, 5000))
        b = t - int(dot[0, o])
        # the bias and every batch's sum must stay in int32; else batch 0's sum is 0
        ok = all(-(2**31) <= v < 2**31 for v in (b, *(b + dot[:, o])))
        bias[o] = b if ok else -int(dot[0, o])
    return x, w, bias.astype(np.int32), x_zp, y_zp, np.array([mult], np.int32), np.array([shift], np.int32), act


@pytest.mark.parametrize(("cin", "cout"), FAST_EDGE_SHAPES)
def test_fc_packed_fast_requant_edges(cin: int, cout: int) -> None:
    for k in range(len(FAST_EDGE_QUANTS)):
        x, w, bias, x_zp, y_zp, mults, shifts, act = fast_edge_case(100 * cin + cout + 13 * k, cin, cout)
        _check_packed(x, w, bias, rt.make_requant(x_zp, y_zp, mults, shifts, act), (cin, cout, k))
