"""Loading ROOT/<label>/*.wav (the Speech Commands layout): splits by speaker, padding and
cropping, pooling into _unknown_, silence from _background_noise_, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgenas.data.kws import load_keyword_folder
from edgenas.data.kws.folder import fit_clip, hashed_split
from edgenas.data.kws.wav import write_wav
from edgenas.errors import DataError


def _clip(value: int, n: int = 16_000) -> np.ndarray:
    return np.full(n, value, np.int16)


def _speaker_in(split: str) -> str:
    """A speaker name that the hash puts in ``split`` (with the default 0.1 / 0.1 fractions)."""
    return next(f"spk{i}" for i in range(1000) if hashed_split(f"spk{i}", 0.1, 0.1) == split)


def _layout(root: Path, words: tuple[str, ...] = ("yes", "no", "bed")) -> None:
    for word in words:
        (root / word).mkdir(parents=True)
        for split in ("train", "val", "test"):
            write_wav(root / word / f"{_speaker_in(split)}_nohash_0.wav", _clip(100 + len(word)), 16_000)


def test_splits_follow_the_speaker_hash_and_unknown_words_are_pooled(tmp_path):
    _layout(tmp_path)
    splits = load_keyword_folder(tmp_path, keywords=["yes", "no"])
    assert splits.classes == ("_unknown_", "no", "yes")
    assert set(splits.train.speakers) == {_speaker_in("train")}
    assert set(splits.test.speakers) == {_speaker_in("test")}
    assert sorted(splits.test.y.tolist()) == [0, 1, 2]
    everything = load_keyword_folder(tmp_path)
    assert everything.classes == ("bed", "no", "yes")


def test_list_files_override_the_hash(tmp_path):
    _layout(tmp_path)
    moved = f"yes/{_speaker_in('train')}_nohash_0.wav"
    (tmp_path / "testing_list.txt").write_text(moved + "\n")
    (tmp_path / "validation_list.txt").write_text(f"no/{_speaker_in('train')}_nohash_0.wav\n")
    splits = load_keyword_folder(tmp_path)
    assert splits.test.files == (moved,)


def test_short_clips_are_padded_and_long_ones_cut_to_their_loudest_second():
    short = fit_clip(_clip(5, 8_000), 16_000)
    assert short.size == 16_000 and short[:8_000].all() and not short[8_000:].any()
    long = np.zeros(24_000, np.int16)
    long[10_000:12_000] = 1000
    cut = fit_clip(long, 16_000)
    assert cut.size == 16_000 and (cut == 1000).sum() == 2_000


def test_background_noise_becomes_silence(tmp_path):
    _layout(tmp_path, ("yes",))
    (tmp_path / "_background_noise_").mkdir()
    write_wav(tmp_path / "_background_noise_" / f"{_speaker_in('train')}.wav", _clip(7, 40_000), 16_000)
    splits = load_keyword_folder(tmp_path, keywords=["yes"])
    assert splits.classes == ("_silence_", "yes")
    assert int((splits.train.y == 0).sum()) + int((splits.val.y == 0).sum()) + int((splits.test.y == 0).sum()) == 2


def test_wrong_sample_rate_is_refused_with_the_sox_command(tmp_path):
    _layout(tmp_path)
    write_wav(tmp_path / "yes" / "odd_nohash_0.wav", _clip(1, 8_000), 8_000)
    with pytest.raises(DataError, match="8000 Hz, not 16000 Hz") as info:
        load_keyword_folder(tmp_path)
    assert "sox" in info.value.hint


def test_empty_folders_and_missing_keywords_are_refused(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_keyword_folder(tmp_path / "nope")
    with pytest.raises(DataError, match="no label folders"):
        load_keyword_folder(tmp_path)
    _layout(tmp_path)
    with pytest.raises(DataError, match=r"no folders for keywords \['stop'\]"):
        load_keyword_folder(tmp_path, keywords=["yes", "stop"])
    (tmp_path / "up").mkdir()
    with pytest.raises(DataError, match="holds no .wav files"):
        load_keyword_folder(tmp_path)


def test_a_split_without_speakers_is_refused(tmp_path):
    (tmp_path / "yes").mkdir()
    write_wav(tmp_path / "yes" / f"{_speaker_in('train')}_nohash_0.wav", _clip(1), 16_000)
    with pytest.raises(DataError, match="split is empty"):
        load_keyword_folder(tmp_path)
