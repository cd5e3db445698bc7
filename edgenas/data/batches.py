"""Turn uint8 NHWC images into float NCHW batches at a given resolution, with augmentation.

Resizing and augmentation are one ``grid_sample`` per batch: identity for evaluation, a random
shift (±``shift`` of the image) and horizontal flip for training. Pixels map to [0, 1] exactly as
the deployed int8 model expects (scale 1/255, zero point -128), so no mean/std normalisation.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .dataset import ImageSet


def to_tensor(x: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, C)`` → float ``(N, C, H, W)`` in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float().div_(255.0)


def resize(x: torch.Tensor, resolution: int) -> torch.Tensor:
    """Bilinear resize of ``(N, C, H, W)`` to a square ``resolution`` (no-op when equal)."""
    if x.shape[-1] == resolution and x.shape[-2] == resolution:
        return x
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False)


def augment(x: torch.Tensor, resolution: int, generator: torch.Generator, shift: float = 0.1, flip: bool = True) -> torch.Tensor:
    """Random translation and optional horizontal flip, resampled to ``resolution``."""
    n = x.shape[0]
    theta = torch.zeros(n, 2, 3)
    sign = torch.ones(n)
    if flip:
        sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta[:, 0, 0] = sign
    theta[:, 1, 1] = 1.0
    theta[:, :, 2] = (torch.rand(n, 2, generator=generator) * 2 - 1) * 2 * shift
    # Random numbers come from the CPU generator, so a GPU run draws what a CPU run draws.
    grid = F.affine_grid(theta.to(x.device), [n, x.shape[1], resolution, resolution], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def iterate(
    data: ImageSet,
    batch_size: int,
    *,
    shuffle_generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(images (N,C,H,W) float, labels (N,))`` on ``device``; shuffled when a generator is given."""
    n = len(data)
    order = torch.randperm(n, generator=shuffle_generator).numpy() if shuffle_generator is not None else np.arange(n)
    for start in range(0, n, batch_size):
        idx = np.sort(order[start : start + batch_size]) if shuffle_generator is None else order[start : start + batch_size]
        yield to_tensor(data.x[idx]).to(device, non_blocking=True), torch.from_numpy(data.y[idx]).to(device, non_blocking=True)


def model_device(model: torch.nn.Module) -> torch.device:
    """Where a model's parameters live (batches are sent there)."""
    return next(model.parameters()).device
