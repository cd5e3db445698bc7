"""Render a keyword dataset to disk in the Speech Commands layout.

``OUT/<label>/<speaker>_nohash_<word>_<take>.wav`` (16-bit mono), ``validation_list.txt`` and
``testing_list.txt`` as in Speech Commands (everything else is training), ``clips.csv`` with
every clip's drawn parameters, and ``manifest.json`` (recipe, seed, espeak-ng version, counts).
Nothing in the output depends on time, order of rendering or worker count, so the same seed gives
byte-identical files. The folder is written under ``OUT.partial`` and renamed when complete.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ...errors import DataError
from .espeak import espeak_version, list_accents, list_variants, synthesize
from .recipe import SPLITS, ClipSpec, KwsRecipe, plan_clips
from .scene import render
from .wav import write_wav

MANIFEST_SCHEMA = 1


@dataclass(frozen=True)
class BuildResult:
    """Where the dataset went and how many clips each split and label holds."""

    out: Path
    clips: int
    counts: dict[str, dict[str, int]]
    speakers: dict[str, list[str]]


def render_clip(spec: ClipSpec, recipe: KwsRecipe) -> np.ndarray:
    """One clip's int16 samples (synthesis, then its scene)."""
    speech = None if spec.word is None else synthesize(spec.word, spec.prosody, recipe.sample_rate_hz)
    return render(speech, spec.scene, np.random.default_rng(spec.seed), clip_samples=recipe.clip_samples,
                  sample_rate_hz=recipe.sample_rate_hz)


def _clips_csv(clips: list[ClipSpec]) -> str:
    buf = io.StringIO()
    fields = ["name", "label", "word", "speaker", "split", "accent", "pitch", "rate_wpm", "amplitude",
              "start", "rt60_s", "noise", "snr_db", "level_dbfs", "seed"]
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for c in clips:
        p = c.prosody
        writer.writerow({"name": c.name, "label": c.label, "word": c.word or "", "speaker": c.speaker,
                         "split": c.split, "accent": p.accent if p else "", "pitch": p.pitch if p else "",
                         "rate_wpm": p.rate_wpm if p else "", "amplitude": p.amplitude if p else "",
                         **c.scene.as_row(), "seed": c.seed})
    return buf.getvalue()


def build_keyword_dataset(
    out: Path, *, seed: int = 0, recipe: KwsRecipe = KwsRecipe(), speakers: tuple[str, ...] | None = None,
    accents: tuple[str, ...] | None = None, workers: int = 2, progress: Callable[[int, int], None] | None = None,
) -> BuildResult:
    """Synthesise the dataset into ``out`` (which must not exist yet, or be empty).

    Args:
        speakers: espeak-ng voice variants to use (default: all installed).
        accents: English espeak-ng voices to draw from (default: all installed).
        workers: threads rendering clips (each runs espeak-ng as a child process).
        progress: called with (done, total) after each clip.

    Raises:
        DataError: ``out`` holds files, or the recipe is inconsistent.
        ToolchainError: espeak-ng is missing or fails.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise DataError(f"{out} already exists and is not an empty folder",
                        hint="pick a new --out folder (a dataset is never written over another)")
    installed = list_variants()
    unknown = sorted(set(speakers or ()) - set(installed))
    if unknown:
        raise DataError(f"espeak-ng has no voice variants {unknown}", hint=f"installed: {', '.join(installed)}")
    speakers = tuple(sorted(speakers or installed))
    accents = tuple(sorted(accents or list_accents()))
    clips = plan_clips(recipe, speakers, accents, seed)

    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    for label in sorted({c.label for c in clips}):
        (partial / label).mkdir(parents=True)
    done = 0

    def work(spec: ClipSpec) -> None:
        write_wav(partial / spec.name, render_clip(spec, recipe), recipe.sample_rate_hz)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for _ in pool.map(work, clips):
            done += 1
            if progress:
                progress(done, len(clips))

    for split, listing in (("val", "validation_list.txt"), ("test", "testing_list.txt")):
        (partial / listing).write_text("".join(f"{c.name}\n" for c in clips if c.split == split))
    (partial / "clips.csv").write_text(_clips_csv(clips))
    counts = {s: dict(sorted(Counter(c.label for c in clips if c.split == s).items())) for s in SPLITS}
    by_split = {s: sorted({c.speaker for c in clips if c.split == s}) for s in SPLITS}
    manifest = {"schema": MANIFEST_SCHEMA, "seed": seed, "espeak_ng": espeak_version(), "recipe": asdict(recipe),
                "accents": list(accents), "speakers": by_split, "counts": counts, "clips": len(clips)}
    (partial / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if out.exists():
        out.rmdir()
    partial.rename(out)
    return BuildResult(out, len(clips), counts, by_split)
