"""Datasets: Fashion-MNIST from Debian, user folders and .npz files, a synthetic set for tests."""

from .batches import augment, augmented_epoch, iterate, resize, to_device, to_tensor
from .dataset import DataSplits, ImageSet, carve_validation
from .fashion_mnist import load_fashion_mnist, read_idx
from .registry import data_record, data_seed, load_dataset, load_recorded_dataset
from .synthetic import make_synthetic
from .user import load_image_folder, load_npz

__all__ = [
    "DataSplits",
    "ImageSet",
    "augment",
    "augmented_epoch",
    "carve_validation",
    "iterate",
    "data_record",
    "data_seed",
    "load_dataset",
    "load_recorded_dataset",
    "load_fashion_mnist",
    "load_image_folder",
    "load_npz",
    "make_synthetic",
    "read_idx",
    "resize",
    "to_device",
    "to_tensor",
]
