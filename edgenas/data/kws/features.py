"""Keyword clips as the images the rest of edgenas trains on: each clip's uint8 log-mel features
(time x mel, one channel), computed by the same integer front end the firmware runs in C."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ...audio import log_mel_u8
from ..dataset import DataSplits, ImageSet
from .audioset import AudioSet, AudioSplits
from .folder import load_keyword_folder


def _images(part: AudioSet) -> ImageSet:
    return ImageSet(log_mel_u8(part.audio)[..., None], part.y)


def feature_splits(audio: AudioSplits, *, source: str = "") -> DataSplits:
    """``audio`` as a ``DataSplits`` of uint8 ``(N, 49, 40, 1)`` log-mel images (frames x mel bins
    for one-second clips at 16 kHz), with the same splits and classes."""
    return DataSplits(audio.name, _images(audio.train), _images(audio.val), _images(audio.test), audio.classes,
                      source=source)


def load_keyword_dataset(root: Path, *, keywords: Sequence[str] | None = None) -> DataSplits:
    """``ROOT/<label>/*.wav`` (ours or Speech Commands') straight to log-mel image splits."""
    root = Path(root)
    return feature_splits(load_keyword_folder(root, keywords=keywords), source=str(root.resolve()))
