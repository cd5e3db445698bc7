"""A tiny synthetic dataset for tests: class-dependent blobs, learnable in a few steps."""

from __future__ import annotations

import numpy as np

from .dataset import DataSplits, ImageSet


def make_synthetic(
    *, num_classes: int = 4, size: int = 16, channels: int = 1, n_train: int = 256, n_val: int = 64,
    n_test: int = 64, seed: int = 0,
) -> DataSplits:
    """Each class is a bright square at its own position on noise; deterministic for ``seed``."""
    rng = np.random.default_rng(seed)

    def make(n: int) -> ImageSet:
        y = rng.integers(0, num_classes, size=n)
        x = rng.integers(0, 60, size=(n, size, size, channels)).astype(np.int32)
        side = max(2, size // 4)
        for i, label in enumerate(y):
            row = (label * 3) % (size - side)
            col = (label * 5) % (size - side)
            x[i, row : row + side, col : col + side, :] += 180
        return ImageSet(np.clip(x, 0, 255).astype(np.uint8), y.astype(np.int64))

    return DataSplits("synthetic", make(n_train), make(n_val), make(n_test), tuple(f"c{i}" for i in range(num_classes)))
