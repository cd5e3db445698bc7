"""Batches for bilevel search: two independent endless streams (train and val) at one resolution."""

from __future__ import annotations

import numpy as np
import torch

from ...data import ImageSet
from ...data.batches import resize, to_tensor


def take(images: ImageSet, n: int) -> ImageSet:
    """The first ``n`` images (all of them for ``n <= 0``)."""
    return images if n <= 0 or n >= len(images) else images.subset(np.arange(n))


class Batches:
    """Endless shuffled batches of one split at one resolution (reshuffled after each pass)."""

    def __init__(self, images: ImageSet, batch_size: int, resolution: int, generator: torch.Generator) -> None:
        self.images, self.batch_size, self.resolution, self.generator = images, batch_size, resolution, generator
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def next(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos >= len(self.order):
            self.order = torch.randperm(len(self.images), generator=self.generator)
            self.pos = 0
        idx = np.sort(self.order[self.pos : self.pos + self.batch_size].numpy())
        self.pos += self.batch_size
        x = resize(to_tensor(self.images.x[idx]), self.resolution).to(device)
        return x, torch.from_numpy(self.images.y[idx]).to(device)
