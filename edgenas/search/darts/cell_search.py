"""First-order DARTS over the cell space (:mod:`.cells`): search from scratch on small images.

Each step: Adam on the cell logits with a validation batch, then SGD on the network weights with a
training batch (first-order DARTS, ``xi = 0``). After every epoch the genotype is derived and the
collapse indicators are recorded (:mod:`.genotype`), so a run shows *when* skips start to win,
not only whether they did. Sized for Fashion-MNIST-like 28x28 inputs and tiny budgets.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ...data import DataSplits
from ...errors import UsageError
from ...torch_threads import torch_threads
from .cells import CellSearchNet
from .batches import Batches, take
from .genotype import CollapseReport, Genotype, derive_genotype


@dataclass(frozen=True)
class CellSearchConfig:
    """Network size and schedule (DARTS's values in comments; ours are tiny on purpose).

    Attributes:
        channels: initial cell channels (DARTS: 16).
        layers: cells (DARTS: 8).
        nodes: intermediate nodes per cell (DARTS: 4).
        resolution: input size (images are resized to it).
        epochs, steps_per_epoch, batch_size: schedule (DARTS: 50 epochs, batch 64).
        weight_lr, weight_momentum, weight_decay, grad_clip: SGD (DARTS: 0.025, 0.9, 3e-4, 5).
        arch_lr, arch_weight_decay: Adam on the logits, betas (0.5, 0.999) (DARTS: 3e-4, 1e-3).
        train_images, val_images: first N images of each split (0: all).
        max_skips, max_param_free_share: collapse thresholds; guard: cap skips in the derived cell.
        threads: torch CPU threads during the run (0: leave torch's setting; see ``DartsConfig.threads``).
    """

    channels: int = 8
    layers: int = 5
    nodes: int = 4
    resolution: int = 28
    epochs: int = 3
    steps_per_epoch: int = 10
    batch_size: int = 32
    weight_lr: float = 0.025
    weight_momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    arch_lr: float = 3e-3
    arch_weight_decay: float = 1e-3
    train_images: int = 0
    val_images: int = 0
    max_skips: int = 2
    max_param_free_share: float = 0.6
    guard: bool = True
    threads: int = 1

    def check(self) -> CellSearchConfig:
        if min(self.channels, self.layers, self.nodes, self.steps_per_epoch, self.batch_size) < 1 or self.epochs < 0:
            raise UsageError("cell search sizes must be positive", hint=f"got {self}")
        if self.layers < 3:
            raise UsageError(f"cell search needs layers >= 3 (two reductions), got {self.layers}")
        return self


@dataclass
class CellSearchResult:
    """Derived genotypes (raw and guarded), the collapse report and per-epoch history."""

    genotype: Genotype
    raw_genotype: Genotype
    collapse: CollapseReport
    history: list[dict[str, Any]]
    alpha_normal: list[list[float]]
    alpha_reduce: list[list[float]]
    config: dict[str, Any]
    seed: int
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "genotype": self.genotype.to_dict(), "raw_genotype": self.raw_genotype.to_dict(),
            "collapse": self.collapse.to_dict(), "history": self.history, "alpha_normal": self.alpha_normal,
            "alpha_reduce": self.alpha_reduce, "config": self.config, "seed": self.seed, "wall_s": self.wall_s,
            **self.extra,
        }


def _accuracy(model: CellSearchNet, batches: Batches, steps: int) -> float:
    model.eval()
    hits = total = 0
    with torch.no_grad():
        for _ in range(steps):
            x, y = batches.next(torch.device("cpu"))
            hits += int((model(x).argmax(1) == y).sum())
            total += len(y)
    return hits / max(1, total)


def run_cell_darts(data: DataSplits, config: CellSearchConfig | None = None, *, seed: int = 0) -> CellSearchResult:
    """Search a normal and a reduction cell on ``data`` (train split: weights; val split: logits).

    Returns:
        The guarded genotype (skips capped when ``config.guard``), the raw one, the collapse
        report of the final logits and per-epoch losses, val accuracy of the mixed network and
        collapse indicators.
    """
    cfg = (config or CellSearchConfig()).check()
    with torch_threads(cfg.threads):
        return _search(data, cfg, seed)


def _search(data: DataSplits, cfg: CellSearchConfig, seed: int) -> CellSearchResult:
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)  # conv weight initialisation
    model = CellSearchNet(data.in_channels, data.num_classes, channels=cfg.channels, layers=cfg.layers,
                          nodes=cfg.nodes, generator=gen)
    train = Batches(take(data.train, cfg.train_images), cfg.batch_size, cfg.resolution,
                     torch.Generator().manual_seed(seed + 1))
    val = Batches(take(data.val, cfg.val_images), cfg.batch_size, cfg.resolution,
                   torch.Generator().manual_seed(seed + 2))
    w_opt = torch.optim.SGD(model.weight_parameters(), lr=cfg.weight_lr, momentum=cfg.weight_momentum,
                            weight_decay=cfg.weight_decay)
    a_opt = torch.optim.Adam(model.arch_parameters(), lr=cfg.arch_lr, betas=(0.5, 0.999),
                             weight_decay=cfg.arch_weight_decay)
    history: list[dict[str, Any]] = []
    cpu = torch.device("cpu")
    for epoch in range(cfg.epochs):
        logs = []
        for _ in range(cfg.steps_per_epoch):
            model.train()
            x, y = val.next(cpu)
            a_opt.zero_grad(set_to_none=True)
            val_ce = F.cross_entropy(model(x), y)
            val_ce.backward()
            a_opt.step()
            x, y = train.next(cpu)
            w_opt.zero_grad(set_to_none=True)
            train_ce = F.cross_entropy(model(x), y)
            train_ce.backward()
            torch.nn.utils.clip_grad_norm_(model.weight_parameters(), cfg.grad_clip)
            w_opt.step()
            logs.append((float(train_ce.detach()), float(val_ce.detach())))
        _, guarded, report = derive_genotype(model.alpha_normal, model.alpha_reduce, cfg.nodes, max_skips=cfg.max_skips,
                                             max_param_free_share=cfg.max_param_free_share, guard=cfg.guard)
        history.append({
            "epoch": epoch, "train_ce": float(np.mean([a for a, _ in logs])), "val_ce": float(np.mean([b for _, b in logs])),
            "val_acc": _accuracy(model, val, 2), "skip_count": report.skip_count,
            "param_free_share": report.param_free_share, "collapsed": report.collapsed,
            "normal": [list(g) for g in guarded.normal],
        })
    raw, guarded, report = derive_genotype(model.alpha_normal, model.alpha_reduce, cfg.nodes, max_skips=cfg.max_skips,
                                           max_param_free_share=cfg.max_param_free_share, guard=cfg.guard)
    return CellSearchResult(
        genotype=guarded, raw_genotype=raw, collapse=report, history=history,
        alpha_normal=model.alpha_normal.detach().tolist(), alpha_reduce=model.alpha_reduce.detach().tolist(),
        config={**asdict(cfg), "order": "first"}, seed=seed, wall_s=time.perf_counter() - start,
    )
