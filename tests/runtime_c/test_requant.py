"""edgenas.deploy.requant reproduces TFLite's parameter arithmetic exactly.

Hand-worked values pin the conventions (Q31 mantissa, shift > 0 = left, ties away from zero,
float32 scales); end-to-end agreement with TFLite Micro is in test_kernels_vs_tflm.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy import requant as rq
from edgenas.errors import ModelFormatError


@pytest.mark.parametrize(
    ("real", "want"),
    [
        (1.0, (1 << 30, 1)),            # 0.5 * 2^1
        (0.5, (1 << 30, 0)),
        (0.75, (3 << 29, 0)),
        (0.0, (0, 0)),
        (1e-12, (0, 0)),                # below 2^-31: flushed to zero like TFLite
        (1 - 2.0**-33, (1 << 30, 1)),   # mantissa rounds up to 2^31: renormalised
        ((2**30 + 0.5) / 2**31, (2**30 + 1, 0)),  # a tie rounds away from zero, not to even
        (3.0, (3 << 29, 2)),
    ],
)
def test_quantize_multiplier_hand_values(real: float, want: tuple[int, int]) -> None:
    assert rq.quantize_multiplier(real) == want


def test_quantize_multiplier_reconstructs_within_half_ulp() -> None:
    rng = np.random.default_rng(0)
    for real in rng.uniform(1e-6, 4.0, 500):
        m, s = rq.quantize_multiplier(float(real))
        assert (1 << 30) <= m < (1 << 31)
        assert abs(m * 2.0 ** (s - 31) - real) <= 2.0 ** (s - 32)


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), 2.0**31])
def test_quantize_multiplier_rejects_bad_values(bad: float) -> None:
    with pytest.raises(ModelFormatError) as e:
        rq.quantize_multiplier(bad)
    assert e.value.hint


def test_activation_range() -> None:
    assert rq.activation_range("none", 0.1, 3) == (-128, 127)
    assert rq.activation_range("relu", 0.1, 5) == (5, 127)
    assert rq.activation_range("relu6", 0.0235, -128) == (-128, 127)  # 6 / s = 255.3 -> 127
    assert rq.activation_range("relu6", 0.05, -100) == (-100, 20)  # 6 / 0.05 = 120
    # 6 / 12 = 0.5 exactly: TFLite rounds half away from zero (numpy's round would give 0).
    assert rq.activation_range("relu6", 12.0, 0) == (0, 1)
    with pytest.raises(ModelFormatError):
        rq.activation_range("gelu", 0.1, 0)


def test_add_quant_equal_scales() -> None:
    a = rq.add_quant((0.1, 0), (0.1, 0), (0.1, 0))
    # inputs: 0.1 / 0.2 = 0.5; output: 0.2 / (2^20 * 0.1) = 2^-19 = 0.5 * 2^-18
    assert (a.in1_mult, a.in1_shift, a.in2_mult, a.in2_shift) == (1 << 30, 0, 1 << 30, 0)
    assert (a.out_mult, a.out_shift, a.left_shift) == (1 << 30, -18, 20)


def test_fc_per_tensor_uses_the_double_product_like_conv() -> None:
    """TFLite Micro's per-tensor FC multiplier is double(in) * double(w) / out, as for conv."""
    rng = np.random.default_rng(1)
    for _ in range(2000):
        s_in, s_w, s_out = (float(np.float32(v)) for v in rng.uniform(1e-3, 1e-1, 3))
        conv = rq.conv_quant(s_in, [s_w], s_out)
        assert rq.fc_quant(s_in, s_w, s_out) == (conv[0][0], conv[1][0])
    assert rq.fc_quant(0.10724610835313797, 0.047622255980968475, 713.0718383789062) == rq.quantize_multiplier(
        0.10724610835313797 * 0.047622255980968475 / float(np.float32(713.0718383789062))
    )


def test_softmax_params_hand_values() -> None:
    p = rq.softmax_params(1.0, 0.1)
    # float32(0.1) * 2^26 = 6710886.5 -> frexp mantissa 0.8 -> Q31 1717986944, shift 23;
    # diff_min = -floor(31 * 2^26 / 2^23) = -248
    assert (p.input_mult, p.input_left_shift, p.diff_min) == (1717986944, 23, -248)


def test_mean_quant_is_the_scale_ratio() -> None:
    assert rq.mean_quant(0.2, 0.1) == rq.quantize_multiplier(2.0)
