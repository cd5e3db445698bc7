"""The synthetic keyword dataset: byte-identical for a seed, split by speaker, sized as planned,
and clear about what it cannot do."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgenas.data.kws import KwsRecipe, build_keyword_dataset, load_keyword_folder, plan_clips
from edgenas.data.kws import espeak as espeak_mod
from edgenas.data.kws.wav import read_wav
from edgenas.errors import DataError, ToolchainError

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup)")
TINY = KwsRecipe(keywords=("yes", "no"), unknown_words=("cat", "tree"), takes=2, unknown_per_speaker=1,
                 silence_per_speaker=1)
SPEAKERS = ("f3", "m1", "klatt", "whisper")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@needs_espeak
@pytest.mark.slow
def test_same_seed_gives_byte_identical_files_and_another_seed_does_not(tmp_path):
    a = build_keyword_dataset(tmp_path / "a", seed=7, recipe=TINY, speakers=SPEAKERS, workers=2)
    build_keyword_dataset(tmp_path / "b", seed=7, recipe=TINY, speakers=SPEAKERS, workers=1)
    build_keyword_dataset(tmp_path / "c", seed=8, recipe=TINY, speakers=SPEAKERS)
    files_a, files_b = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert files_a == files_b  # also across worker counts
    assert a.clips == 4 * (2 * 2 + 1 + 1) and len([f for f in files_a if f.endswith(".wav")]) == a.clips
    wavs_c = {k: v for k, v in _files(tmp_path / "c").items() if k.endswith(".wav")}
    assert sum(files_a.get(k) != v for k, v in wavs_c.items()) > len(wavs_c) // 2


@needs_espeak
def test_clips_are_one_second_16k_and_test_voices_are_never_trained_on(tmp_path):
    result = build_keyword_dataset(tmp_path / "kws", seed=0, recipe=TINY, speakers=SPEAKERS)
    manifest = json.loads((tmp_path / "kws" / "manifest.json").read_text())
    assert manifest["speakers"] == result.speakers and manifest["clips"] == result.clips
    splits = load_keyword_folder(tmp_path / "kws")
    assert splits.classes == ("_silence_", "_unknown_", "no", "yes")
    train, val, test = (set(s.speakers) for s in (splits.train, splits.val, splits.test))
    assert train and val and test and not (train & test) and not (train & val) and not (val & test)
    assert test == set(result.speakers["test"])
    for part in (splits.train, splits.val, splits.test):
        assert part.audio.shape[1] == 16_000
        counts = np.bincount(part.y, minlength=4)
        assert counts[2] == counts[3] == 2 * len(set(part.speakers))  # two takes of each keyword
    audio = read_wav(tmp_path / "kws" / splits.test.files[0], 16_000)
    assert audio.size == 16_000 and np.abs(audio.astype(int)).max() > 100  # not silence


def test_plan_of_a_speaker_does_not_depend_on_the_others():
    accents = ("en-gb", "en-us")
    few = {(c.speaker, c.name): c for c in plan_clips(TINY, ("a", "b", "c"), accents, seed=1)}
    many = {(c.speaker, c.name): c for c in plan_clips(TINY, ("a", "b", "c", "d", "e"), accents, seed=1)}
    for key, clip in few.items():
        other = many[key]
        assert (clip.prosody, clip.scene, clip.seed) == (other.prosody, other.scene, other.seed)


def test_recipe_and_speaker_errors():
    with pytest.raises(DataError, match="cannot fill train, val and test"):
        plan_clips(TINY, ("a", "b"), ("en-us",), seed=0)
    with pytest.raises(DataError, match="both keywords and unknown"):
        plan_clips(replace(TINY, unknown_words=("yes",)), ("a", "b", "c"), ("en-us",), seed=0)
    with pytest.raises(DataError, match="seed -1"):
        plan_clips(TINY, ("a", "b", "c"), ("en-us",), seed=-1)


@needs_espeak
def test_refuses_to_write_over_a_folder_or_use_a_missing_voice(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    with pytest.raises(DataError, match="already exists"):
        build_keyword_dataset(tmp_path / "full", recipe=TINY, speakers=SPEAKERS)
    with pytest.raises(DataError, match="no voice variants"):
        build_keyword_dataset(tmp_path / "new", recipe=TINY, speakers=("f3", "m1", "nobody"))


def test_missing_espeak_names_make_setup(monkeypatch, tmp_path):
    monkeypatch.setattr(espeak_mod.shutil, "which", lambda name: None)
    espeak_mod.list_variants.cache_clear()
    try:
        with pytest.raises(ToolchainError) as info:
            build_keyword_dataset(tmp_path / "kws", recipe=TINY)
    finally:
        espeak_mod.list_variants.cache_clear()
    assert "make setup" in info.value.hint
