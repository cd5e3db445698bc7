"""Keyword clips as the images the rest of edgenas trains on: each clip's uint8 log-mel features
(time x mel, one channel), computed by the same integer front end the firmware runs in C."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...audio import log_mel_u8
from ..dataset import DataSplits, ImageSet
from .audioset import AudioSet, AudioSplits
from .folder import load_keyword_folder


ORDER_SEED = 0
"""Seed of the fixed order the clips of each split are put in."""


def _images(part: AudioSet) -> ImageSet:
    order = np.random.default_rng(ORDER_SEED).permutation(len(part))
    return ImageSet(log_mel_u8(part.audio[order])[..., None], part.y[order])


def feature_splits(audio: AudioSplits, *, source: str = "") -> DataSplits:
    """``audio`` as a ``DataSplits`` of uint8 ``(N, 49, 40, 1)`` log-mel images (frames x mel bins
    for one-second clips at 16 kHz), with the same splits and classes.

    Each split is in a fixed shuffled order, not the folder's: batch-norm recalibration, int8
    calibration and ``--eval-images`` take the first images of a split, which in folder order would
    be one or two labels."""
    return DataSplits(audio.name, _images(audio.train), _images(audio.val), _images(audio.test), audio.classes,
                      source=source, mirror_safe=False)


def load_keyword_dataset(root: Path, *, keywords: Sequence[str] | None = None) -> DataSplits:
    """``ROOT/<label>/*.wav`` (ours or Speech Commands') straight to log-mel image splits."""
    root = Path(root)
    return feature_splits(load_keyword_folder(root, keywords=keywords), source=str(root.resolve()))


def test_clips(root: Path, indices: Sequence[int], *, keywords: Sequence[str] | None = None) -> AudioSet:
    """The raw clips behind test images ``indices`` of ``load_dataset(ROOT)`` (the order
    :func:`feature_splits` puts them in), so firmware that takes audio can be checked on the very
    clips the int8 model is scored on. ``keywords``: as the loader's (default ``ROOT/keywords.txt``)."""
    from .cache import read_keywords

    root = Path(root)
    test = load_keyword_folder(root, keywords=keywords if keywords is not None else read_keywords(root)).test
    order = np.random.default_rng(ORDER_SEED).permutation(len(test))[np.asarray(indices, dtype=np.int64)]
    return AudioSet(test.audio[order], test.y[order], tuple(test.speakers[i] for i in order),
                    tuple(test.files[i] for i in order))
