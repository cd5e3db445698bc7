"""User datasets: an image folder (``class/xxx.png``) or an ``.npz`` file.

Images may be grayscale or RGB and of any size; they are resized once here to a common
``store_size`` (the space's largest resolution) and later to each sampled resolution on the fly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .dataset import DataSplits, ImageSet, carve_validation, check_labels

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".webp"}


def _to_uint8_nhwc(x: np.ndarray, where: str) -> np.ndarray:
    """Accept (N,H,W), (N,H,W,C) with C in {1,3}, uint8 or float in [0,1]; return uint8 NHWC."""
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[3] not in (1, 3):
        raise DataError(f"{where}: images must be (N, H, W) or (N, H, W, 1|3), got shape {x.shape}")
    if x.dtype == np.uint8:
        return x
    if np.issubdtype(x.dtype, np.floating) and x.size and 0.0 <= float(x.min()) and float(x.max()) <= 1.0:
        return np.round(x * 255).astype(np.uint8)
    raise DataError(f"{where}: images must be uint8 or floats in [0, 1], got {x.dtype}")


def load_npz(path: Path, *, val_size: int | None = None, seed: int = 0) -> DataSplits:
    """Load ``x_train, y_train, x_test, y_test`` (optional ``classes``) from an ``.npz``.

    An optional boolean ``mirror_safe`` says whether a left-right mirror keeps an image's label
    (default true, as for photos); save ``mirror_safe=False`` for digits, text or spectrograms,
    which training must then not flip."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"dataset file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read {path} as .npz: {exc}", hint="save with numpy.savez (no object arrays)") from exc
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise DataError(f"{path} lacks arrays {missing}", hint="expected x_train, y_train, x_test, y_test")
    x_train = _to_uint8_nhwc(arrays["x_train"], f"{path}:x_train")
    x_test = _to_uint8_nhwc(arrays["x_test"], f"{path}:x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{path}: train images {x_train.shape[1:]} and test images {x_test.shape[1:]} differ in shape")
    num_classes = int(max(arrays["y_train"].max(initial=0), arrays["y_test"].max(initial=0))) + 1
    classes = tuple(str(c) for c in arrays["classes"]) if "classes" in arrays else tuple(str(i) for i in range(num_classes))
    train = ImageSet(x_train, check_labels(arrays["y_train"], len(classes), f"{path}:y_train"))
    test = ImageSet(x_test, check_labels(arrays["y_test"], len(classes), f"{path}:y_test"))
    train, val = carve_validation(train, val_size or max(1, len(train) // 10), seed)
    return DataSplits(path.stem, train, val, test, classes, mirror_safe=_mirror_safe(arrays, path))


def _mirror_safe(arrays: dict[str, np.ndarray], path: Path) -> bool:
    flag = arrays.get("mirror_safe")
    if flag is None:
        return True
    if flag.size != 1 or flag.dtype.kind not in "bi" or int(flag.reshape(())) not in (0, 1):
        raise DataError(f"{path}: mirror_safe must be one boolean, got {flag.dtype} of shape {flag.shape}",
                        hint="numpy.savez(..., mirror_safe=False)")
    return bool(flag.reshape(()))


def _read_image(path: Path, size: int, rgb: bool) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB" if rgb else "L").resize((size, size), Image.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError) as exc:
        raise DataError(f"cannot read image {path}: {exc}") from exc
    return arr if rgb else arr[..., None]


def _scan_classes(root: Path) -> dict[str, list[Path]]:
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{root} has no class folders", hint="lay images out as ROOT/<class>/<image>.png")
    found = {}
    for cdir in classes:
        files = sorted(p for p in cdir.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"class folder {cdir} holds no images", hint=f"supported: {sorted(IMAGE_SUFFIXES)}")
        found[cdir.name] = files
    return found


def load_image_folder(
    root: Path, *, store_size: int, val_size: int | None = None, test_fraction: float = 0.15, seed: int = 0
) -> DataSplits:
    """Load ``root/<class>/*.png`` (or ``root/train/<class>`` + ``root/test/<class>``).

    Without a ``test/`` folder, ``test_fraction`` of each class is held out with a fixed seed.
    Images are RGB if any image is colour, else grayscale.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist")
    has_split = (root / "train").is_dir() and (root / "test").is_dir()
    train_files = _scan_classes(root / "train" if has_split else root)
    test_files = _scan_classes(root / "test") if has_split else None
    classes = tuple(train_files)
    if test_files is not None and tuple(test_files) != classes:
        raise DataError(f"{root}: train classes {classes} differ from test classes {tuple(test_files)}")
    from PIL import Image

    sample = next(iter(train_files.values()))[0]
    with Image.open(sample) as img:
        rgb = img.mode not in ("L", "1", "I", "I;16", "P")

    def load(files: dict[str, list[Path]]) -> ImageSet:
        xs, ys = [], []
        for label, name in enumerate(classes):
            for p in files[name]:
                xs.append(_read_image(p, store_size, rgb))
                ys.append(label)
        return ImageSet(np.stack(xs), np.asarray(ys, dtype=np.int64))

    everything = load(train_files)
    if test_files is not None:
        test = load(test_files)
        train = everything
    else:
        rng = np.random.default_rng(seed)
        test_idx = []
        for label in range(len(classes)):
            members = np.flatnonzero(everything.y == label)
            n_test = max(1, int(round(len(members) * test_fraction))) if len(members) > 1 else 0
            test_idx.extend(rng.permutation(members)[:n_test].tolist())
        mask = np.zeros(len(everything), dtype=bool)
        mask[test_idx] = True
        train, test = everything.subset(np.flatnonzero(~mask)), everything.subset(np.flatnonzero(mask))
    train, val = carve_validation(train, val_size or max(1, len(train) // 10), seed)
    return DataSplits(root.name, train, val, test, classes)
