"""Adaptive weight rounding: each weight ends at its floor or ceiling, the ±127 peaks (the scales)
never move, the layer's output error on its calibration patches only goes down, and the patch
moments are the ones the convolution really reads (SAME padding, strides, depthwise)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edgenas.deploy.quantize import calibrate, quantize_subnet
from edgenas.deploy.rounding import patch_moment, round_adaptive
from edgenas.supernet.subnet import SameConv2d


def _problem(rng: np.random.Generator, rows: int, n: int, per_row: bool):
    weight = rng.normal(size=(rows, n)) * rng.uniform(0.1, 3.0, size=(rows, 1))
    scales = np.abs(weight).max(axis=1) / 127.0
    patches = rng.normal(size=(rows if per_row else 1, 400, n)) + rng.normal(size=(1, 1, n))  # correlated, non-zero mean
    moment = np.einsum("rpi,rpj->rij", patches, patches) / 400
    return weight, scales, moment if per_row else moment[0]


def _output_error(q: np.ndarray, weight: np.ndarray, scales: np.ndarray, moment: np.ndarray) -> float:
    error = q * scales[:, None] - weight
    if moment.ndim == 3:
        return float(np.einsum("oi,oij,oj->", error, moment, error))
    return float(np.einsum("oi,ij,oj->", error, moment, error))


@pytest.mark.parametrize("per_row", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_adaptive_rounding_lowers_output_error_with_floor_or_ceil_weights(per_row, seed):
    rng = np.random.default_rng(seed)
    weight, scales, moment = _problem(rng, rows=12, n=25, per_row=per_row)
    nearest = np.round(weight / scales[:, None])
    q = round_adaptive(weight, scales, moment).astype(np.float64)
    ratio = weight / scales[:, None]
    assert np.all((q == np.floor(ratio)) | (q == np.ceil(ratio)))
    assert np.all(np.abs(q) <= 127)
    peaks = np.abs(nearest) == 127
    assert np.array_equal(q[peaks], nearest[peaks])  # the scales stay those of nearest rounding
    adaptive, plain = _output_error(q, weight, scales, moment), _output_error(nearest, weight, scales, moment)
    assert adaptive < 0.8 * plain, (adaptive, plain)
    assert (q != nearest).sum() > 0


def test_adaptive_rounding_is_nearest_when_inputs_are_uncorrelated_and_centred():
    """With ``M = I`` the output error is the weights' own squared error: nearest is optimal."""
    rng = np.random.default_rng(7)
    weight = rng.normal(size=(6, 9))
    scales = np.abs(weight).max(axis=1) / 127.0
    assert np.array_equal(round_adaptive(weight, scales, np.eye(9)), np.round(weight / scales[:, None]).astype(np.int8))


@pytest.mark.parametrize("groups", [1, 6])
@pytest.mark.parametrize(("kernel", "stride", "size"), [(3, 1, 7), (5, 2, 9), (3, 2, 8)])
def test_patch_moment_matches_the_convolution_it_describes(groups, kernel, stride, size):
    """``Σ_patches (w·x)² == w M wᵀ`` for the conv's own outputs: the moment sees exactly the
    taps (padding included) the convolution multiplies."""
    torch.manual_seed(0)
    conv = SameConv2d(6, 6, kernel, stride, groups, size).eval()
    x = torch.randn(3, 6, size, size)
    total, count = patch_moment(conv, x)
    with torch.no_grad():
        out = conv(x).double()
    assert count == 3 * out.shape[2] * out.shape[3]
    w = conv.weight.detach().double().reshape(6, -1)
    if groups == 1:
        want = torch.einsum("oi,ij,oj->o", w, total, w)
    else:
        want = torch.einsum("ci,cij,cj->c", w, total, w)
    assert torch.allclose(out.pow(2).sum((0, 2, 3)), want, rtol=1e-4)


@pytest.mark.slow
def test_quantize_subnet_keeps_scales_and_moves_weights_by_one_step_at_most():
    from tests.deploy.test_subnets_end_to_end import our_subnets, _fashion_mnist

    data = _fashion_mnist()
    sub = our_subnets()[0].subnet
    adaptive = quantize_subnet(sub, data.train, count=64)
    nearest = quantize_subnet(sub, data.train, count=64, adaptive_rounding=False)
    assert [op.kind for op in adaptive.ops] == [op.kind for op in nearest.ops]
    moved = 0
    for name, t in nearest.tensors.items():
        a = adaptive.tensors[name]
        assert a.shape == t.shape and a.quant == t.quant, name
        if t.data is None:
            continue
        diff = a.data.astype(np.int64) - t.data.astype(np.int64)
        if t.dtype == "int8":
            assert np.abs(diff).max() <= 1, name
            moved += int(np.count_nonzero(diff))
        else:
            assert np.array_equal(a.data, t.data), name  # biases and shapes: rounding touches weights only
    assert moved > 0
    assert calibrate(sub, data.train, 64).moments == {}
