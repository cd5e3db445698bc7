import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from edgenas.data import (
    augment,
    augmented_epoch,
    iterate,
    load_dataset,
    load_fashion_mnist,
    load_image_folder,
    load_npz,
    make_synthetic,
    read_idx,
    resize,
    to_device,
)
from edgenas.data.fashion_mnist import DEFAULT_DIR
from edgenas.errors import DataError


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


def test_idx_reader_round_trip_and_truncation(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.gz"), arr)
    raw = gzip.decompress((tmp_path / "a.gz").read_bytes())
    (tmp_path / "b").write_bytes(raw[:-3])
    with pytest.raises(DataError, match="bytes follow"):
        read_idx(tmp_path / "b")


@pytest.mark.skipif(not DEFAULT_DIR.exists(), reason="dataset-fashion-mnist not installed")
@pytest.mark.slow
def test_fashion_mnist_splits_are_real_and_fixed():
    d = load_fashion_mnist(seed=0)
    assert (len(d.train), len(d.val), len(d.test)) == (55000, 5000, 10000)
    assert d.train.x.shape[1:] == (28, 28, 1) and d.num_classes == 10
    assert np.bincount(d.test.y).tolist() == [1000] * 10
    again = load_fashion_mnist(seed=0)
    np.testing.assert_array_equal(d.val.y, again.val.y)


def test_missing_fashion_mnist_gives_hint(tmp_path):
    with pytest.raises(DataError) as info:
        load_fashion_mnist(tmp_path)
    assert "apt-get install dataset-fashion-mnist" in info.value.hint


def test_npz_loader_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (40, 20, 20, 3), dtype=np.uint8)
    y = rng.integers(0, 3, 40)
    np.savez(tmp_path / "ok.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    d = load_npz(tmp_path / "ok.npz")
    assert d.in_channels == 3 and d.num_classes == 3 and len(d.train) + len(d.val) == 40
    np.savez(tmp_path / "shape.npz", x_train=x, y_train=y, x_test=x[:10, :10], y_test=y[:10])
    with pytest.raises(DataError, match="differ in shape"):
        load_npz(tmp_path / "shape.npz")
    np.savez(tmp_path / "labels.npz", x_train=x, y_train=y[:5], x_test=x[:10], y_test=y[:10])
    with pytest.raises(DataError, match="labels"):
        load_npz(tmp_path / "labels.npz")
    np.savez(tmp_path / "missing.npz", x_train=x, y_train=y)
    with pytest.raises(DataError, match="lacks"):
        load_npz(tmp_path / "missing.npz")
    with pytest.raises(DataError, match="does not exist"):
        load_npz(tmp_path / "nope.npz")


def test_npz_says_whether_training_may_mirror(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (20, 8, 8), dtype=np.uint8)
    y = rng.integers(0, 2, 20)
    arrays = dict(x_train=x, y_train=y, x_test=x[:5], y_test=y[:5])
    np.savez(tmp_path / "plain.npz", **arrays)
    np.savez(tmp_path / "digits.npz", **arrays, mirror_safe=np.array(False))
    np.savez(tmp_path / "photos.npz", **arrays, mirror_safe=np.array(True))
    np.savez(tmp_path / "bad.npz", **arrays, mirror_safe=np.array([True, False]))
    assert load_npz(tmp_path / "plain.npz").mirror_safe
    assert not load_npz(tmp_path / "digits.npz").mirror_safe
    assert load_npz(tmp_path / "photos.npz").mirror_safe
    with pytest.raises(DataError, match="mirror_safe must be one boolean"):
        load_npz(tmp_path / "bad.npz")


def test_image_folder_loader(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(8):
            size = 30 + i  # mixed sizes are resized
            Image.fromarray(rng.integers(0, 255, (size, size), dtype=np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    d = load_image_folder(tmp_path / "imgs", store_size=24)
    assert d.classes == ("cat", "dog") and d.in_channels == 1
    assert d.train.x.shape[1:] == (24, 24, 1)
    assert len(d.train) + len(d.val) + len(d.test) == 16
    (tmp_path / "imgs" / "empty").mkdir()
    with pytest.raises(DataError, match="holds no images"):
        load_image_folder(tmp_path / "imgs", store_size=24)
    with pytest.raises(DataError, match="does not exist"):
        load_image_folder(tmp_path / "none", store_size=24)


def test_load_dataset_unknown_name():
    with pytest.raises(DataError, match="unknown dataset"):
        load_dataset("cifar-1000")


def test_batches_resize_and_augment_are_deterministic():
    d = make_synthetic(size=16)
    x, y = next(iterate(d.train, 8))
    assert x.shape == (8, 1, 16, 16) and float(x.max()) <= 1.0
    assert resize(x, 24).shape == (8, 1, 24, 24)
    a = augment(x, 20, torch.Generator().manual_seed(1))
    b = augment(x, 20, torch.Generator().manual_seed(1))
    assert a.shape == (8, 1, 20, 20) and torch.equal(a, b)
    # Identity transform reproduces a plain resize.
    ident = augment(x, 24, torch.Generator().manual_seed(0), shift=0.0, flip=False)
    assert torch.allclose(ident, resize(x, 24), atol=1e-5)


def test_device_epoch_draws_what_per_batch_augmentation_draws():
    """The staged epoch (one copy per epoch, for GPUs) yields the very batches of iterate + augment."""
    d = make_synthetic(size=12)
    images, labels = to_device(d.train, "cpu")
    staged = list(augmented_epoch(images, labels, 7, 16, shuffle_generator=torch.Generator().manual_seed(3),
                                  augment_generator=torch.Generator().manual_seed(4), steps=3))
    aug = torch.Generator().manual_seed(4)
    plain = [(augment(x, 16, aug), y) for _, (x, y) in
             zip(range(3), iterate(d.train, 7, shuffle_generator=torch.Generator().manual_seed(3)))]
    assert len(staged) == 3
    for (xa, ya), (xb, yb) in zip(staged, plain):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)
