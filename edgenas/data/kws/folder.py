"""A keyword dataset from a folder in the Speech Commands layout: ``ROOT/<label>/*.wav``.

Used for the synthetic dataset this package builds and for a user's own recordings alike.
Splits come from ``validation_list.txt`` / ``testing_list.txt`` when the folder has them (as
Speech Commands and our builder write them); otherwise from a hash of the speaker, which is the
file name's part before ``_nohash_`` (the whole stem when there is none), so one speaker's clips
never straddle train and test and adding files does not move others between splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...errors import DataError
from .audioset import AudioSet, AudioSplits
from .vocabulary import SILENCE, UNKNOWN
from .wav import read_wav

BACKGROUND = "_background_noise_"
"""Speech Commands' folder of long noise recordings: cut into 1 s ``_silence_`` clips when the
folder has no ``_silence_`` of its own."""


def speaker_of(path: Path) -> str:
    """The speaker in a Speech Commands file name (``<speaker>_nohash_<n>.wav``), else the stem."""
    return path.stem.split("_nohash_")[0]


def hashed_split(speaker: str, val_fraction: float, test_fraction: float) -> str:
    """A speaker's split from a stable hash of its name (independent of the other files)."""
    bucket = int.from_bytes(hashlib.sha1(speaker.encode()).digest()[:8], "big") / 2**64
    return "test" if bucket < test_fraction else "val" if bucket < test_fraction + val_fraction else "train"


def fit_clip(samples: np.ndarray, clip_samples: int) -> np.ndarray:
    """Pad a short clip with zeros at the end (Speech Commands clips can be shorter than 1 s);
    cut a long one to its loudest ``clip_samples`` window, where the word most likely is."""
    if samples.size <= clip_samples:
        return np.pad(samples, (0, clip_samples - samples.size))
    energy = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[clip_samples:] - energy[:-clip_samples]))
    return samples[start: start + clip_samples]


def _read_list(root: Path, name: str) -> set[str] | None:
    path = root / name
    return set(path.read_text().split()) if path.is_file() else None


def load_keyword_folder(
    root: Path, *, keywords: Sequence[str] | None = None, sample_rate_hz: int = 16_000, clip_samples: int = 16_000,
    val_fraction: float = 0.1, test_fraction: float = 0.1,
) -> AudioSplits:
    """Load ``root/<label>/*.wav`` into speaker-disjoint splits.

    Args:
        keywords: the labels to keep as classes; every other word folder is pooled into
            ``_unknown_``. None keeps every folder as its own class.
        val_fraction, test_fraction: shares of speakers, used only without the list files.

    Raises:
        DataError: no folder, no label folders, a label folder without WAV files, a file at another
            sample rate or not 16-bit mono, an empty split, or a keyword with no folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"keyword folder {root} does not exist", hint="lay clips out as ROOT/<keyword>/<clip>.wav")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and p.name != BACKGROUND)
    if not folders:
        raise DataError(f"{root} has no label folders", hint="lay clips out as ROOT/<keyword>/<clip>.wav")
    names = [p.name for p in folders]
    if keywords is not None:
        missing = sorted(set(keywords) - set(names))
        if missing:
            raise DataError(f"{root} has no folders for keywords {missing}", hint=f"found: {', '.join(names)}")
        pooled = [n for n in names if n not in keywords and n not in (SILENCE, UNKNOWN)]
        classes = tuple(sorted({*keywords, *([UNKNOWN] if pooled or UNKNOWN in names else []),
                                *([SILENCE] if SILENCE in names or (root / BACKGROUND).is_dir() else [])}))
    else:
        classes = tuple(sorted({*names, *([SILENCE] if (root / BACKGROUND).is_dir() else [])}))

    val_list, test_list = _read_list(root, "validation_list.txt"), _read_list(root, "testing_list.txt")
    parts: dict[str, tuple[list, list, list, list]] = {s: ([], [], [], []) for s in ("train", "val", "test")}

    def add(clip: np.ndarray, label: str, speaker: str, rel: str) -> None:
        if val_list is not None or test_list is not None:
            split = "val" if rel in (val_list or ()) else "test" if rel in (test_list or ()) else "train"
        else:
            split = hashed_split(speaker, val_fraction, test_fraction)
        for bucket, value in zip(parts[split], (clip, classes.index(label), speaker, rel)):
            bucket.append(value)

    for folder in folders:
        label = folder.name if keywords is None or folder.name in classes else UNKNOWN
        files = sorted(folder.glob("*.wav"))
        if not files:
            raise DataError(f"label folder {folder} holds no .wav files", hint="remove it or add 16-bit mono clips")
        for f in files:
            add(fit_clip(read_wav(f, sample_rate_hz), clip_samples), label, speaker_of(f), f"{folder.name}/{f.name}")
    if (root / BACKGROUND).is_dir() and not (root / SILENCE).is_dir():
        for f in sorted((root / BACKGROUND).glob("*.wav")):
            samples = read_wav(f, sample_rate_hz)
            for k in range(samples.size // clip_samples):
                add(samples[k * clip_samples: (k + 1) * clip_samples], SILENCE, f"{f.stem}-{k}",
                    f"{BACKGROUND}/{f.name}#{k}")

    def as_set(split: str) -> AudioSet:
        audio, y, speakers, files = parts[split]
        if not audio:
            raise DataError(f"{root}: the {split} split is empty",
                            hint="add clips from more speakers (files named <speaker>_nohash_<n>.wav), or "
                                 "list them in validation_list.txt / testing_list.txt")
        return AudioSet(np.stack(audio).astype(np.int16), np.asarray(y, dtype=np.int64), tuple(speakers), tuple(files))

    return AudioSplits(root.name, as_set("train"), as_set("val"), as_set("test"), classes, sample_rate_hz)
