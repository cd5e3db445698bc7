"""Hardware-aware differentiable search over the elastic space (FBNet / ProxylessNAS style).

Each step is first-order DARTS (Liu et al., 2019, the ``xi = 0`` variant: no unrolled
second-order term):

1. architecture step on a *validation* batch: ``CE(net(x_val; w(alpha))) + latency_loss(alpha)``,
   Adam on the logits only;
2. weight step on a *train* batch: ``CE(net(x_train; w(alpha)))`` with the candidate weights held
   fixed, SGD on the shared supernet weights only.

``w(alpha)`` is the per-slot softmax, or a Gumbel-softmax sample (``sampling="gumbel"``, FBNet).
The latency term uses the expected latency ``E[lat]`` of the table (:mod:`.latency`) under the
same weights:

- ``latency_loss="log"`` (default): ``lambda * log(E[lat] / ref)`` where ``ref`` is ``target_latency``
  or, without one, the expected latency at the start. Scale-free, so one lambda suits
  instructions and milliseconds alike; its gradient is ``lambda * dE / E`` (ProxylessNAS / FBNet's
  multiplicative ``log`` form, written additively).
- ``latency_loss="ratio"``: ``lambda * E[lat] / ref``.

Resolution and width stay fixed for the run. The result is the argmax arch (:func:`.slots.derive_arch`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...cost.latency_table import LatencyTable
from ...data import DataSplits
from ...errors import UsageError
from ...space import Arch, SpaceSpec
from ...supernet import OFASupernet
from ...torch_threads import torch_threads
from .batches import Batches, take
from .latency import LatencyTerms, latency_terms
from .mixed import MixedSupernet
from .slots import derive_arch

SAMPLINGS = ("softmax", "gumbel")
LATENCY_LOSSES = ("log", "ratio")


@dataclass(frozen=True)
class DartsConfig:
    """Settings of one differentiable search.

    Attributes:
        resolution: fixed input size (None: the middle one of the space).
        width: fixed width multiplier (None: the largest).
        latency_weight: lambda of the latency term (0 = accuracy only).
        latency_loss: ``log`` or ``ratio`` (module docstring).
        target_latency: the reference latency in the table's unit (None: expected latency at start).
        sampling: ``softmax`` (DARTS) or ``gumbel`` (FBNet); ``tau`` is the Gumbel temperature.
        epochs, steps_per_epoch: one epoch = ``steps_per_epoch`` (arch step + weight step) pairs.
        batch_size: images per step, for both splits.
        weight_lr, weight_momentum, weight_decay, grad_clip: SGD on the supernet weights.
        arch_lr, arch_weight_decay: Adam (betas 0.5, 0.999, as DARTS) on the logits.
        train_images, val_images: use only the first N of each split (0: all of it).
        threads: torch CPU threads during the run (0: leave torch's setting). Default 1: these nets
            are small, and on a shared CPU extra threads spin-wait (measured 10x slower with 2).
        supernet_dir, dataset, latency_table: where the registered strategy loads its inputs
            from when none are passed (None: the bundled supernet, its dataset, the bundled
            table of ``target``).
        target: core whose bundled latency table is used when ``latency_table`` is None.
    """

    resolution: int | None = None
    width: float | None = None
    latency_weight: float = 0.1
    latency_loss: str = "log"
    target_latency: float | None = None
    sampling: str = "softmax"
    tau: float = 1.0
    epochs: int = 5
    steps_per_epoch: int = 10
    batch_size: int = 64
    weight_lr: float = 0.01
    weight_momentum: float = 0.9
    weight_decay: float = 4e-5
    grad_clip: float = 5.0
    arch_lr: float = 0.05
    arch_weight_decay: float = 1e-3
    train_images: int = 0
    val_images: int = 0
    threads: int = 1
    supernet_dir: str | None = None
    dataset: str | None = None
    latency_table: str | None = None
    target: str = "cortex-m7"

    def check(self) -> DartsConfig:
        """Return self if every value is usable.

        Raises:
            UsageError: naming the bad field.
        """
        if self.sampling not in SAMPLINGS:
            raise UsageError(f"darts sampling {self.sampling!r} is not one of {SAMPLINGS}")
        if self.latency_loss not in LATENCY_LOSSES:
            raise UsageError(f"darts latency_loss {self.latency_loss!r} is not one of {LATENCY_LOSSES}")
        if self.latency_weight < 0 or self.tau <= 0:
            raise UsageError("darts latency_weight must be >= 0 and tau > 0",
                             hint=f"got latency_weight={self.latency_weight}, tau={self.tau}")
        if self.epochs < 0 or self.steps_per_epoch < 1 or self.batch_size < 1:
            raise UsageError("darts needs epochs >= 0, steps_per_epoch >= 1 and batch_size >= 1")
        if self.target_latency is not None and self.target_latency <= 0:
            raise UsageError(f"darts target_latency must be positive, got {self.target_latency}")
        return self


@dataclass
class DartsResult:
    """What a differentiable search derived and how it got there.

    Attributes:
        arch: the argmax arch after the last epoch.
        latency: its latency from the table (``unit``), an estimate like every table value.
        expected_latency: per epoch (index 0 = before any step), ``E[lat]`` under the softmax.
        derived: per epoch, the argmax arch string.
        logits: per epoch, every slot's logits.
        losses: per epoch, mean train CE, val CE and latency term.
    """

    arch: Arch
    latency: float
    unit: str
    expected_latency: list[float]
    derived: list[str]
    logits: list[list[list[float]]]
    losses: list[dict[str, float]]
    config: dict[str, Any]
    seed: int
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "arch": str(self.arch), "latency": self.latency, "unit": self.unit,
            "expected_latency": self.expected_latency, "derived": self.derived, "logits": self.logits,
            "losses": self.losses, "config": self.config, "seed": self.seed, "wall_s": self.wall_s, **self.extra,
        }


class DartsSearch:
    """A differentiable search in progress: ``epoch()`` advances it, ``derive()`` reads the arch.

    Args:
        net: the supernet; its weights are trained in place (pass a copy to keep the original).
        data: ``train`` feeds the weight steps, ``val`` the architecture steps.
        table: measured latency entries for ``net.spec``.
        config: see :class:`DartsConfig`.
        seed: seeds the logits, the batch order and the Gumbel noise.
    """

    def __init__(self, net: OFASupernet, data: DataSplits, table: LatencyTable, config: DartsConfig | None = None,
                 *, seed: int = 0) -> None:
        self.config = cfg = (config or DartsConfig()).check()
        spec: SpaceSpec = net.spec
        self.spec = spec
        self.seed = seed
        self.resolution = cfg.resolution if cfg.resolution is not None else spec.resolutions[len(spec.resolutions) // 2]
        self.width = cfg.width if cfg.width is not None else max(spec.widths)
        self.generator = torch.Generator().manual_seed(seed)
        self.model = MixedSupernet(net, self.resolution, self.width, self.generator)
        self.terms: LatencyTerms = latency_terms(table, spec, self.model.slots, self.resolution, self.width)
        self.table = table
        self.device = next(net.parameters()).device
        self.train = Batches(take(data.train, cfg.train_images), cfg.batch_size, self.resolution,
                              torch.Generator().manual_seed(seed + 1))
        self.val = Batches(take(data.val, cfg.val_images), cfg.batch_size, self.resolution,
                            torch.Generator().manual_seed(seed + 2))
        self.w_opt = torch.optim.SGD(self.model.weight_parameters(), lr=cfg.weight_lr, momentum=cfg.weight_momentum,
                                     weight_decay=cfg.weight_decay)
        self.a_opt = torch.optim.Adam(self.model.arch_parameters(), lr=cfg.arch_lr, betas=(0.5, 0.999),
                                      weight_decay=cfg.arch_weight_decay)
        self.reference = float(cfg.target_latency or self.expected_latency())
        self.epochs_done = 0
        self.expected_history = [self.expected_latency()]
        self.derived_history = [str(self.derive())]
        self.logits_history = [self.logits()]
        self.losses: list[dict[str, float]] = []

    # ------------------------------------------------------------------ reading
    def logits(self) -> list[list[float]]:
        return [a.detach().cpu().tolist() for a in self.model.alphas]

    def expected_latency(self) -> float:
        """``E[lat]`` under the softmax of the current logits (table unit)."""
        with torch.no_grad():
            return float(self.terms.expected(self.model.candidate_weights()))

    def derive(self) -> Arch:
        return derive_arch(self.spec, self.resolution, self.width, self.model.slots, list(self.model.alphas))

    def latency_of(self, arch: Arch) -> float:
        return float(self.table.predict(arch))

    def set_logits(self, logits: list[list[float]]) -> None:
        """Restore logits (resuming a search; weights come from the checkpoint again)."""
        with torch.no_grad():
            for alpha, values in zip(self.model.alphas, logits):
                alpha.copy_(torch.tensor(values, dtype=alpha.dtype))

    # ------------------------------------------------------------------ optimising
    def _weights(self) -> list[torch.Tensor]:
        cfg = self.config
        return self.model.candidate_weights(gumbel=cfg.sampling == "gumbel", tau=cfg.tau, generator=self.generator)

    def _latency_loss(self, weights: list[torch.Tensor]) -> torch.Tensor:
        cfg = self.config
        expected = self.terms.expected(weights)
        if cfg.latency_loss == "log":
            term = torch.log(expected / self.reference)
        else:
            term = expected / self.reference
        return (cfg.latency_weight * term).to(torch.float32)

    def step(self) -> dict[str, float]:
        """One architecture step (val batch) then one weight step (train batch)."""
        cfg = self.config
        self.model.train()
        x, y = self.val.next(self.device)
        self.a_opt.zero_grad(set_to_none=True)
        weights = self._weights()
        val_ce = F.cross_entropy(self.model(x, weights), y)
        lat = self._latency_loss(weights)
        (val_ce + lat).backward()
        self.a_opt.step()

        x, y = self.train.next(self.device)
        self.w_opt.zero_grad(set_to_none=True)
        weights = [w.detach() for w in self._weights()]
        train_ce = F.cross_entropy(self.model(x, weights), y)
        train_ce.backward()
        torch.nn.utils.clip_grad_norm_(self.model.weight_parameters(), cfg.grad_clip)
        self.w_opt.step()
        return {"train_ce": float(train_ce.detach()), "val_ce": float(val_ce.detach()), "latency_loss": float(lat.detach())}

    def epoch(self) -> Arch:
        """``steps_per_epoch`` steps; records the histories and returns the derived arch."""
        with torch_threads(self.config.threads):
            logs = [self.step() for _ in range(self.config.steps_per_epoch)]
        self.epochs_done += 1
        self.losses.append({k: float(np.mean([log[k] for log in logs])) for k in logs[0]})
        arch = self.derive()
        self.expected_history.append(self.expected_latency())
        self.derived_history.append(str(arch))
        self.logits_history.append(self.logits())
        return arch

    def result(self, wall_s: float = 0.0) -> DartsResult:
        arch = self.derive()
        lat = self.latency_of(arch)
        if not math.isfinite(lat):
            raise UsageError(f"latency of {arch} is not finite")
        return DartsResult(
            arch=arch, latency=lat, unit=self.terms.unit, expected_latency=list(self.expected_history),
            derived=list(self.derived_history), logits=list(self.logits_history), losses=list(self.losses),
            config={**asdict(self.config), "resolution": self.resolution, "width": self.width,
                    "reference_latency": self.reference, "order": "first"},
            seed=self.seed, wall_s=wall_s,
        )


def run_darts(net: OFASupernet, data: DataSplits, table: LatencyTable, config: DartsConfig | None = None, *,
              seed: int = 0) -> DartsResult:
    """Run ``config.epochs`` epochs of first-order hardware-aware DARTS and derive the arch.

    Args:
        net: supernet with shared weights (trained in place; pass a copy to keep it).
        data: train split for weights, val split for the architecture.
        table: latency table of the target, for ``net.spec``.
        config: search settings.
        seed: the same seed (and thread count) gives the same result.

    Returns:
        The derived arch, its table latency, and per-epoch logits, expected latency and derived archs.

    Raises:
        SpaceError: the table belongs to another space, or resolution/width are not in it.
        TableError: the table lacks an entry the search needs.
    """
    cfg = (config or DartsConfig()).check()
    with torch_threads(cfg.threads):
        start = time.perf_counter()
        search = DartsSearch(net, data, table, cfg, seed=seed)
        for _ in range(cfg.epochs):
            search.epoch()
        return search.result(time.perf_counter() - start)
