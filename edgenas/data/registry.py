"""Resolve a ``--data`` argument: a bundled dataset name or a path to the user's own data."""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from .dataset import DataSplits
from .fashion_mnist import load_fashion_mnist
from .synthetic import make_synthetic
from .user import load_image_folder, load_npz

BUNDLED = ("fashion-mnist", "synthetic")


def load_dataset(spec: str, *, store_size: int = 48, seed: int = 0) -> DataSplits:
    """``fashion-mnist``, ``synthetic``, a ``.npz`` file, or an image folder."""
    if spec == "fashion-mnist":
        return load_fashion_mnist(seed=seed)
    if spec == "synthetic":
        return make_synthetic(seed=seed)
    path = Path(spec)
    if path.suffix == ".npz":
        return load_npz(path, seed=seed)
    if path.is_dir():
        return load_image_folder(path, store_size=store_size, seed=seed)
    raise DataError(
        f"unknown dataset {spec!r}: not a bundled name and no such file or folder",
        hint=f"use one of {', '.join(BUNDLED)}, a .npz with x_train/y_train/x_test/y_test, or a folder ROOT/<class>/*.png",
    )
