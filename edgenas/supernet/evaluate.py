"""Accuracy of a model (supernet with an active arch, or an extracted subnet) on an image set."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..data import ImageSet, iterate, resize
from ..data.batches import model_device


@torch.no_grad()
def predict_classes(model: nn.Module, data: ImageSet, resolution: int, batch_size: int = 500) -> torch.Tensor:
    """Top-1 class per image ``(N,)`` at ``resolution`` (eval mode; the caller's mode is restored)."""
    was_training = model.training
    model.eval()
    out = [model(resize(x, resolution)).argmax(1).cpu()
           for x, _ in iterate(data, batch_size, device=model_device(model))]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def accuracy(model: nn.Module, data: ImageSet, resolution: int, batch_size: int = 500) -> float:
    """Top-1 accuracy in [0, 1] at ``resolution``."""
    if len(data) == 0:
        return 0.0
    predicted = predict_classes(model, data, resolution, batch_size)
    return int((predicted == torch.as_tensor(data.y).long()).sum()) / len(data)
