"""The deploy-time glue between the front end and a square network (runtime_c/frontend's integer
resize, edgenas.audio.glue in Python) is bit-exact between C and Python, stays within one step of
torch's float bilinear resize that training uses, and refuses bad arguments."""

from __future__ import annotations

import ctypes as C

import numpy as np
import pytest

from edgenas.audio.glue import INPUT_ZERO_POINT, net_inputs, resize_axis, resize_u8

from .test_frontend_c import _lib, needs_gcc


def c_resize(image: np.ndarray, height: int, width: int, zero_point: int = INPUT_ZERO_POINT) -> tuple[int, np.ndarray]:
    """The C resize on uint8 ``(H, W)``: its status and int8 ``(height, width)``."""
    image = np.ascontiguousarray(image, dtype=np.uint8)
    out = np.full((max(height, 1), max(width, 1)), 0x55, np.int8)
    status = _lib().en_fe_resize_u8_to_s8(image.ctypes.data_as(C.POINTER(C.c_uint8)), C.c_int32(image.shape[0]),
                                          C.c_int32(image.shape[1]), out.ctypes.data_as(C.POINTER(C.c_int8)),
                                          C.c_int32(height), C.c_int32(width), C.c_int32(zero_point))
    return status, out


@needs_gcc
@pytest.mark.parametrize("resolution", [1, 8, 24, 32, 40, 48, 49, 64, 97])
def test_c_resize_equals_python_on_log_mel_sized_images(resolution):
    rng = np.random.default_rng(resolution)
    images = [rng.integers(0, 256, (49, 40), dtype=np.uint8), np.zeros((49, 40), np.uint8),
              np.full((49, 40), 255, np.uint8), (np.indices((49, 40)).sum(0) * 3 % 256).astype(np.uint8)]
    for image in images:
        status, got = c_resize(image, resolution, resolution)
        assert status == 0
        want = (resize_u8(image, resolution, resolution).astype(np.int16) + INPUT_ZERO_POINT).astype(np.int8)
        assert np.array_equal(got, want)


@needs_gcc
def test_c_resize_equals_python_on_other_shapes_and_zero_points():
    rng = np.random.default_rng(7)
    for (h, w, oh, ow, zp) in [(1, 1, 5, 3, 0), (5, 3, 1, 1, -128), (49, 40, 20, 60, -100), (2, 300, 7, 11, 10)]:
        image = rng.integers(0, 256, (h, w), dtype=np.uint8)
        status, got = c_resize(image, oh, ow, zp)
        assert status == 0
        want = np.clip(resize_u8(image, oh, ow).astype(np.int32) + zp, -128, 127).astype(np.int8)
        assert np.array_equal(got, want)


@needs_gcc
def test_c_resize_refuses_bad_sizes_and_leaves_out_untouched():
    image = np.zeros((49, 40), np.uint8)
    for h, w in [(0, 4), (4, -1), (5000, 4)]:
        status, out = c_resize(image, h, w)
        assert status == -1 and np.all(out == 0x55)


def test_glue_is_within_one_step_of_torchs_float_resize():
    from edgenas.deploy.quantize import quantize_images

    x = np.random.default_rng(0).integers(0, 256, (8, 49, 40, 1), dtype=np.uint8)
    for r in (24, 32, 40, 48):
        ours, theirs = net_inputs(x, r).astype(int), quantize_images(x, r).astype(int)
        assert ours.shape == theirs.shape == (8, r, r, 1)
        assert np.abs(ours - theirs).max() <= 1 and np.mean(ours != theirs) < 0.05


def test_axis_taps_are_the_align_corners_false_map():
    i0, i1, w1 = resize_axis(40, 48)  # upscale: the first output sits left of pixel 0, clamped
    assert (i0[0], w1[0]) == (0, 0) and i1[-1] == 39 and np.all((0 <= w1) & (w1 <= 1024))
    i0, _, w1 = resize_axis(49, 49)  # identity
    assert np.array_equal(i0, np.arange(49)) and np.all(w1 == 0)
