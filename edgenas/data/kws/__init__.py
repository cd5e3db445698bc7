"""Keyword spotting data: a synthetic dataset built from Debian's espeak-ng, a loader for the
Speech Commands folder layout (ours and a user's), and the log-mel "images" a net trains on."""

from .audioset import AudioSet, AudioSplits
from .build import BuildResult, build_keyword_dataset
from .espeak import Prosody, list_accents, list_variants, synthesize
from .features import feature_splits, load_keyword_dataset
from .folder import load_keyword_folder
from .recipe import KwsRecipe, plan_clips
from .vocabulary import KEYWORDS, SILENCE, UNKNOWN, UNKNOWN_WORDS

__all__ = ["AudioSet", "AudioSplits", "BuildResult", "KEYWORDS", "KwsRecipe", "Prosody", "SILENCE", "UNKNOWN",
           "UNKNOWN_WORDS", "build_keyword_dataset", "feature_splits", "load_keyword_dataset", "list_accents", "list_variants", "load_keyword_folder",
           "plan_clips", "synthesize"]
