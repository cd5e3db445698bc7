"""Resolve a ``--data`` argument: a bundled dataset name or a path to the user's own data."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..errors import DataError
from .dataset import DataSplits
from .fashion_mnist import load_fashion_mnist
from .kws.cache import is_keyword_folder, load_keyword_features
from .synthetic import make_synthetic
from .user import load_image_folder, load_npz

BUNDLED = ("fashion-mnist", "synthetic")


def load_dataset(spec: str, *, store_size: int = 48, seed: int = 0) -> DataSplits:
    """``fashion-mnist``, ``synthetic``, a ``.npz`` file, a keyword folder, or an image folder.

    A keyword folder (``ROOT/<label>/*.wav``, the Speech Commands layout) becomes uint8 ``(N, 49,
    40, 1)`` log-mel images, cached by content (:mod:`edgenas.data.kws.cache`); its splits come
    from its list files or speakers, so ``seed`` carves nothing there.

    The splits remember where they came from as an absolute path (``DataSplits.source``), so a
    checkpoint trained on them finds them again from any working folder."""
    if spec in BUNDLED:
        splits = load_fashion_mnist(seed=seed) if spec == "fashion-mnist" else make_synthetic(seed=seed)
        return replace(splits, source=spec, split_seed=seed)
    path = Path(spec).expanduser()
    if path.suffix == ".npz":
        return replace(load_npz(path, seed=seed), source=str(path.resolve()), split_seed=seed)
    if is_keyword_folder(path):
        return replace(load_keyword_features(path), split_seed=seed)
    if path.is_dir():
        return replace(load_image_folder(path, store_size=store_size, seed=seed), source=str(path.resolve()),
                       split_seed=seed)
    raise DataError(
        f"unknown dataset {spec!r}: not a bundled name and no such file or folder",
        hint=f"use one of {', '.join(BUNDLED)}, a .npz with x_train/y_train/x_test/y_test, a folder ROOT/<class>/*.png, "
             "or a keyword folder ROOT/<keyword>/*.wav",
    )


def data_record(splits: DataSplits) -> dict[str, str | int]:
    """What a checkpoint keeps about its training data: name, where to load it, the seed of its
    validation split, content hash."""
    return {"dataset": splits.name, "data_source": splits.source, "data_seed": splits.split_seed,
            "data_fingerprint": splits.fingerprint}


def data_seed(meta: dict) -> int:
    """The validation-split seed of a checkpoint's data (older checkpoints used the run's seed)."""
    return int(meta.get("data_seed", meta.get("seed", 0)))


def load_recorded_dataset(meta: dict, data: str | None = None, *, allow_other: bool = False) -> DataSplits:
    """The dataset a checkpoint (``meta``) was trained on, or ``data`` when given.

    Checkpoints record the data's absolute path and content hash (``data_record``); older ones
    only its name. Data whose hash differs from the recorded one is refused unless
    ``allow_other``: evaluating a supernet on data it never saw gives numbers that mean nothing.
    """
    recorded = meta.get("data_source") or meta.get("dataset") or "fashion-mnist"
    source = data or recorded
    try:
        splits = load_dataset(source, seed=data_seed(meta))
    except DataError as exc:
        if data is None:
            raise DataError(f"cannot load the supernet's training data {recorded!r}: {exc}",
                            hint="pass --data with the dataset it was trained on") from exc
        raise
    expected = meta.get("data_fingerprint")
    if expected and not allow_other and splits.fingerprint != expected:
        raise DataError(
            f"{source!r} is not the data the supernet was trained on ({recorded!r}): its content differs",
            hint="pass --data with the training data, or --other-data to use this data anyway",
        )
    return splits
