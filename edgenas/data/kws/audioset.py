"""Keyword audio in memory: int16 clips of one fixed length, labels and speakers, in fixed splits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import DataError


@dataclass(frozen=True)
class AudioSet:
    """Clips ``audio`` int16 ``(N, samples)``, labels ``y`` int64 ``(N,)``, and per clip its
    ``speaker`` and its ``file`` (path relative to the dataset root), to trace a mistake back."""

    audio: np.ndarray
    y: np.ndarray
    speakers: tuple[str, ...]
    files: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.audio.ndim != 2 or self.audio.dtype != np.int16:
            raise DataError(f"audio must be int16 (N, samples), got {self.audio.dtype} {self.audio.shape}")
        n = self.audio.shape[0]
        if self.y.shape != (n,) or len(self.speakers) != n or len(self.files) != n:
            raise DataError(f"{n} clips but {self.y.shape[0]} labels, {len(self.speakers)} speakers, "
                            f"{len(self.files)} file names")

    def __len__(self) -> int:
        return int(self.audio.shape[0])


@dataclass(frozen=True)
class AudioSplits:
    """Train, val and test clips with disjoint speakers, and the class names (index = label)."""

    name: str
    train: AudioSet
    val: AudioSet
    test: AudioSet
    classes: tuple[str, ...]
    sample_rate_hz: int
