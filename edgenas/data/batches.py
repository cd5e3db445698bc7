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


def draw_affine(n: int, generator: torch.Generator, shift: float = 0.1, flip: bool = True) -> torch.Tensor:
    """Random ``(n, 2, 3)`` affine maps (translation, optional horizontal flip), on the CPU.

    Random numbers come from the CPU generator, so a GPU run draws what a CPU run draws."""
    theta = torch.zeros(n, 2, 3)
    sign = torch.ones(n)
    if flip:
        sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta[:, 0, 0] = sign
    theta[:, 1, 1] = 1.0
    theta[:, :, 2] = (torch.rand(n, 2, generator=generator) * 2 - 1) * 2 * shift
    return theta


Size = int | tuple[int, int]
"""An output size: a square resolution, or ``(height, width)`` (a model at the images' own size,
such as a keyword net on 49 x 40 log-mel features)."""


def _hw(size: Size) -> tuple[int, int]:
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


def warp(x: torch.Tensor, theta: torch.Tensor, resolution: Size) -> torch.Tensor:
    """Resample ``x`` through the affine maps ``theta`` to ``resolution`` (square or ``(H, W)``)."""
    grid = F.affine_grid(theta.to(x.device), [x.shape[0], x.shape[1], *_hw(resolution)], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def augment(x: torch.Tensor, resolution: int, generator: torch.Generator, shift: float = 0.1, flip: bool = True) -> torch.Tensor:
    """Random translation and optional horizontal flip, resampled to ``resolution``."""
    return warp(x, draw_affine(x.shape[0], generator, shift, flip), resolution)


def augmented_epoch(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    resolution: Size,
    *,
    shuffle_generator: torch.Generator,
    augment_generator: torch.Generator,
    steps: int | None = None,
    flip: bool = True,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled, augmented ``(images, labels)`` batches from uint8 NHWC ``images``
    already on their device (see :func:`to_device`).

    Why: every random number of the epoch is drawn up front and sent in one copy, so a GPU never
    waits for the host between steps (a per-batch host-to-device copy serialises the two). The
    draws are those of :func:`iterate` + :func:`augment`, batch by batch, so the batches are equal.
    ``resolution`` may be ``(H, W)``; ``flip`` False leaves out the horizontal flip (images whose
    columns have a direction, such as a spectrogram's frequency axis)."""
    n = images.shape[0]
    order = torch.randperm(n, generator=shuffle_generator)
    chunks = order.split(batch_size)[:steps]
    thetas = torch.cat([draw_affine(len(c), augment_generator, flip=flip) for c in chunks]).to(images.device)
    order = order[: sum(len(c) for c in chunks)].to(images.device)
    for idx, theta in zip(order.split(batch_size), thetas.split(batch_size)):
        x = images[idx].permute(0, 3, 1, 2).float().div_(255.0)
        yield warp(x, theta, resolution), labels[idx]


def to_device(data: ImageSet, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole set as uint8 NHWC images and int64 labels on ``device`` (shared memory on a CPU)."""
    return torch.from_numpy(np.ascontiguousarray(data.x)).to(device), torch.from_numpy(data.y).long().to(device)


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
