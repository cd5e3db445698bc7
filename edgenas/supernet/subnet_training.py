"""Train one fixed subnet: from scratch (the baseline inherited weights must match) or, starting
from its inherited weights, fine-tuned (Once-for-All's optional last step after extraction).

Both use the supernet's recipe (SGD + Nesterov, cosine decay, label smoothing, the same
augmentation) at the subnet's own resolution, so a from-scratch comparison isolates weight sharing.
Fine-tuning starts lower (the weights are already good) and may distil from a teacher.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, augmented_epoch, to_device
from ..space import Arch, SpaceSpec, largest_arch
from .allocator import keep_freed_memory
from .device import memory_format_for
from .fit_state import load_fit_state, save_fit_state
from .ofa import OFASupernet
from .prepare import prepare_subnet
from .subnet import Subnet


def kd_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Soft cross-entropy against the teacher's distribution (temperature 1, as OFA)."""
    return torch.sum(-F.softmax(teacher, dim=1) * F.log_softmax(student, dim=1), dim=1).mean()


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")


def train_from_scratch(spec: SpaceSpec, arch: Arch, data: DataSplits, *, epochs: int, lr: float = 0.1,
                       seed: int = 0, device: str = "cpu", **kwargs: Any) -> Subnet:
    """Return ``arch`` trained from a fresh init for ``epochs`` on ``data.train`` (eval mode);
    ``kwargs`` as for :func:`fit_subnet`."""
    torch.manual_seed(seed)
    model = Subnet(spec, arch)
    _init(model)
    return fit_subnet(model, arch, data, epochs=epochs, lr=lr, seed=seed, device=device, **kwargs)


def cosine_lr(peak: float, step: int, total: int) -> float:
    """Learning rate at ``step`` of ``total`` under cosine decay from ``peak`` to 0."""
    return 0.5 * peak * (1 + math.cos(math.pi * step / total))


def finetune_subnet(net: OFASupernet, model: Subnet, arch: Arch, data: DataSplits, *, epochs: int,
                    lr: float = 0.01, seed: int = 0, device: str = "cpu", **kwargs: Any) -> Subnet:
    """Continue training an extracted subnet (in place) for ``epochs``, distilling from the
    supernet's largest subnet at the same resolution (BN recalibrated), as the supernet itself was
    trained; ``kwargs`` as for :func:`fit_subnet`."""
    top = largest_arch(net.spec)
    teacher = prepare_subnet(net, Arch(arch.resolution, top.width, top.stages), data)
    return fit_subnet(model, arch, data, epochs=epochs, lr=lr, teacher=teacher, seed=seed, device=device, **kwargs)


def fit_subnet(
    model: Subnet,
    arch: Arch,
    data: DataSplits,
    *,
    epochs: int,
    lr: float,
    teacher: nn.Module | None = None,
    batch_size: int = 128,
    weight_decay: float = 4e-5,
    label_smoothing: float = 0.1,
    seed: int = 0,
    max_steps_per_epoch: int = 0,
    on_epoch: Callable[[int, float], None] | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
    device: str = "cpu",
    should_stop: Callable[[int, Subnet], bool] | None = None,
    resume_dir: Path | None = None,
) -> Subnet:
    """Train ``model`` (``arch``) for ``epochs`` on ``data.train``; return it in eval mode.

    ``on_step(epoch, step, steps)`` is called after every update (``step`` counts from 1), for
    progress within epochs that take minutes on a CPU. ``should_stop(epoch, model)`` is asked after
    every epoch (early stopping: it may evaluate the model); returning True ends training there.
    The cosine schedule still spans ``epochs``. With ``resume_dir`` the state is committed there
    after every epoch (:mod:`.fit_state`) and a run started again with the same settings goes on
    from its last whole epoch, ending with the same weights as one that never stopped.
    """
    fmt = memory_format_for(device)
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    model.to(device, memory_format=fmt)
    if teacher is not None:
        teacher.to(device, memory_format=fmt).eval()
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
    images, labels = to_device(data.train, device)
    settings = {"arch": str(arch), "epochs": epochs, "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay,
                "label_smoothing": label_smoothing, "seed": seed, "max_steps_per_epoch": max_steps_per_epoch,
                "teacher": teacher is not None, "train_images": len(data.train)}
    start = load_fit_state(resume_dir, model, optimizer, settings) if resume_dir is not None else 0
    for epoch in range(start, epochs):
        rng = np.random.default_rng([seed, epoch])
        shuffle = torch.Generator().manual_seed(int(rng.integers(2**62)))
        aug = torch.Generator().manual_seed(int(rng.integers(2**62)))
        model.train()
        losses = []
        batches = augmented_epoch(images, labels, batch_size, arch.resolution, shuffle_generator=shuffle,
                                  augment_generator=aug, steps=steps, flip=data.mirror_safe)
        for step, (x, y) in enumerate(batches):
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(lr, epoch * steps + step, total)
            optimizer.zero_grad(set_to_none=True)
            xb = x.contiguous(memory_format=fmt)
            logits = model(xb)
            loss = F.cross_entropy(logits, y, label_smoothing=label_smoothing)
            if teacher is not None:
                with torch.no_grad():
                    soft = teacher(xb)
                loss = loss + kd_loss(logits, soft)
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            if on_step:
                on_step(epoch, step + 1, steps)
        if resume_dir is not None:
            save_fit_state(resume_dir, model, optimizer, epoch + 1, settings)
        if on_epoch:
            on_epoch(epoch, float(torch.stack(losses).mean()))
        if should_stop is not None and should_stop(epoch, model):
            break
    return model.to(memory_format=torch.contiguous_format).eval()
