"""Accuracy of a model (supernet with an active arch, or an extracted subnet) on an image set."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..data import ImageSet, iterate, resize
from ..data.batches import model_device

EVAL_BATCH_PIXELS = 100 * 48 * 48
"""Input pixels per evaluation batch. Batches much larger than this page-fault for their time:
the activations of 500 images at 48 px are hundreds of MB each, which glibc maps fresh for every
layer (measured on the 2-core x86_64 CPU, one thread, the largest 48 px subnet on 5,000 images:
2.2M minor faults, 2.7 of 8.3 s in the kernel at 500 images a batch; 37 faults and 5.4 s at 100).
Small inputs keep large batches, where per-call overheads would dominate instead."""

MAX_EVAL_BATCH = 500


def eval_batch_size(height: int, width: int | None = None) -> int:
    """Images per evaluation batch of ``height`` x ``width`` inputs (square when ``width`` is None):
    :data:`EVAL_BATCH_PIXELS` of input, at most :data:`MAX_EVAL_BATCH` (48 px: 100, 32 px: 225,
    24 px: 400)."""
    return max(1, min(MAX_EVAL_BATCH, EVAL_BATCH_PIXELS // (height * (height if width is None else width))))


@torch.no_grad()
def predict_classes(model: nn.Module, data: ImageSet, resolution: int | None,
                    batch_size: int | None = None) -> torch.Tensor:
    """Top-1 class per image ``(N,)`` at a square ``resolution``, or at the images' own size (any
    H x W, e.g. log-mel spectrograms) when it is None; eval mode, the caller's mode is restored.
    ``batch_size`` None: :func:`eval_batch_size` (measured: the same class for each of the 10,000
    Fashion-MNIST test images at 500 images a batch and at this size, on four bundled subnets of
    28 to 48 px)."""
    if batch_size is None:
        height, width = data.x.shape[1:3] if resolution is None else (resolution, resolution)
        batch_size = eval_batch_size(height, width)
    was_training = model.training
    model.eval()
    out = [model(x if resolution is None else resize(x, resolution)).argmax(1).cpu()
           for x, _ in iterate(data, batch_size, device=model_device(model))]
    model.train(was_training)
    return torch.cat(out) if out else torch.zeros(0, dtype=torch.long)


def accuracy(model: nn.Module, data: ImageSet, resolution: int | None, batch_size: int | None = None) -> float:
    """Top-1 accuracy in [0, 1] at ``resolution`` (None: the images' own size)."""
    if len(data) == 0:
        return 0.0
    predicted = predict_classes(model, data, resolution, batch_size)
    return int((predicted == torch.as_tensor(data.y).long()).sum()) / len(data)
