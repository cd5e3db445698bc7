"""What a synthetic keyword dataset holds, and the plan of every clip drawn from one seed.

Speakers are espeak-ng voice variants. Whole speakers go to train, val or test, so the test set
holds only voices the net never heard (accents, pitch, rate, rooms and noises are shared; they are
conditions, not identities).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import DataError
from .espeak import Prosody
from .scene import Scene, draw_scene
from .vocabulary import KEYWORDS, SILENCE, UNKNOWN, UNKNOWN_WORDS

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class KwsRecipe:
    """Sizes and ranges of a synthetic keyword dataset. The defaults give about 9,600 clips
    (100 speakers x (10 keywords x 6 takes + 24 unknown + 12 silence))."""

    keywords: tuple[str, ...] = KEYWORDS
    unknown_words: tuple[str, ...] = UNKNOWN_WORDS
    takes: int = 6
    """renditions of each keyword per speaker, each with its own accent, prosody and scene"""
    unknown_per_speaker: int = 24
    silence_per_speaker: int = 12
    val_fraction: float = 0.1
    test_fraction: float = 0.15
    pitch: tuple[int, int] = (20, 80)
    rate_wpm: tuple[int, int] = (110, 230)
    amplitude: tuple[int, int] = (60, 180)
    sample_rate_hz: int = 16_000
    clip_samples: int = 16_000

    def check(self) -> None:
        if not self.keywords:
            raise DataError("a keyword dataset needs at least one keyword")
        overlap = set(self.keywords) & set(self.unknown_words)
        if overlap:
            raise DataError(f"words {sorted(overlap)} are both keywords and unknown words")
        if self.unknown_per_speaker and not self.unknown_words:
            raise DataError("unknown clips were asked for but there are no unknown words")
        if min(self.takes, self.unknown_per_speaker, self.silence_per_speaker) < 0:
            raise DataError("takes, unknown_per_speaker and silence_per_speaker must be >= 0")
        if not (0 < self.val_fraction and 0 < self.test_fraction and self.val_fraction + self.test_fraction < 1):
            raise DataError(f"val_fraction {self.val_fraction} and test_fraction {self.test_fraction} must be "
                            "positive and sum to less than 1")


@dataclass(frozen=True)
class ClipSpec:
    """Everything that determines one clip's samples: the word (None for silence), how it is
    spoken, and the seed of its scene."""

    name: str
    """path inside the dataset: ``<label>/<speaker>_nohash_<word>_<take>.wav``"""
    label: str
    word: str | None
    speaker: str
    split: str
    prosody: Prosody | None
    scene: Scene
    seed: int


def split_speakers(speakers: tuple[str, ...], recipe: KwsRecipe, seed: int) -> dict[str, str]:
    """Speaker → split: a seeded permutation, test first, then val, the rest train (at least one
    speaker in each)."""
    if len(speakers) < 3:
        raise DataError(f"{len(speakers)} speaker(s) cannot fill train, val and test", hint="use at least 3 voice variants")
    order = np.random.default_rng([seed, 0]).permutation(len(speakers))
    n_test = max(1, round(len(speakers) * recipe.test_fraction))
    n_val = max(1, round(len(speakers) * recipe.val_fraction))
    if n_test + n_val >= len(speakers):
        raise DataError(f"{len(speakers)} speakers leave none for training with these fractions")
    ranked = [speakers[i] for i in order]
    return {s: ("test" if i < n_test else "val" if i < n_test + n_val else "train") for i, s in enumerate(ranked)}


def plan_clips(recipe: KwsRecipe, speakers: tuple[str, ...], accents: tuple[str, ...], seed: int) -> list[ClipSpec]:
    """Every clip of the dataset, in a fixed order, with all its random choices drawn.

    Each speaker draws from its own generator (seeded by ``seed`` and the speaker's name), so
    adding or removing a speaker leaves the other speakers' clips unchanged."""
    recipe.check()
    if seed < 0:
        raise DataError(f"seed {seed} must be >= 0")
    if not accents:
        raise DataError("no espeak-ng accents to speak with")
    split_of = split_speakers(tuple(sorted(speakers)), recipe, seed)
    clips: list[ClipSpec] = []
    for speaker in sorted(speakers):
        rng = np.random.default_rng([seed, 1, *speaker.encode()])

        def prosody() -> Prosody:
            return Prosody(str(rng.choice(accents)), speaker, int(rng.integers(recipe.pitch[0], recipe.pitch[1] + 1)),
                           int(rng.integers(recipe.rate_wpm[0], recipe.rate_wpm[1] + 1)),
                           int(rng.integers(recipe.amplitude[0], recipe.amplitude[1] + 1)))

        def add(label: str, word: str | None, take: int) -> None:
            spoken = prosody() if word is not None else None
            tag = word if word is not None else "noise"
            clips.append(ClipSpec(f"{label}/{speaker}_nohash_{tag}_{take}.wav", label, word, speaker,
                                  split_of[speaker], spoken, draw_scene(rng, silence=word is None),
                                  int(rng.integers(0, 2**63 - 1))))

        for word in recipe.keywords:
            for take in range(recipe.takes):
                add(word, word, take)
        for take in range(recipe.unknown_per_speaker):
            add(UNKNOWN, str(rng.choice(recipe.unknown_words)), take)
        for take in range(recipe.silence_per_speaker):
            add(SILENCE, None, take)
    return clips
