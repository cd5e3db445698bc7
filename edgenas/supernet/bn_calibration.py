"""Re-estimate batch-norm statistics of a subnet on training images (OFA's BN recalibration).

Shared supernet statistics average over all subnets trained together, so each extracted subnet
gets its own: reset, then a cumulative average (momentum=None) over a few thousand images.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..data import ImageSet, iterate, resize
from ..data.batches import model_device


@torch.no_grad()
def recalibrate_bn(model: nn.Module, data: ImageSet, resolution: int, *, images: int = 2000, batch_size: int = 250) -> None:
    """Replace every BatchNorm's running mean/var by statistics over the first ``images`` of ``data``."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m.momentum, m.training) for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    was_training = model.training
    model.train()
    subset = data.subset(torch.arange(min(images, len(data))).numpy())
    for x, _ in iterate(subset, batch_size, device=model_device(model)):
        model(resize(x, resolution))
    model.train(was_training)
    for m, (momentum, training) in zip(norms, saved):
        m.momentum = momentum
        m.train(training)
