"""Fashion-MNIST from Debian's ``dataset-fashion-mnist`` IDX files (never downloaded)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import DataSplits, ImageSet, carve_validation

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot")
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4")}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzipped): magic ``00 00 type ndim``, big-endian dims, data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DataError(f"{path} is not an IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DataError(f"{path}: header says {dims} ({expected} bytes) but {len(raw) - header} bytes follow")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def load_fashion_mnist(root: Path | None = None, *, val_size: int = 5000, seed: int = 0) -> DataSplits:
    """Load the 60k/10k splits and carve ``val_size`` validation images off train."""
    root = Path(root or os.environ.get("EDGENAS_FASHION_MNIST", DEFAULT_DIR))
    files = {
        "train_x": "train-images-idx3-ubyte.gz",
        "train_y": "train-labels-idx1-ubyte.gz",
        "test_x": "t10k-images-idx3-ubyte.gz",
        "test_y": "t10k-labels-idx1-ubyte.gz",
    }
    missing = [name for name in files.values() if not (root / name).exists()]
    if missing:
        raise DataError(
            f"Fashion-MNIST files missing in {root}: {', '.join(missing)}",
            hint="install Debian's package: apt-get install dataset-fashion-mnist (make setup does this)",
        )
    arrays = {key: read_idx(root / name) for key, name in files.items()}
    train = ImageSet(arrays["train_x"][..., None], arrays["train_y"].astype(np.int64))
    test = ImageSet(arrays["test_x"][..., None], arrays["test_y"].astype(np.int64))
    train, val = carve_validation(train, val_size, seed)
    return DataSplits("fashion-mnist", train, val, test, CLASSES)
