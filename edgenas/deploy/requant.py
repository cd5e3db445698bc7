"""Integer requantisation parameters, computed exactly as TFLite (Micro) computes them.

The C kernels (``runtime_c/include/edgenas/kernels.h``) take Q31 multipliers and power-of-two
shifts; bit-exactness with TFLite Micro needs not only the same kernel arithmetic but the same
parameters, down to TFLite's float32/float64 mix. Shift convention everywhere: ``shift > 0`` is
a left shift, ``shift < 0`` a right shift, range ``[-31, 30]``.

Scales arrive as Python floats but are float32 in a ``.tflite`` file; every function rounds its
scale arguments to float32 first, as the runtime sees them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..errors import ModelFormatError

INT8_MIN, INT8_MAX = -128, 127
ADD_LEFT_SHIFT = 20
"""TFLite's ADD pre-shift for int8 inputs (15 for int16)."""


def _f32(x: float) -> float:
    return float(np.float32(x))


def _round_half_away(v: float) -> int:
    """std::round for a non-negative double (exact: no ``+ 0.5`` rounding error)."""
    fl = math.floor(v)
    return int(fl) + (1 if v - fl >= 0.5 else 0)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """Split ``real`` into ``(multiplier, shift)`` with ``real ~= multiplier * 2^shift / 2^31``.

    TFLite's ``QuantizeMultiplier``: frexp, round the mantissa to Q31 half away from zero,
    renormalise if it rounded up to 2^31, and flush to ``(0, 0)`` below 2^-31.

    Raises:
        ModelFormatError: ``real`` is negative, not finite, or needs a shift above 30.
    """
    if not math.isfinite(real) or real < 0:
        raise ModelFormatError(
            f"requantisation multiplier {real!r} is not a finite non-negative number",
            hint="check the tensor scales of this op: all must be positive and finite",
        )
    if real == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real)
    q = _round_half_away(mantissa * (1 << 31))
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    if shift > 30:
        raise ModelFormatError(
            f"requantisation multiplier {real!r} is too large (shift {shift} > 30)",
            hint="an output scale this small relative to its input is not representable; "
            "re-quantise the model",
        )
    return q, shift


def activation_range(activation: str, scale: float, zero_point: int) -> tuple[int, int]:
    """Fused activation bounds in the int8 domain (CalculateActivationRangeQuantized).

    TFLite quantises 0 and 6 with float32 arithmetic: ``zp + round(f / scale)``.
    """
    def quant(f: float) -> int:
        v = float(np.float32(f) / np.float32(scale))  # float32 division, as TFLite
        return zero_point + int(math.copysign(_round_half_away(abs(v)), v))

    if activation == "none":
        return INT8_MIN, INT8_MAX
    if activation == "relu":
        return max(INT8_MIN, quant(0.0)), INT8_MAX
    if activation == "relu6":
        return max(INT8_MIN, quant(0.0)), min(INT8_MAX, quant(6.0))
    raise ModelFormatError(
        f"unknown fused activation {activation!r}", hint="use one of none, relu, relu6"
    )


def conv_quant(
    input_scale: float, weight_scales: Sequence[float], output_scale: float
) -> tuple[list[int], list[int]]:
    """Per-channel ``(mults, shifts)`` of CONV_2D / DEPTHWISE_CONV_2D / per-channel FC.

    TFLite computes ``double(in) * double(w[c]) / double(out)`` (float64 product).
    """
    s_in, s_out = _f32(input_scale), _f32(output_scale)
    pairs = [quantize_multiplier(s_in * _f32(s) / s_out) for s in weight_scales]
    return [m for m, _ in pairs], [s for _, s in pairs]


def fc_quant(input_scale: float, weight_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED ``(mult, shift)``.

    The TFLite Micro and LiteRT builds we check against widen both scales to double before
    multiplying, exactly like conv (a float32 product, as in older TFLite sources, is off by one
    in the last bit for some scales; see tests/deploy/test_reference.py).
    """
    mults, shifts = conv_quant(input_scale, [weight_scale], output_scale)
    return mults[0], shifts[0]


@dataclass(frozen=True)
class AddQuant:
    """Fields of the C ``en_add_quant`` struct, in its order."""

    in1_zp: int
    in2_zp: int
    out_zp: int
    in1_mult: int
    in1_shift: int
    in2_mult: int
    in2_shift: int
    out_mult: int
    out_shift: int
    left_shift: int
    act_min: int
    act_max: int


def add_quant(
    in1: tuple[float, int], in2: tuple[float, int], out: tuple[float, int], activation: str = "none"
) -> AddQuant:
    """int8 ADD parameters from ``(scale, zero_point)`` of both inputs and the output."""
    s1, s2, so = _f32(in1[0]), _f32(in2[0]), _f32(out[0])
    twice_max = 2.0 * max(s1, s2)
    m1, sh1 = quantize_multiplier(s1 / twice_max)
    m2, sh2 = quantize_multiplier(s2 / twice_max)
    mo, sho = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * so))
    lo, hi = activation_range(activation, out[0], out[1])
    return AddQuant(in1[1], in2[1], out[1], m1, sh1, m2, sh2, mo, sho, ADD_LEFT_SHIFT, lo, hi)


def mean_quant(input_scale: float, output_scale: float) -> tuple[int, int]:
    """MEAN ``(mult, shift)`` for ``input_scale / output_scale``; the kernel folds in 1/count."""
    return quantize_multiplier(_f32(input_scale) / _f32(output_scale))


@dataclass(frozen=True)
class SoftmaxParams:
    """Fields of the C ``en_softmax_params`` struct, in its order."""

    input_mult: int
    input_left_shift: int
    diff_min: int


SOFTMAX_INT_BITS = 5
"""Integer bits of the Q5.26 scaled difference TFLite feeds to exp()."""


def softmax_params(beta: float, input_scale: float) -> SoftmaxParams:
    """TFLite's PreprocessSoftmaxScaling and CalculateInputRadius for int8 softmax."""
    real = min(
        _f32(beta) * _f32(input_scale) * (1 << (31 - SOFTMAX_INT_BITS)), float((1 << 31) - 1)
    )
    mult, shift = quantize_multiplier(real)
    if shift < 0:
        raise ModelFormatError(
            f"softmax beta*scale {real!r} gives a right shift",
            hint="the softmax input scale is implausibly small; re-quantise the model",
        )
    max_rescaled = (
        1.0
        * ((1 << SOFTMAX_INT_BITS) - 1)
        * (1 << (31 - SOFTMAX_INT_BITS))
        / (1 << shift)
    )
    return SoftmaxParams(mult, shift, -int(math.floor(max_rescaled)))
