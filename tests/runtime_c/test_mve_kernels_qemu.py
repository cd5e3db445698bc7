"""The Helium (MVE) kernels (runtime_c/src/mve) are bit-exact with the host reference build.

A kernel-server firmware (kernel_server/) is built once for mps3-an547 (Cortex-M55 with MVE, so
the build picks src/mve/ over src/arm/ and src/ref/) and runs batches of random calls in QEMU;
every call's bytes must equal the same call on the host ref build (tests/runtime_c/rt.py), which
test_kernels_vs_tflm checks against TFLite Micro. Shapes are drawn to reach every path and
tail: odd and tiny channel counts, lengths that are not multiples of 16, strides, dilation,
SAME/VALID padding, batches, in place and not; quantisation covers per-tensor and per-channel,
extreme zero points (-128, 127), left shifts, multipliers of 0, huge biases and narrow
activation ranges, so the vector requantisation meets its rounding and saturation edges.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable

import numpy as np
import pytest

from edgenas.deploy import requant as rq

from . import kernel_server as ks
from . import rt

pytestmark = [
    pytest.mark.board,
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                       reason="needs arm-none-eabi-gcc and qemu-system-arm"),
]

BOARD = "mps3-an547"


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # noqa: ANN201 (Firmware)
    from edgenas.boards import BoardRegistry

    board = BoardRegistry(entry_points=False, user_dir=None).get(BOARD)
    assert board.mve
    return ks.build(board, tmp_path_factory.mktemp("mve-server"))


def _zp(rng: np.random.Generator) -> int:
    r = rng.random()
    return -128 if r < 0.15 else 127 if r < 0.3 else int(rng.integers(-128, 128))


def _quant(rng: np.random.Generator, channels: int, taps: int) -> ks.Quant:
    """Random requantisation: mostly the scales of real layers, plus every edge the kernels'
    fast paths must keep exact (per-tensor, left shifts, mult 0, extreme shifts)."""
    per_channel = rng.random() < 0.7
    n = channels if per_channel else 1
    w_scales = rng.uniform(0.001, 0.05, n).astype(np.float32)
    x_s = float(rng.uniform(0.005, 0.1))
    y_s = max(x_s * float(w_scales.mean()) * np.sqrt(taps) * 73.0 * 73.0 * 6 / 255.0 * float(rng.uniform(0.3, 2.0)), 1e-6)
    r = rng.random()
    if r < 0.1:  # real multiplier > 1: shift >= 0
        y_s = x_s * float(w_scales.min()) / float(rng.uniform(1.0, 8.0))
    mults, shifts = (np.array(v, np.int32) for v in rq.conv_quant(x_s, w_scales, float(np.float32(y_s))))
    if r > 0.9:  # raw extremes: any legal multiplier and shift
        mults = rng.integers(1 << 30, (1 << 31) - 1, n, dtype=np.int64).astype(np.int32)
        shifts = rng.integers(-31, 31, n).astype(np.int32)
        mults[rng.random(n) < 0.2] = 0
    y_zp = _zp(rng)
    act = (-128, 127)
    if rng.random() < 0.3:
        lo = int(rng.integers(-128, 100))
        act = (lo, int(rng.integers(lo, 128)))
    return ks.Quant(_zp(rng), y_zp, mults, shifts, act)


def _bias(rng: np.random.Generator, channels: int) -> np.ndarray | None:
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.25:
        return rng.integers(-(2**29), 2**29, channels).astype(np.int32)
    return rng.integers(-20000, 20000, channels).astype(np.int32)


def test_server_links_the_mve_kernels(server) -> None:  # noqa: ANN001
    names = {p.parent.name + "/" + p.name for p in server.sources}
    assert "mve/fc_s8.c" in names and "arm/fc_s8.c" not in names and "ref/fc_s8.c" not in names


def test_fc_matches_ref(server) -> None:  # noqa: ANN001
    rng = np.random.default_rng(190)
    calls = []
    for i in range(40):
        batches = 1 if i % 4 else int(rng.integers(2, 4))
        cin = int(rng.choice([1, 3, 8, 15, 16, 17, 31, 33, 64, 100, int(rng.integers(1, 300))]))
        cout = int(rng.choice([1, 2, 3, 4, 5, 7, 10, 12, 33, int(rng.integers(1, 64))]))
        x = rng.integers(-128, 128, (batches, cin), dtype=np.int8)
        w = rng.integers(-127, 128, (cout, cin), dtype=np.int8)
        calls.append(ks.fc(x, w, _bias(rng, cout), _quant(rng, cout, cin)))
    ks.check(server, calls)


def test_fc_packed_matches_ref(server) -> None:  # noqa: ANN001
    """en_fc_packed_s8 (VLD4/VLD2 groups, gathered chunk tails, folded bias) against the ref
    en_fc_s8 on the plain weights and bias."""
    rng = np.random.default_rng(191)
    calls = []
    for i in range(40):
        batches = 1 if i % 4 else int(rng.integers(2, 4))
        cin = int(rng.choice([1, 3, 4, 8, 15, 16, 17, 31, 33, 64, 100, int(rng.integers(1, 300))]))
        cout = int(rng.choice([1, 2, 3, 4, 5, 6, 7, 10, 12, 33, int(rng.integers(1, 64))]))
        x = rng.integers(-128, 128, (batches, cin), dtype=np.int8)
        w = rng.integers(-127, 128, (cout, cin), dtype=np.int8)
        calls.append(ks.fc_packed(x, w, _bias(rng, cout), _quant(rng, cout, cin)))
    ks.check(server, calls)


def test_fc_wide_matches_ref(server) -> None:  # noqa: ANN001
    """en_fc_wide_s8 (per-row gathers of int16 weights and of the inputs in lane order 0, 2, 1,
    3, predicated tails of 1-7 inputs) against the ref en_fc_s8 on the plain weights and bias."""
    rng = np.random.default_rng(193)
    calls = []
    for i in range(40):
        batches = 1 if i % 4 else int(rng.integers(2, 4))
        cin = int(rng.choice([1, 3, 4, 5, 8, 9, 12, 15, 16, 17, 31, 64, 100, int(rng.integers(1, 200))]))
        cout = int(rng.choice([1, 2, 3, 4, 5, 6, 7, 10, 12, int(rng.integers(1, 20))]))
        x = rng.integers(-128, 128, (batches, cin), dtype=np.int8)
        w = rng.integers(-128, 128, (cout, cin), dtype=np.int8)
        calls.append(ks.fc_packed(x, w, _bias(rng, cout), _quant(rng, cout, cin), wide=True))
    ks.check(server, calls)


def _same_or_valid(rng: np.random.Generator, size: int, k: int, stride: int, dil: int, padding: str) -> tuple[int, int]:
    """(output size, pad before) of one axis."""
    eff = (k - 1) * dil + 1
    if padding == "valid" and eff <= size:
        return (size - eff) // stride + 1, 0
    out = (size + stride - 1) // stride
    return out, max((out - 1) * stride + eff - size, 0) // 2


def _conv_geometry(rng: np.random.Generator, max_bytes: int = 5000) -> dict:
    """A random conv shape: square and rectangular kernels, 1x1 pointwise, strides 1-3,
    dilation, SAME/VALID, odd and tiny channel counts, batches, within the server's blob."""
    while True:
        kind = rng.random()
        if kind < 0.3:  # pointwise: the direct-row path
            kh = kw = 1
            stride, dil, padding = (1, 1), (1, 1), "valid"
        else:
            kh, kw = (int(v) for v in rng.choice([1, 2, 3, 3, 3, 5], 2))
            stride = tuple(int(v) for v in rng.choice([1, 1, 2, 3], 2))
            dil = (1, 1) if rng.random() < 0.85 else tuple(int(v) for v in rng.integers(1, 3, 2))
            padding = str(rng.choice(["same", "valid"]))
        n = 1 if rng.random() < 0.85 else 2
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        cin = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 12, 15, 16, 17, 24, 31, 33, 64]))
        cout = int(rng.choice([1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 31, 33, 40]))
        oh, pt = _same_or_valid(rng, h, kh, stride[0], dil[0], padding)
        ow, pl = _same_or_valid(rng, w, kw, stride[1], dil[1], padding)
        size = n * h * w * cin + cout * (kh * kw * cin + 16) + 2 * n * oh * ow * cout
        if size <= max_bytes:
            return dict(x=rng.integers(-128, 128, (n, h, w, cin), dtype=np.int8),
                        w=rng.integers(-127, 128, (cout, kh, kw, cin), dtype=np.int8),
                        stride=stride, dil=dil, pad=(pt, pl), out_hw=(oh, ow))


def _add_quant(rng: np.random.Generator, conv_zp: int) -> rq.AddQuant:
    s1, s2, so = (float(np.float32(v)) for v in rng.uniform(0.01, 0.2, 3))
    act = str(rng.choice(["none", "relu", "relu6"]))
    return rq.add_quant((s1, conv_zp), (s2, _zp(rng)), (so, _zp(rng)), act)


def conv_calls(rng: np.random.Generator, n: int, *, packed: bool = True) -> list[ks.Call]:
    """``n`` random conv calls (odd geometries, dilations, paddings; every requantisation edge)."""
    calls = []
    for _ in range(n):
        g = _conv_geometry(rng)
        cout, taps = g["w"].shape[0], int(np.prod(g["w"].shape[1:]))
        calls.append(ks.conv(g["x"], g["w"], _bias(rng, cout), _quant(rng, cout, taps), g["stride"],
                             g["pad"], g["out_hw"], g["dil"], packed=packed))
    return calls


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "plain"])
def test_conv_matches_ref(server, packed: bool) -> None:  # noqa: ANN001
    ks.check(server, conv_calls(np.random.default_rng(191 + packed), 36, packed=packed))


def test_conv_long_windows_match_ref(server) -> None:  # noqa: ANN001
    """Windows past the column buffer (KH * KW * C_in > 576) take the one-pixel direct path."""
    rng = np.random.default_rng(193)
    calls = []
    for kh, kw, cin, stride, dil in [(3, 3, 72, (1, 1), (1, 1)), (3, 3, 65, (2, 1), (1, 1)),
                                     (2, 3, 100, (1, 1), (2, 1)), (1, 1, 700, (2, 2), (1, 1)),
                                     (5, 1, 120, (1, 1), (1, 1))]:
        h, w = 4, 3
        cout = int(rng.integers(1, 6))
        oh, pt = _same_or_valid(rng, h, kh, stride[0], dil[0], "same")
        ow, pl = _same_or_valid(rng, w, kw, stride[1], dil[1], "same")
        x = rng.integers(-128, 128, (1, h, w, cin), dtype=np.int8)
        wt = rng.integers(-127, 128, (cout, kh, kw, cin), dtype=np.int8)
        calls.append(ks.conv(x, wt, _bias(rng, cout), _quant(rng, cout, kh * kw * cin), stride, (pt, pl),
                             (oh, ow), dil))
    ks.check(server, calls)


def test_pointwise_in_place_matches_ref(server) -> None:  # noqa: ANN001
    rng = np.random.default_rng(194)
    calls = []
    for _ in range(24):
        cin = int(rng.choice([1, 3, 8, 16, 17, 33, 64, 96, int(rng.integers(1, 200))]))
        cout = int(rng.integers(1, cin + 1))
        n, h, w = 1 if rng.random() < 0.8 else 2, int(rng.integers(1, 6)), int(rng.integers(1, 7))
        if n * h * w * cin + cout * (cin + 16) > 6000:
            h, w = 1, int(rng.integers(1, 5))
        x = rng.integers(-128, 128, (n, h, w, cin), dtype=np.int8)
        wt = rng.integers(-127, 128, (cout, 1, 1, cin), dtype=np.int8)
        calls.append(ks.conv_in_place(x, wt, _bias(rng, cout), _quant(rng, cout, cin)))
    ks.check(server, calls)


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "plain"])
def test_conv_add_matches_ref(server, packed: bool) -> None:  # noqa: ANN001
    ks.check(server, conv_add_calls(np.random.default_rng(195 + packed), 4000, packed=packed))


def conv_add_calls(rng: np.random.Generator, max_taps: int, *, packed: bool = True,
                   lut: Callable[[int], bool] = lambda i: True) -> list[ks.Call]:
    """24 random conv + fused ADD calls (odd geometries, in place every other one); call i passes
    the ADD's table when ``lut(i)``."""
    calls = []
    for i in range(24):
        g = _conv_geometry(rng, max_taps)
        cout, taps = g["w"].shape[0], int(np.prod(g["w"].shape[1:]))
        q = _quant(rng, cout, taps)
        skip = rng.integers(-128, 128, (g["x"].shape[0], *g["out_hw"], cout), dtype=np.int8)
        calls.append(ks.conv_add(g["x"], g["w"], _bias(rng, cout), q, _add_quant(rng, q.output_zp), skip,
                                 in_place=bool(i % 2), stride=g["stride"], pad=g["pad"], dilation=g["dil"],
                                 packed=packed, lut=lut(i)))
    return calls


def _dw_case(rng: np.random.Generator, kind: str, max_bytes: int = 5000) -> dict:
    """A random depthwise call of one family (square, Kx1, 1xK, rectangular, wide rows, dilated,
    narrow rows with longer columns)."""
    while True:
        c = int(rng.choice([1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 24, 31, 33, 64]))
        n = 1 if rng.random() < 0.85 else 2
        dil = (1, 1)
        if kind == "square":
            kh = kw = int(rng.integers(1, 8))
            h, w = (int(v) for v in rng.integers(1, 14, 2))
        elif kind == "kx1":
            kh, kw = int(rng.choice([2, 3, 5, 7, 10, 15, 31])), 1
            h, w = int(rng.integers(1, 60)), int(rng.choice([1, 1, 2, 5]))
        elif kind == "1xk":
            kh, kw = 1, int(rng.choice([2, 3, 5, 9, 10, 15]))
            h, w = int(rng.choice([1, 1, 3])), int(rng.integers(1, 90))
        elif kind == "rect":
            kh, kw = (int(v) for v in rng.integers(1, 7, 2))
            h, w = (int(v) for v in rng.integers(1, 16, 2))
        elif kind == "narrow":  # rows under 8 pixels, longer columns: the transposed view
            kh, kw = (int(v) for v in rng.choice([1, 2, 3, 5], 2))
            h, w = int(rng.integers(8, 40)), int(rng.integers(1, 8))
        elif kind == "wide":  # rows too wide for a 16-channel ring: smaller groups, or the fallback
            kh = kw = int(rng.choice([3, 5, 7]))
            h, w = int(rng.integers(1, 5)), int(rng.integers(60, 200))
            c = int(rng.choice([1, 3, 4, 5, 8]))
        else:  # dilated
            kh, kw = (int(v) for v in rng.integers(1, 5, 2))
            h, w = (int(v) for v in rng.integers(1, 14, 2))
            dil = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        stride = tuple(int(v) for v in rng.choice([1, 1, 2, 2, 3], 2))
        padding = str(rng.choice(["same", "valid"]))
        oh, pt = _same_or_valid(rng, h, kh, stride[0], dil[0], padding)
        ow, pl = _same_or_valid(rng, w, kw, stride[1], dil[1], padding)
        in_place = bool(rng.random() < 0.5)
        size = n * h * w * c * 2 + kh * kw * c + 4 * c + n * oh * ow * c
        if size <= max_bytes:
            return dict(x=rng.integers(-128, 128, (n, h, w, c), dtype=np.int8),
                        w=rng.integers(-127, 128, (1, kh, kw, c), dtype=np.int8),
                        stride=stride, dil=dil, pad=(pt, pl), out_hw=(oh, ow), in_place=in_place)


DW_KINDS = ["square", "kx1", "1xk", "rect", "wide", "dilated", "narrow"]


@pytest.mark.parametrize("kind", DW_KINDS)
def test_dwconv_matches_ref(server, kind: str) -> None:  # noqa: ANN001
    rng = np.random.default_rng([196, DW_KINDS.index(kind)])
    calls = []
    for _ in range(20):
        g = _dw_case(rng, kind)
        c, taps = g["x"].shape[3], g["w"].shape[1] * g["w"].shape[2]
        calls.append(ks.dwconv(g["x"], g["w"], _bias(rng, c), _quant(rng, c, taps), g["stride"], g["pad"],
                               g["out_hw"], in_place=g["in_place"], dilation=g["dil"]))
    ks.check(server, calls)


def test_avgpool_matches_ref(server) -> None:  # noqa: ANN001
    """Windows clipped by padding (count < KH * KW), global pools, odd channel counts."""
    rng = np.random.default_rng(197)
    calls = []
    for i in range(30):
        c = int(rng.choice([1, 3, 8, 15, 16, 17, 33, 64]))
        h, w = (int(v) for v in rng.integers(1, 12, 2))
        if i % 5 == 0:  # global average pool
            fh, fw, stride, padding = h, w, (1, 1), "valid"
        else:
            fh, fw = (int(v) for v in rng.integers(1, 5, 2))
            stride = tuple(int(v) for v in rng.integers(1, 3, 2))
            padding = str(rng.choice(["same", "valid"]))
        oh, pt = _same_or_valid(rng, h, fh, stride[0], 1, padding)
        ow, pl = _same_or_valid(rng, w, fw, stride[1], 1, padding)
        lo = int(rng.integers(-128, 0)) if rng.random() < 0.3 else -128
        act = (lo, int(rng.integers(lo, 128)) if rng.random() < 0.3 else 127)
        x = rng.integers(-128, 128, (1, h, w, c), dtype=np.int8)
        calls.append(ks.avgpool(x, (fh, fw), stride, (pt, pl), (oh, ow), act))
    ks.check(server, calls)


@pytest.mark.parametrize("opt", ["-O0", "-Os"])
def test_kernels_match_ref_at_other_optimisation_levels(opt: str, tmp_path) -> None:  # noqa: ANN001
    """The inline-assembly loops pin registers; at -O0 the compiler keeps a frame pointer and at
    -Os it allocates differently, so a few calls of every kernel run in a build at each level."""
    from edgenas.boards import BoardRegistry

    fw = ks.build(BoardRegistry(entry_points=False, user_dir=None).get(BOARD), tmp_path, opt=opt)
    rng = np.random.default_rng(198)
    calls = []
    for packed in (True, False):
        for _ in range(3):
            g = _conv_geometry(rng, 3000)
            cout, taps = g["w"].shape[0], int(np.prod(g["w"].shape[1:]))
            calls.append(ks.conv(g["x"], g["w"], _bias(rng, cout), _quant(rng, cout, taps), g["stride"],
                                 g["pad"], g["out_hw"], g["dil"], packed=packed))
    x = rng.integers(-128, 128, (1, 3, 5, 48), dtype=np.int8)
    wt = rng.integers(-127, 128, (20, 1, 1, 48), dtype=np.int8)
    calls.append(ks.conv_in_place(x, wt, _bias(rng, 20), _quant(rng, 20, 48)))
    g = _conv_geometry(rng, 3000)
    q = _quant(rng, g["w"].shape[0], int(np.prod(g["w"].shape[1:])))
    skip = rng.integers(-128, 128, (g["x"].shape[0], *g["out_hw"], g["w"].shape[0]), dtype=np.int8)
    calls.append(ks.conv_add(g["x"], g["w"], None, q, _add_quant(rng, q.output_zp), skip, True, g["stride"],
                             g["pad"], g["dil"]))
    for kind in ("square", "kx1", "dilated"):
        d = _dw_case(rng, kind, 3000)
        c = d["x"].shape[3]
        calls.append(ks.dwconv(d["x"], d["w"], _bias(rng, c), _quant(rng, c, 9), d["stride"], d["pad"],
                               d["out_hw"], in_place=d["in_place"], dilation=d["dil"]))
    x = rng.integers(-128, 128, (1, 70), dtype=np.int8)
    calls.append(ks.fc(x, rng.integers(-127, 128, (13, 70), dtype=np.int8), None, _quant(rng, 13, 70)))
    calls.append(ks.fc_packed(x, rng.integers(-127, 128, (13, 70), dtype=np.int8), None, _quant(rng, 13, 70)))
    calls.append(ks.avgpool(rng.integers(-128, 128, (1, 4, 5, 20), dtype=np.int8), (4, 5), (1, 1), (0, 0),
                            (1, 1), (-128, 127)))
    ks.check(fw, calls)
