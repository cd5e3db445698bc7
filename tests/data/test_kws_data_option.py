"""A keyword folder as ``--data``: detected by its layout, turned into log-mel images once and
cached by content, found again from a checkpoint's record, and recomputed when a clip changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgenas.data import data_record, load_dataset, load_recorded_dataset
from edgenas.data.kws import cache as kws_cache
from edgenas.data.kws.folder import hashed_split
from edgenas.data.kws.wav import write_wav
from edgenas.errors import DataError


def _speaker_in(split: str, k: int = 0) -> str:
    return [f"spk{i}" for i in range(2000) if hashed_split(f"spk{i}", 0.1, 0.1) == split][k]


def write_keyword_folder(root: Path, words: tuple[str, ...] = ("yes", "no", "bed"), per_split: int = 2,
                         seed: int = 0) -> Path:
    """A tiny Speech Commands-style folder: ``per_split`` speakers per split and word, each clip a
    noisy tone whose pitch depends on the word (so the classes differ)."""
    rng = np.random.default_rng(seed)
    t = np.arange(16_000) / 16_000
    for w, word in enumerate(words):
        (root / word).mkdir(parents=True)
        for split in ("train", "val", "test"):
            for k in range(per_split):
                clip = 8000 * np.sin(2 * np.pi * (300 + 500 * w) * t) + rng.normal(0, 500, t.size)
                write_wav(root / word / f"{_speaker_in(split, k)}_nohash_0.wav", clip.astype(np.int16), 16_000)
    return root


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGENAS_CACHE_DIR", str(tmp_path / "cache"))


def test_a_keyword_folder_loads_as_log_mel_images_with_its_own_splits(tmp_path):
    root = write_keyword_folder(tmp_path / "words")
    data = load_dataset(str(root), seed=3)
    assert data.train.x.shape == (6, 49, 40, 1) and data.val.x.shape == (6, 49, 40, 1)
    assert data.classes == ("bed", "no", "yes") and data.source == str(root.resolve()) and data.split_seed == 3
    assert data.name == "words" and data.train.x.std() > 0


def test_features_are_computed_once_then_read_from_the_cache(tmp_path, monkeypatch):
    root = write_keyword_folder(tmp_path / "words")
    first = load_dataset(str(root))
    assert len(list((tmp_path / "cache" / "kws-features").glob("words-*.npz"))) == 1

    def fail(*_a, **_k):
        raise AssertionError("features were computed again")

    monkeypatch.setattr(kws_cache, "feature_splits", fail)
    again = load_dataset(str(root))
    assert again.fingerprint == first.fingerprint and again.classes == first.classes
    assert not first.mirror_safe and not again.mirror_safe  # columns are frequencies: never mirror them


def test_an_edited_clip_gets_fresh_features(tmp_path):
    root = write_keyword_folder(tmp_path / "words")
    before = load_dataset(str(root))
    clip = sorted((root / "yes").glob("*.wav"))[0]
    write_wav(clip, np.zeros(16_000, np.int16), 16_000)
    after = load_dataset(str(root))
    assert after.fingerprint != before.fingerprint
    assert len(list((tmp_path / "cache" / "kws-features").glob("words-*.npz"))) == 2


def test_a_corrupt_cache_file_is_recomputed_not_trusted(tmp_path):
    root = write_keyword_folder(tmp_path / "words")
    first = load_dataset(str(root))
    (entry,) = (tmp_path / "cache" / "kws-features").glob("words-*.npz")
    entry.write_bytes(b"not an npz")
    assert load_dataset(str(root)).fingerprint == first.fingerprint


def test_keywords_txt_keeps_the_listed_words_and_pools_the_rest(tmp_path):
    root = write_keyword_folder(tmp_path / "words")
    (root / "keywords.txt").write_text("yes\nno\n")
    assert load_dataset(str(root)).classes == ("_unknown_", "no", "yes")
    (root / "keywords.txt").write_text("\n")
    with pytest.raises(DataError, match="lists no keyword"):
        load_dataset(str(root))


def test_a_checkpoint_record_finds_the_keyword_folder_again(tmp_path, monkeypatch):
    root = write_keyword_folder(tmp_path / "words")
    meta = data_record(load_dataset(str(root)))
    monkeypatch.chdir(tmp_path)
    assert load_recorded_dataset(meta).fingerprint == meta["data_fingerprint"]


def test_an_image_folder_is_not_taken_for_a_keyword_folder(tmp_path):
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "img" / label).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((8, 8), 40 * i, np.uint8)).save(tmp_path / "img" / label / f"{i}.png")
    assert not kws_cache.is_keyword_folder(tmp_path / "img")
    assert load_dataset(str(tmp_path / "img")).train.x.shape[1:] == (48, 48, 1)


def test_the_first_training_clips_mix_labels_for_calibration(tmp_path):
    """BN recalibration and int8 calibration take a split's first images: in folder order those
    would all be one label."""
    data = load_dataset(str(write_keyword_folder(tmp_path / "words", per_split=4)))
    assert len(set(data.train.y[:4].tolist())) > 1 and sorted(data.train.y.tolist()) != data.train.y.tolist()
