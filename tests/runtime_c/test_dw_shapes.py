"""The arm depthwise kernels (arm/dwconv2d_s8.c, arm/dwconv2d_kx1_s8.c, arm/dwconv2d_kx1_long_s8.c) are bit-exact with the reference on every shape.

The arm build picks a strategy per call (the row engine in channel groups of 4/2/1, transposed
for Kx1 kernels, in tiles for rows too wide for its stack ring, chunked requantisation for long
rows; the plane and pixel-major fallbacks for dilation), so random shapes are drawn to reach
each: square, Kx1, 1xK and rectangular kernels, strides 1-3 per axis, SAME and VALID padding,
1-33 channels (tails of 1, 2 and 3), 1-D series, rows over 64 outputs and over the ring's width,
batches of 2, in place and not, all three activations with random zero points, and biases and
scales that force the exact fallbacks of the SMMULR requantisation (huge biases, shift >= 0).

Both host builds run the same call; ref is the oracle (test_kernels_vs_tflm checks ref against
TFLite Micro), and a smaller set below is checked against TFLite Micro directly.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy.codegen import depthwise_entry
from edgenas.deploy import requant as rq

from . import rt
from .single_op import conv_graph, run_tflm, same_pad, valid_out

ACTS = ("none", "relu", "relu6")


def _case(rng: np.random.Generator, kind: str) -> dict:
    """A random depthwise call of the given family."""
    n = 1 if rng.random() < 0.85 else 2
    c = int(rng.choice([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 24, 33]))
    if kind == "square":
        kh = kw = int(rng.integers(1, 9))
        h, w = (int(v) for v in rng.integers(1, 20, 2))
    elif kind == "kx1":
        kh, kw = int(rng.choice([2, 3, 5, 7, 10, 15, 16, 31, 64])), 1
        h, w = int(rng.integers(1, 120)), int(rng.choice([1, 1, 2, 5, 10]))
    elif kind == "kx1_band":  # en_dwconv2d_kx1_s8: columns of many rows, bands, in place carries
        kh, kw = int(rng.choice([2, 3, 3, 3, 4, 5, 10])), 1
        h, w = int(rng.integers(1, 90)), int(rng.choice([1, 1, 3, 16, 33, 64]))
        c = int(rng.choice([4, 5, 8, 12, 16, 17, 19, 24]))
    elif kind == "1xk":
        kh, kw = 1, int(rng.choice([2, 3, 5, 9, 10, 15, 33]))
        h, w = int(rng.choice([1, 1, 3])), int(rng.integers(1, 150))
    elif kind == "rect":
        kh, kw = (int(v) for v in rng.integers(1, 8, 2))
        h, w = (int(v) for v in rng.integers(1, 24, 2))
    elif kind == "strided":  # the direct strategy: >= 16 taps, strides >= 2 on both axes
        kh, kw = (int(v) for v in rng.choice([4, 5, 7, 8], 2))
        h, w = int(rng.integers(1, 40)), int(rng.choice([int(rng.integers(1, 40)), int(rng.integers(130, 200))]))
    elif kind == "dw3x3":  # en_dwconv2d_3x3_s8: 3x3 at stride 1x1 / 2x2, C % 4 == 0, 8 <= W <= 128
        kh = kw = 3
        h, w = int(rng.integers(1, 30)), int(rng.choice([8, 9, int(rng.integers(8, 40)), int(rng.integers(100, 129))]))
        if rng.random() < 0.4:  # narrower rows with 8 to 128 long columns: the transposed view
            h, w = int(rng.choice([8, 9, int(rng.integers(8, 40)), int(rng.integers(100, 129))])), int(rng.integers(1, 8))
        c = int(rng.choice([4, 8, 12, 16, 20, 32]))
    elif kind == "wide":  # rows past the 64-output band, and past the ring: tiles
        kh = kw = int(rng.choice([1, 3, 5, 7]))
        h, w = int(rng.integers(1, 8)), int(rng.integers(60, 300))
    else:
        raise AssertionError(kind)
    sh, sw = (int(v) for v in rng.choice([1, 1, 2, 2, 3], 2))
    dh, dw = (1, 1) if rng.random() < 0.9 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    if kind == "strided":
        sh, sw = (int(v) for v in rng.choice([2, 2, 3], 2))
        dh, dw = 1, 1
    if kind == "dw3x3":
        sh = sw = int(rng.choice([1, 2]))
        dh, dw = 1, 1
    if kind == "kx1_band":
        sh, sw = int(rng.choice([1, 1, 2, 2, 3])), int(rng.choice([1, 1, 1, 2]))
        dh, dw = 1, 1
    padding = str(rng.choice(["same", "valid"]))
    if padding == "valid" and ((kh - 1) * dh + 1 > h or (kw - 1) * dw + 1 > w):
        padding = "same"
    if padding == "same":
        (oh, pt), (ow, pl) = same_pad(h, kh, sh, dh), same_pad(w, kw, sw, dw)
    else:
        oh, pt, ow, pl = valid_out(h, kh, sh, dh), 0, valid_out(w, kw, sw, dw), 0
    x_zp, y_zp = (int(v) for v in rng.integers(-128, 128, 2))
    if rng.random() < 0.2:  # extreme zero points
        x_zp, y_zp = (int(v) for v in rng.choice([-128, 127], 2))
    x_s = float(rng.uniform(0.005, 0.1))
    w_scales = rng.uniform(0.001, 0.05, c).astype(np.float32)
    bias = rng.integers(-5000, 5000, c).astype(np.int32)
    spread = x_s * float(w_scales.mean()) * np.sqrt(kh * kw) * 73.0 * 73.0
    y_s = max(6 * spread / 255.0 * float(rng.uniform(0.4, 1.6)), 1e-6)
    r = rng.random()
    if r < 0.08:  # |bias| beyond the SMMULR bound: en_requant_fast
        bias = rng.integers(-(2**30), 2**30, c).astype(np.int32)
    elif r < 0.16:  # real multiplier > 1: shift >= 0
        y_s = x_s * float(w_scales.min()) / float(rng.uniform(1.0, 8.0))
    weights = rng.integers(-127, 128, (1, kh, kw, c), dtype=np.int8)
    if r >= 0.16 and r < 0.26:  # some channels with multipliers in [0.5, 1): shift 0 beside < 0
        big = rng.random(c) < 0.4
        w_scales[big] = (y_s * rng.uniform(0.55, 0.95, int(big.sum())) / x_s).astype(np.float32)
        weights[..., big] = rng.integers(-1, 2, (1, kh, kw, int(big.sum())), dtype=np.int8)
        bias[big] = rng.integers(-60, 60, int(big.sum()))
    return dict(
        x=rng.integers(-128, 128, (n, h, w, c), dtype=np.int8),
        w=weights,
        w_scales=w_scales, bias=bias, x_q=(x_s, x_zp), y_q=(float(np.float32(y_s)), y_zp),
        act=str(rng.choice(ACTS)), stride=(sh, sw), dilation=(dh, dw), padding=padding,
        pad=(pt, pl), out_hw=(oh, ow), in_place=bool(rng.random() < 0.5),
    )


def _run(c: dict) -> np.ndarray:
    mults, shifts = rq.conv_quant(c["x_q"][0], c["w_scales"], c["y_q"][0])
    m, s = np.array(mults, np.int32), np.array(shifts, np.int32)
    q = rt.Requant(c["x_q"][1], c["y_q"][1], rt._i32(m), rt._i32(s), 1,
                   *rq.activation_range(c["act"], *c["y_q"]))
    return rt.dwconv2d(c["x"], c["w"], c["bias"], q, c["stride"], c["pad"], c["out_hw"],
                       in_place=c["in_place"], dilation=c["dilation"])


def _describe(c: dict) -> str:
    return (f"in {c['x'].shape} k {c['w'].shape[1:3]} stride {c['stride']} dil {c['dilation']} "
            f"{c['padding']} pad {c['pad']} out {c['out_hw']} act {c['act']} "
            f"in_place {c['in_place']}")


KINDS = ["square", "kx1", "1xk", "rect", "wide", "strided", "kx1_band", "dw3x3"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("block", range(4))
@pytest.mark.slow
def test_arm_dwconv_matches_ref_on_random_shapes(kind: str, block: int) -> None:
    rng = np.random.default_rng([block, KINDS.index(kind)])
    entries = []
    for _ in range(25):
        c = _case(rng, kind)
        n, _, _, ch = c["x"].shape
        entries.append(depthwise_entry(c["w"].shape[1:3], c["stride"], c["dilation"], c["x"].shape,
                                       (n, *c["out_hw"], ch), c["in_place"]))
        rt.use("ref")
        want = _run(c)
        rt.use("armemu")
        try:
            got = _run(c)
        finally:
            rt.use("ref")
        diff = np.flatnonzero(got != want)
        assert diff.size == 0, f"{_describe(c)}: {diff.size} values differ, first at {diff[0]}"
    if kind == "dw3x3":  # the shapes reach the entry point they are drawn for
        assert entries.count("en_dwconv2d_3x3_s8") >= 15


@pytest.mark.parametrize("seed", range(15))
def test_arm_dwconv_matches_tflm(seed: int) -> None:
    """A few of the same shapes straight against TFLite Micro, the semantics the firmware owes."""
    rng = np.random.default_rng(9000 + seed)
    c = _case(rng, ["square", "kx1", "1xk", "rect", "strided", "dw3x3"][seed % 6])
    c["dilation"] = (1, 1)
    if c["padding"] == "same":
        (oh, pt), (ow, pl) = (same_pad(c["x"].shape[i + 1], c["w"].shape[i + 1], c["stride"][i], 1) for i in (0, 1))
    else:
        oh, ow = (valid_out(c["x"].shape[i + 1], c["w"].shape[i + 1], c["stride"][i], 1) for i in (0, 1))
        pt = pl = 0
    c.update(pad=(pt, pl), out_hw=(oh, ow))
    attrs = dict(stride_h=c["stride"][0], stride_w=c["stride"][1], dilation_h=1, dilation_w=1,
                 padding=c["padding"], activation=c["act"])
    x = c["x"][:1]
    c["x"] = np.ascontiguousarray(x)
    ch = x.shape[3]
    ref = run_tflm(conv_graph(c["x_q"], c["w"], c["w_scales"], c["bias"], c["y_q"], x.shape,
                              (1, oh, ow, ch), attrs, True), [x])
    rt.use("armemu")
    try:
        got = _run(c)
    finally:
        rt.use("ref")
    assert np.array_equal(got, ref.reshape(got.shape)), _describe(c)


@pytest.mark.parametrize("seed", range(6))
def test_arm_dw3x3_any_activation_range(seed: int) -> None:
    """en_dwconv2d_3x3_s8's requantisation forms (its ReLU loop, which needs act_min >=
    output_zp, and the exact per-output fallback for other ranges) on arbitrary clamp ranges,
    not only the ones TFLite's activations produce."""
    rng = np.random.default_rng(7000 + seed)
    for _ in range(10):
        c = _case(rng, "dw3x3")
        mults, shifts = rq.conv_quant(c["x_q"][0], c["w_scales"], c["y_q"][0])
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2))
        if rng.random() < 0.3:
            lo, hi = c["y_q"][1], 127  # exactly ReLU's range
        m, s = np.array(mults, np.int32), np.array(shifts, np.int32)  # kept alive: q points at them
        q = rt.Requant(c["x_q"][1], c["y_q"][1], rt._i32(m), rt._i32(s), 1, lo, hi)
        out = []
        for variant in ("ref", "armemu"):
            rt.use(variant)
            try:
                out.append(rt.dwconv2d(c["x"], c["w"], c["bias"], q, c["stride"], c["pad"], c["out_hw"],
                                       in_place=c["in_place"]))
            finally:
                rt.use("ref")
        diff = np.flatnonzero(out[0] != out[1])
        assert diff.size == 0, f"{_describe(c)} act [{lo}, {hi}]: {diff.size} values differ"


@pytest.mark.parametrize("variant", ["ref", "armemu"])
@pytest.mark.parametrize("shape, kernel, stride, out_hw, in_place", [
    ((1, 5, 5, 8), (3, 3), (1, 1), (5, 5), False),      # rows and columns both shorter than 8
    ((1, 16, 16, 6), (3, 3), (1, 1), (16, 16), False),   # channels not a multiple of 4
    ((1, 16, 16, 8), (5, 5), (1, 1), (16, 16), False),   # not 3x3
    ((1, 25, 5, 8), (3, 3), (1, 1), (23, 3), True),      # transposed in place, output smaller
])
def test_dw3x3_entry_refuses_calls_outside_its_plan(variant: str, shape, kernel, stride, out_hw, in_place) -> None:
    """Every build answers the same calls (internal/dw3x3_plan.h): the compiler never sends
    others, and none falls back to the general engine, which would then be linked."""
    c = shape[3]
    q = rt.make_requant(0, 0, np.full(c, 1 << 30, np.int32), np.full(c, -8, np.int32), (-128, 127))
    x = np.zeros(shape, np.int8)
    w = np.ones((1, *kernel, c), np.int8)
    pad = (0, 0) if out_hw[0] < shape[1] else ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
    rt.use(variant)
    try:
        with pytest.raises(RuntimeError, match="en_dwconv2d_3x3_s8 returned -1"):
            rt.dwconv2d(x, w, None, q, stride, pad, out_hw, in_place=in_place, entry="en_dwconv2d_3x3_s8")
        if in_place:  # out of place, the transposed view takes it
            rt.dwconv2d(x, w, None, q, stride, pad, out_hw, entry="en_dwconv2d_3x3_s8")
    finally:
        rt.use("ref")
