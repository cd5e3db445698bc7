"""In-memory image datasets: uint8 NHWC pixels and int64 labels, with fixed splits.

Everything stays in RAM as one array (Fashion-MNIST is 47 MB), so batching is slicing and
nothing needs worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import DataError


@dataclass(frozen=True)
class ImageSet:
    """Images ``x`` uint8 ``(N, H, W, C)`` and labels ``y`` int64 ``(N,)``."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self) -> None:
        if self.x.ndim != 4 or self.x.dtype != np.uint8:
            raise DataError(f"images must be uint8 (N, H, W, C), got {self.x.dtype} {self.x.shape}")
        if self.y.shape != (self.x.shape[0],):
            raise DataError(f"{self.x.shape[0]} images but labels of shape {self.y.shape}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index: np.ndarray) -> ImageSet:
        return ImageSet(self.x[index], self.y[index])


@dataclass(frozen=True)
class DataSplits:
    """Train (weights), val (search, BN recalibration, calibration) and test (final reports only)."""

    name: str
    train: ImageSet
    val: ImageSet
    test: ImageSet
    classes: tuple[str, ...]
    source: str = ""
    """What ``load_dataset`` takes to load these splits again: a bundled name or an absolute path."""
    split_seed: int = 0
    """The seed that carved the validation split off the training images (part of the data's
    identity: a continued run must keep it, or its new validation images were trained on)."""
    mirror_safe: bool = True
    """Whether a left-right mirror keeps an image's label, so training may flip images: true for
    photos, false for keyword log-mel images, whose columns are frequencies (flipping them cost a
    DS-CNN 12 points of test accuracy; README "Keyword spotting")."""

    @cached_property
    def fingerprint(self) -> str:
        """Content hash of every split's pixels and labels, and the class names: a checkpoint
        records it so that later commands notice when they are handed other data. Hashed once
        per splits object (tens of MB)."""
        h = hashlib.sha256("\n".join(self.classes).encode())
        for part in (self.train, self.val, self.test):
            for array in (part.x, part.y.astype("<i8")):
                h.update(str(array.shape).encode())
                h.update(np.ascontiguousarray(array).tobytes())
        return h.hexdigest()[:16]

    @property
    def in_channels(self) -> int:
        return int(self.train.x.shape[3])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.train.x.shape[1]), int(self.train.x.shape[2])


def check_labels(y: np.ndarray, num_classes: int, where: str) -> np.ndarray:
    """Return ``y`` as int64 after checking it is integral and within ``[0, num_classes)``."""
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where}: labels must be a 1-D integer array, got {y.dtype} {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise DataError(f"{where}: labels must lie in [0, {num_classes}), found {y.min()}..{y.max()}")
    return y.astype(np.int64)


def carve_validation(train: ImageSet, val_size: int, seed: int) -> tuple[ImageSet, ImageSet]:
    """Split ``val_size`` images off ``train`` with a fixed permutation (same seed, same split)."""
    n = len(train)
    if not 0 < val_size < n:
        raise DataError(f"validation size {val_size} must be between 1 and {n - 1} for {n} training images")
    order = np.random.default_rng(seed).permutation(n)
    return train.subset(np.sort(order[val_size:])), train.subset(np.sort(order[:val_size]))
