import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from edgenas.data import make_synthetic
from edgenas.errors import DataError, UsageError
from edgenas.estimate import EstimatorContext, get_estimator
from edgenas.estimate.proxies import (
    PROXIES,
    ProxyConfig,
    grad_norm_score,
    init_subnet,
    jacob_cov_score,
    proxy_batch,
    score_arch,
    snip_score,
    synflow_score,
)
from edgenas.space import Arch, get_space, largest_arch, sample_arch, smallest_arch

SPEC = get_space("tiny-test")


DATA = make_synthetic()


def with_width(arch, width):
    return Arch(arch.resolution, width, arch.stages)


def with_depth(arch, depth):
    return Arch(arch.resolution, arch.width, tuple((s[0],) * depth for s in arch.stages))


def zeroed(model):
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


@pytest.mark.parametrize("name", PROXIES)
@pytest.mark.slow
def test_each_proxy_is_deterministic_and_finite(name):
    rng = np.random.default_rng(0)
    archs = [largest_arch(SPEC), smallest_arch(SPEC)] + [sample_arch(SPEC, rng) for _ in range(3)]
    first = [score_arch(name, SPEC, a, DATA) for a in archs]
    again = [score_arch(name, SPEC, a, DATA) for a in archs]
    assert first == again
    assert all(math.isfinite(s) for s in first)
    assert len(set(first)) > 1  # the proxy tells archs apart


def test_scoring_leaves_the_callers_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    score_arch("snip", SPEC, largest_arch(SPEC), DATA)
    assert torch.equal(torch.rand(3), expected)


def test_seed_changes_the_init():
    arch = largest_arch(SPEC)
    assert score_arch("snip", SPEC, arch, DATA, ProxyConfig(seed=0)) != score_arch("snip", SPEC, arch, DATA, ProxyConfig(seed=1))


def test_params_and_synflow_grow_with_width_and_depth():
    base = smallest_arch(SPEC)
    for name in ("params", "synflow"):
        narrow = score_arch(name, SPEC, base, DATA)
        wide = score_arch(name, SPEC, with_width(base, 1.0), DATA)
        deep = score_arch(name, SPEC, with_depth(base, 2), DATA)
        assert wide > narrow and deep > narrow, name
    model = init_subnet(SPEC, largest_arch(SPEC), 0)
    assert score_arch("params", SPEC, largest_arch(SPEC), DATA) == sum(p.numel() for p in model.parameters())


def test_synflow_is_the_flow_of_a_linear_net():
    # R = 1ᵀ|W2||W1|1 for two bias-free layers; Σθ·∂R/∂θ = 2R (R is linear in each layer).
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False), nn.ReLU6(), nn.Linear(3, 2, bias=False))
    w1, w2 = net[1].weight.detach().abs().double(), net[3].weight.detach().abs().double()
    flow = float(torch.ones(2).double() @ w2 @ w1 @ torch.ones(4).double())
    assert synflow_score(net, 2, 1) == pytest.approx(math.log(2 * flow), rel=1e-9)
    assert net[1].weight.min() < 0  # the caller's weights are not made positive
    assert synflow_score(zeroed(net), 2, 1) == float("-inf")


def test_zero_weights_get_the_lowest_gradient_scores():
    arch = largest_arch(SPEC)
    x, y = proxy_batch(DATA, arch.resolution, 32, 0)
    for fn in (snip_score, grad_norm_score):
        live = fn(init_subnet(SPEC, arch, 0), x, y)
        dead = fn(zeroed(init_subnet(SPEC, arch, 0)), x, y)
        assert dead == 0.0 and live > 0.0


def test_jacob_cov_prefers_uncorrelated_jacobians():
    x, _ = proxy_batch(DATA, 16, 16, 0)
    dead = jacob_cov_score(zeroed(init_subnet(SPEC, largest_arch(SPEC), 0)), x)
    # A linear map has the same Jacobian for every image: correlation all ones, one non-zero eigenvalue.
    torch.manual_seed(0)
    linear = jacob_cov_score(nn.Sequential(nn.Flatten(), nn.Linear(256, 4)), x)
    live = jacob_cov_score(init_subnet(SPEC, largest_arch(SPEC), 0), x)
    k = 1e-5
    assert dead == pytest.approx(-16 * (math.log(k) + 1 / k))
    assert linear == pytest.approx(-(math.log(16 + k) + 1 / (16 + k)) - 15 * (math.log(k) + 1 / k), rel=1e-6)
    assert dead < linear < live


def test_proxy_batch_is_fixed_and_at_the_resolution():
    x, y = proxy_batch(DATA, 12, 8, 0)
    assert x.shape == (8, 1, 12, 12) and y.shape == (8,)
    x2, _ = proxy_batch(DATA, 12, 8, 0)
    assert torch.equal(x, x2)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


@pytest.mark.slow
def test_registered_proxies_score_batches():
    context = EstimatorContext(SPEC, dataset="synthetic")
    archs = [largest_arch(SPEC), smallest_arch(SPEC)]
    for name in PROXIES:
        scores = get_estimator(name, context)(archs)
        assert len(scores) == 2 and scores[0] != scores[1], name
        assert scores == [score_arch(name, SPEC, a, context.data()) for a in archs]
    assert get_estimator("params", context)(archs)[0] > get_estimator("params", context)(archs)[1]


def test_unknown_proxy_is_an_error():
    with pytest.raises(UsageError, match="unknown zero-cost proxy"):
        score_arch("zen", SPEC, largest_arch(SPEC), DATA)
    with pytest.raises(DataError, match="needs training images"):
        score_arch("snip", SPEC, largest_arch(SPEC), None)
    assert score_arch("params", SPEC, largest_arch(SPEC), None) > 0
