"""In-place "same"-shape depthwise (every KWS DS-CNN depthwise layer) is bit-exact with TFLite
Micro, through the arm build's row engine (arm/dwconv2d_s8.c, dw_rows) as well as ref.

The random cases of test_kernels_vs_tflm rarely draw this geometry, so these are built for it:
KWS's 25x5x64 layer (run transposed, as 5 rows of 25), odd and even kernels (even ones pad
unevenly), narrow and wide rows, images of several 64-output requantisation bands, large biases
that force the en_requant_fast fallback instead of SMMULR, and W == 1. Both host builds run
every case; tests/runtime_c/test_dw_shapes.py covers every other geometry.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy import requant as rq

from . import rt
from .single_op import conv_graph, output_scale_for, random_act_quant, random_input, run_tflm, same_pad

# (H, W, C, K, bias magnitude): KWS's 25x5x64 3x3 layer first.
GEOMETRIES = [
    (25, 5, 64, 3, 4000),
    (30, 6, 8, 3, 4000),   # 180 pixels: several 64-output bands
    (40, 7, 4, 3, 4000),   # W does not divide the band
    (6, 30, 4, 3, 4000),   # 30-wide rows
    (48, 3, 4, 5, 4000),
    (24, 7, 12, 4, 4000),  # even kernel: pad_top 1, pad_bottom 2
    (20, 8, 8, 2, 4000),
    (20, 4, 4, 3, 2**28),  # SMMULR bound fails: en_requant_fast fallback
    (40, 1, 4, 3, 4000),   # W == 1
    (4, 31, 8, 3, 4000),   # odd width: the 3x3 pair loop's extra window
]


@pytest.fixture(autouse=True, params=rt.VARIANTS)
def variant(request: pytest.FixtureRequest):  # noqa: ANN201 (generator fixture)
    rt.use(request.param)
    yield request.param
    rt.use("ref")


@pytest.mark.parametrize("geom", GEOMETRIES, ids=str)
@pytest.mark.parametrize("act", ["none", "relu6"])
def test_dw_in_place_same_geometry_matches_tflm(geom: tuple, act: str) -> None:
    h, w, c, k, bias_mag = geom
    rng = np.random.default_rng(h * 1000 + w * 100 + c + k)
    x_q = random_act_quant(rng)
    wts = rng.integers(-127, 128, size=(1, k, k, c), dtype=np.int8)
    w_scales = rng.uniform(0.001, 0.05, c).astype(np.float32)
    bias = rng.integers(-bias_mag, bias_mag, c).astype(np.int32)
    real_std = x_q[0] * float(w_scales.mean()) * k * 73.0 * 73.0
    y_q = (output_scale_for(6 * real_std, rng), int(rng.integers(-128, 128)))
    oh, pt = same_pad(h, k, 1, 1)
    ow, pl = same_pad(w, k, 1, 1)
    assert (oh, ow) == (h, w)
    x = random_input(rng, (1, h, w, c))
    attrs = dict(stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, padding="same", activation=act)
    ref = run_tflm(conv_graph(x_q, wts, w_scales, bias, y_q, x.shape, (1, h, w, c), attrs, True), [x])
    mults, shifts = rq.conv_quant(x_q[0], w_scales, y_q[0])
    m, s = np.array(mults, np.int32), np.array(shifts, np.int32)
    q = rt.Requant(x_q[1], y_q[1], rt._i32(m), rt._i32(s), 1, *rq.activation_range(act, *y_q))
    ours = rt.dwconv2d(x, wts, bias, q, (1, 1), (pt, pl), (h, w), in_place=True)
    assert np.array_equal(ours, ref.reshape(ours.shape))
