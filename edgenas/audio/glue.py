"""From the front end's 49 x 40 uint8 log-mel image to the int8 input of a square network, in
integer arithmetic: the reference of ``runtime_c/frontend/src/frontend_resize.c``.

The networks train on the image bilinearly resized (torch, ``align_corners=False``) to their
square resolution. The firmware cannot run torch's float resize, so the deploy-time glue is this
exact integer version of the same map: per axis, the source position ``(d + 0.5) * in / out - 0.5``
(clamped at 0) is held as a fraction over ``2 * out``, its weight rounded to ``RESIZE_FRAC_BITS``;
the four taps are summed in int32 and rounded half up to uint8. The int8 input is then
``u8 - 128`` (the input quantization every compiled subnet has: scale 1/255, zero point -128).
The Python int8 evaluation of keyword models uses this function too, so the accuracy reported
is the accuracy of what the device computes. It differs from torch's float resize by at most one
step of 255 (measured by the tests).
"""

from __future__ import annotations

import numpy as np

RESIZE_FRAC_BITS = 10
"""Weight bits per axis: four taps of 255 * 2^20 stay far inside int32."""
INPUT_ZERO_POINT = -128
"""The compiled subnets' input zero point (scale 1/255): ``int8 = u8 - 128``."""


def resize_axis(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(i0, i1, w1)`` per output index: the two source taps and the second tap's weight in
    ``Q RESIZE_FRAC_BITS`` (the first's is ``2^bits - w1``). The C code computes the same integers."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"sizes must be positive, got {n_in} -> {n_out}")
    d = np.arange(n_out, dtype=np.int64)
    num = np.maximum((2 * d + 1) * n_in - n_out, 0)  # source position times 2 * n_out
    den = 2 * n_out
    i0 = num // den
    frac = num - i0 * den
    w1 = (frac * (1 << RESIZE_FRAC_BITS) + n_out) // den  # rounded half up
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, w1


def resize_u8(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 ``(..., H, W)`` -> uint8 ``(..., height, width)``, integer bilinear (see module)."""
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim < 2:
        raise ValueError(f"expected uint8 (..., H, W) images, got {x.dtype} {x.shape}")
    y0, y1, wy = resize_axis(x.shape[-2], height)
    x0, x1, wx = resize_axis(x.shape[-1], width)
    one = 1 << RESIZE_FRAC_BITS
    v = x.astype(np.int64)
    top = v[..., y0, :]
    bottom = v[..., y1, :]
    wy_ = wy[:, None]
    acc = ((one - wy_) * (one - wx) * top[..., x0] + (one - wy_) * wx * top[..., x1]
           + wy_ * (one - wx) * bottom[..., x0] + wy_ * wx * bottom[..., x1])
    out = (acc + (1 << (2 * RESIZE_FRAC_BITS - 1))) >> (2 * RESIZE_FRAC_BITS)
    return out.astype(np.uint8)


def net_inputs(features: np.ndarray, resolution: int) -> np.ndarray:
    """uint8 log-mel images ``(N, 49, 40, 1)`` -> the int8 network inputs ``(N, r, r, 1)`` the
    firmware computes from them (resize, then ``- 128``)."""
    x = np.asarray(features)
    if x.ndim != 4 or x.shape[-1] != 1:
        raise ValueError(f"expected (N, H, W, 1) log-mel images, got {x.shape}")
    u8 = resize_u8(x[..., 0], resolution, resolution)
    return (u8.astype(np.int16) + INPUT_ZERO_POINT).astype(np.int8)[..., None]
