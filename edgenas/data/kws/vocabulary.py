"""The words of the keyword-spotting task: Speech Commands' ten keywords, its other words as
"unknown", and silence.

The two reserved labels start with an underscore, as in Speech Commands, so that a folder layout
``ROOT/<label>/*.wav`` cannot confuse them with a word.
"""

from __future__ import annotations

KEYWORDS: tuple[str, ...] = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
"""The ten command words of Speech Commands v2 (and of MLPerf Tiny's keyword-spotting task)."""

UNKNOWN_WORDS: tuple[str, ...] = (
    "bed", "bird", "cat", "dog", "eight", "five", "four", "happy", "house", "marvin", "nine", "one",
    "seven", "sheila", "six", "three", "tree", "two", "wow", "zero", "learn", "follow", "forward",
    "backward", "visual",
)
"""Speech Commands' other words: some sound close to a keyword (tree/three, dog/down), which is
what makes "unknown" worth learning."""

SILENCE = "_silence_"
UNKNOWN = "_unknown_"
