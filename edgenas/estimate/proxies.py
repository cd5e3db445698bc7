"""Zero-cost proxies: score an untrained subnet from one minibatch, no training at all.

Every proxy builds ``Subnet(spec, arch)`` with a seeded initialisation (the from-scratch recipe's
Kaiming init) and looks at one fixed minibatch of real training images at the arch's resolution.
Scores are "higher is predicted better"; only their ranking means anything.

- ``synflow`` (Tanaka et al. 2020): the network with ``|θ|`` weights, ReLU6 replaced by identity
  (all activations are positive, so it is the linearised net) and BN at its initial identity
  statistics, fed an all-ones input; ``R = Σ output`` and the score is ``Σ θ·∂R/∂θ`` over conv
  and linear weights, in float64. Reported as ``log(score)`` so deep nets stay readable.
- ``jacob_cov`` (Mellor et al. 2020, v1): per-image Jacobians ``∂Σf(x)/∂x`` over the batch, their
  correlation matrix ``C`` with eigenvalues ``λ``; score ``-Σ log(λ+k) + 1/(λ+k)``, ``k = 1e-5``
  (largest when the Jacobians of different images are uncorrelated).
- ``snip`` (Lee et al. 2019): ``Σ |∂L/∂θ · θ|`` for the cross-entropy loss of the batch.
- ``grad_norm`` (Abdelfattah et al. 2021): ``Σ_layers ‖∂L/∂θ_layer‖₂``.
- ``params``: the parameter count, the baseline any proxy must beat.

Gradient proxies run BN in training mode (batch statistics), as the papers do on a fresh net.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, resize, to_tensor
from ..errors import DataError, UsageError
from ..space import Arch, SpaceSpec
from ..supernet import Subnet
from ..torch_threads import torch_threads
from .registry import Estimator, EstimatorContext, register_estimator

PROXIES = ("synflow", "jacob_cov", "snip", "grad_norm", "params")
JACOB_K = 1e-5


@dataclass(frozen=True)
class ProxyConfig:
    """Minibatch size and the seeds of the init and the image draw (same for every arch)."""

    batch_size: int = 64
    seed: int = 0
    threads: int = 1  # one small net and one batch gain nothing from more on a shared CPU; 0: leave as is


def init_subnet(spec: SpaceSpec, arch: Arch, seed: int) -> Subnet:
    """``Subnet(spec, arch)`` initialised like the from-scratch recipe, from ``seed`` only.

    The global RNG is forked, so scoring never changes what the caller draws next.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Subnet(spec, arch)
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
    return model


def proxy_batch(data: DataSplits, resolution: int, batch_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed draw of ``batch_size`` training images ``(N, C, R, R)`` in [0, 1] and their labels.

    Raises:
        DataError: the training split is empty.
    """
    n = len(data.train)
    if n == 0:
        raise DataError(f"dataset {data.name!r} has no training images to score proxies on")
    idx = np.sort(np.random.default_rng(seed).permutation(n)[: min(batch_size, n)])
    return resize(to_tensor(data.train.x[idx]), resolution), torch.from_numpy(data.train.y[idx])


def _weights(model: nn.Module) -> list[nn.Parameter]:
    """Conv and linear weights: the parameters the pruning-at-init papers score."""
    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def params_score(model: nn.Module) -> float:
    return float(sum(p.numel() for p in model.parameters()))


def synflow_score(model: nn.Module, resolution: int, in_channels: int) -> float:
    """``log Σ θ·∂R/∂θ`` of the linearised, abs-valued net on an all-ones input (float64).

    Returns ``-inf`` when every weight is zero (the flow is zero).
    """
    net = copy.deepcopy(model).double().eval()  # eval: fresh BN statistics are the identity map
    for child in list(net.modules()):
        for attr, sub in list(child.named_children()):
            if isinstance(sub, nn.ReLU6):  # positive inputs: ReLU is identity, but ReLU6 would clip the flow
                setattr(child, attr, nn.Identity())
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    weights = _weights(net)
    x = torch.ones(1, in_channels, resolution, resolution, dtype=torch.float64)
    net.zero_grad(set_to_none=True)
    net(x).sum().backward()
    with torch.no_grad():
        total = sum(float((w * w.grad).sum()) for w in weights if w.grad is not None)
    return math.log(total) if total > 0 else float("-inf")


def _loss_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[nn.Parameter, torch.Tensor]]:
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    return [(w, w.grad if w.grad is not None else torch.zeros_like(w)) for w in _weights(model)]


def snip_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Connection sensitivity ``Σ |g·θ|`` of the cross-entropy loss."""
    grads = _loss_grads(model, x, y)
    with torch.no_grad():
        return float(sum(float((g * w).abs().sum()) for w, g in grads))


def grad_norm_score(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum over layers of the L2 norm of the loss gradient."""
    return float(sum(float(g.norm()) for _, g in _loss_grads(model, x, y)))


def jacob_cov_score(model: nn.Module, x: torch.Tensor) -> float:
    """Mellor et al.'s score of the correlation of per-image input Jacobians (needs ≥ 2 images)."""
    model.train()
    model.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_(True)
    model(x).sum().backward()
    jac = x.grad.reshape(len(x), -1).double()
    jac = jac - jac.mean(dim=1, keepdim=True)
    # A constant Jacobian row (dead net) has no correlation: keep it a zero row, not a NaN.
    jac = jac / jac.norm(dim=1, keepdim=True).clamp_min(1e-30)
    corr = (jac @ jac.T).numpy()
    eig = np.clip(np.linalg.eigvalsh(corr), 0.0, None)
    return float(-np.sum(np.log(eig + JACOB_K) + 1.0 / (eig + JACOB_K)))


def score_arch(name: str, spec: SpaceSpec, arch: Arch, data: DataSplits | None,
               config: ProxyConfig | None = None) -> float:
    """One proxy's score of ``arch`` (see the module docstring); ``data`` may be None for params/synflow."""
    cfg = config or ProxyConfig()
    with torch_threads(cfg.threads):
        return _score(name, spec, arch, data, cfg)


def _score(name: str, spec: SpaceSpec, arch: Arch, data: DataSplits | None, cfg: ProxyConfig) -> float:
    if name not in PROXIES:
        raise UsageError(f"unknown zero-cost proxy {name!r}", hint=f"known: {', '.join(PROXIES)}")
    model = init_subnet(spec, arch, cfg.seed)
    if name == "params":
        return params_score(model)
    if name == "synflow":
        return synflow_score(model, arch.resolution, spec.in_channels)
    if data is None:
        raise DataError(f"the {name} proxy needs training images", hint="pass the dataset splits")
    x, y = proxy_batch(data, arch.resolution, cfg.batch_size, cfg.seed)
    if name == "snip":
        return snip_score(model, x, y)
    if name == "grad_norm":
        return grad_norm_score(model, x, y)
    return jacob_cov_score(model, x)


class ProxyEstimator:
    """Batch scorer for one proxy; the dataset is loaded on first use (never for params/synflow)."""

    def __init__(self, name: str, spec: SpaceSpec, data: Callable[[], DataSplits] | None,
                 config: ProxyConfig | None = None) -> None:
        self.name, self.spec, self.config = name, spec, config or ProxyConfig()
        self._data = data

    def __call__(self, archs: list[Arch]) -> list[float]:
        data = self._data() if self.name not in ("params", "synflow") and self._data is not None else None
        return [score_arch(self.name, self.spec, a, data, self.config) for a in archs]


def _factory(name: str) -> Callable[[EstimatorContext], Estimator]:
    def build(context: EstimatorContext) -> Estimator:
        return ProxyEstimator(name, context.spec, context.data, ProxyConfig(seed=context.seed))

    build.__doc__ = f"The zero-cost proxy {name!r}."
    return build


for _name in PROXIES:
    register_estimator(_name)(_factory(_name))
