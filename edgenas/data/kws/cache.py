"""Keyword folders as ``--data``: log-mel features computed once per folder content and cached.

Computing the features of 9,600 clips takes about a minute on a loaded 2-core machine, and every
command that takes ``--data`` (train, predictor collect, extract and its adaptation) loads the
data again. So the features are kept in ``<cache>/kws-features/<folder>-<key>.npz``, where the key
hashes every byte the loader reads (clips, list files, ``keywords.txt``) and the front end's output
on fixed probe clips: an edited clip or a changed front end gets a fresh entry, never a stale one.
Hashing 300 MB of clips costs about a second; a cache hit then skips decoding and the front end.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...audio import log_mel_u8
from ...errors import DataError
from ..dataset import DataSplits, ImageSet
from .features import feature_splits
from .folder import load_keyword_folder

CACHE_SCHEMA = 1
"""Bumped when the cached file's layout or meaning changes."""
KEYWORDS_FILE = "keywords.txt"
"""Optional ``ROOT/keywords.txt``: the words kept as classes (others pool into ``_unknown_``), so a
Speech Commands folder with 35 words can be trained as the usual 12-class task through ``--data``."""
LIST_FILES = ("validation_list.txt", "testing_list.txt", KEYWORDS_FILE)


def cache_dir() -> Path:
    """``$EDGENAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/edgenas``, else ``~/.cache/edgenas``."""
    env = os.environ.get("EDGENAS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgenas"


def is_keyword_folder(path: Path) -> bool:
    """True for the Speech Commands layout: a folder whose label folders hold ``.wav`` files."""
    path = Path(path)
    return path.is_dir() and next(path.glob("*/*.wav"), None) is not None


def read_keywords(root: Path) -> tuple[str, ...] | None:
    """The words listed in ``root/keywords.txt`` (whitespace-separated), or None without the file.

    Raises:
        DataError: the file lists no word.
    """
    path = Path(root) / KEYWORDS_FILE
    if not path.is_file():
        return None
    words = tuple(dict.fromkeys(path.read_text().split()))
    if not words:
        raise DataError(f"{path} lists no keyword", hint="one word per line, each the name of a label folder")
    return words


def _frontend_identity() -> bytes:
    """The front end's output on fixed clips (noise at three levels, a full-scale square wave):
    any change to its arithmetic or tables changes these bytes, so cached features follow it."""
    rng = np.random.default_rng(20231)
    noise = rng.standard_normal(16_000)
    square = np.where(np.arange(16_000) % 37 < 18, 32767, -32768)
    probes = np.stack([noise * 30, noise * 3000, np.clip(noise * 40000, -32768, 32767), square]).astype(np.int16)
    return log_mel_u8(probes).tobytes()


def folder_key(root: Path) -> str:
    """Hash of every file the loader reads under ``root`` (path and bytes), the cache schema and
    the front end's identity."""
    root = Path(root)
    h = hashlib.sha256(f"kws-features {CACHE_SCHEMA}\n".encode())
    h.update(hashlib.sha256(_frontend_identity()).digest())
    files = sorted(root.glob("*/*.wav")) + [root / n for n in LIST_FILES if (root / n).is_file()]
    for path in files:
        h.update(f"{path.relative_to(root).as_posix()}\n".encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:20]


def _save(path: Path, splits: DataSplits, key: str) -> None:
    """Write atomically: a killed run or a concurrent one never leaves half a file under the name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"{part}_{a}": getattr(getattr(splits, part), a) for part in ("train", "val", "test") for a in "xy"}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.partial")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, classes=np.asarray(splits.classes), key=np.asarray(key), **arrays)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path, key: str, name: str, source: str) -> DataSplits | None:
    """The cached splits, or None when the file is unreadable or holds another key."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if str(f["key"]) != key:
                return None
            parts = [ImageSet(f[f"{p}_x"], f[f"{p}_y"].astype(np.int64)) for p in ("train", "val", "test")]
            classes = tuple(str(c) for c in f["classes"])
    except (OSError, ValueError, KeyError, DataError):
        return None
    return DataSplits(name, *parts, classes, source=source, mirror_safe=False)


def load_keyword_features(root: Path, *, keywords: Sequence[str] | None = None,
                          cache: Path | None = None) -> DataSplits:
    """``ROOT/<label>/*.wav`` as uint8 ``(N, 49, 40, 1)`` log-mel splits, from the cache when it
    holds this content (see the module docstring), else computed and cached.

    Args:
        keywords: the classes to keep (default: ``ROOT/keywords.txt``, else every label folder).
        cache: the cache folder (default: :func:`cache_dir`).
    """
    root = Path(root).resolve()
    if not is_keyword_folder(root):
        raise DataError(f"{root} is not a keyword folder: no ROOT/<label>/*.wav files",
                        hint="lay clips out as ROOT/<keyword>/<clip>.wav (16-bit mono, 16 kHz)")
    if keywords is None:
        keywords = read_keywords(root)
    keywords = tuple(keywords) if keywords is not None else None
    key = hashlib.sha256(f"{folder_key(root)}\n{keywords!r}".encode()).hexdigest()[:20]
    path = (cache or cache_dir()) / "kws-features" / f"{root.name}-{key}.npz"
    if path.is_file() and (hit := _load(path, key, root.name, str(root))) is not None:
        return hit
    splits = feature_splits(load_keyword_folder(root, keywords=keywords), source=str(root))
    _save(path, splits, key)
    return splits

