"""Train one fixed subnet from scratch: the baseline that inherited supernet weights must match.

Same recipe as the supernet's first phase (SGD + Nesterov, cosine decay, label smoothing, the same
augmentation) at the subnet's own resolution, so the comparison isolates weight sharing.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, augment, iterate
from ..space import Arch, SpaceSpec
from .subnet import Subnet


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")


def train_from_scratch(
    spec: SpaceSpec,
    arch: Arch,
    data: DataSplits,
    *,
    epochs: int,
    lr: float = 0.1,
    batch_size: int = 128,
    weight_decay: float = 4e-5,
    label_smoothing: float = 0.1,
    seed: int = 0,
    max_steps_per_epoch: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    device: str = "cpu",
    should_stop: Callable[[int, Subnet], bool] | None = None,
) -> Subnet:
    """Return ``arch`` trained for ``epochs`` on ``data.train`` (eval mode).

    ``should_stop(epoch, model)`` is asked after every epoch (early stopping: it may evaluate the
    model); returning True ends training there. The cosine schedule still spans ``epochs``.
    """
    torch.manual_seed(seed)
    model = Subnet(spec, arch)
    _init(model)
    model.to(device)
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    optimizer = torch.optim.SGD(
        [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=lr, momentum=0.9, nesterov=True,
    )
    steps = math.ceil(len(data.train) / batch_size)
    if max_steps_per_epoch:
        steps = min(steps, max_steps_per_epoch)
    total = steps * epochs
    for epoch in range(epochs):
        rng = np.random.default_rng([seed, epoch])
        shuffle = torch.Generator().manual_seed(int(rng.integers(2**62)))
        aug = torch.Generator().manual_seed(int(rng.integers(2**62)))
        model.train()
        losses = []
        for step, (x, y) in enumerate(iterate(data.train, batch_size, shuffle_generator=shuffle, device=device)):
            if step >= steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * lr * (1 + math.cos(math.pi * (epoch * steps + step) / total))
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(augment(x, arch.resolution, aug)), y, label_smoothing=label_smoothing)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
        if on_epoch:
            on_epoch(epoch, float(torch.stack(losses).mean()))
        if should_stop is not None and should_stop(epoch, model):
            break
    return model.eval()
