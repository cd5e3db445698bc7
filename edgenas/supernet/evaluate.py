"""Accuracy of a model (supernet with an active arch, or an extracted subnet) on an image set."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..data import ImageSet, iterate, resize
from ..data.batches import model_device


@torch.no_grad()
def accuracy(model: nn.Module, data: ImageSet, resolution: int, batch_size: int = 500) -> float:
    """Top-1 accuracy in [0, 1] at ``resolution`` (eval mode; the caller's mode is restored)."""
    was_training = model.training
    model.eval()
    correct = 0
    for x, y in iterate(data, batch_size, device=model_device(model)):
        correct += int((model(resize(x, resolution)).argmax(1) == y).sum())
    model.train(was_training)
    return correct / max(1, len(data))
