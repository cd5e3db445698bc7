"""``edgenas data kws``: synthesise the keyword-spotting dataset (espeak-ng, noise, rooms)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich import box
from rich.table import Table

from .common import JsonOpt, QuietOpt, app, handle_errors, out_folder, progress_bar, stderr, stdout

data_app = typer.Typer(help="Build datasets that are made, not downloaded.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _names(text: Optional[str]) -> tuple[str, ...] | None:
    return tuple(n.strip() for n in text.split(",") if n.strip()) if text else None


@data_app.command("kws")
@handle_errors
def kws(
    out: Annotated[Path, typer.Option(help="new folder: ROOT/<label>/*.wav, list files, clips.csv, manifest.json")],
    seed: Annotated[int, typer.Option(help="same seed, same files (byte for byte)")] = 0,
    takes: Annotated[int, typer.Option(help="renditions of each keyword per speaker")] = 6,
    unknown: Annotated[int, typer.Option(help="unknown-word clips per speaker")] = 24,
    silence: Annotated[int, typer.Option(help="silence (noise only) clips per speaker")] = 12,
    speakers: Annotated[Optional[str], typer.Option(help="espeak-ng voice variants, comma-separated (default: all)")] = None,
    keywords: Annotated[Optional[str], typer.Option(help="keywords, comma-separated (default: Speech Commands' ten)")] = None,
    workers: Annotated[int, typer.Option(help="clips rendered at once")] = 2,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Synthesise 1 s, 16 kHz keyword clips with espeak-ng, split by speaker (voice variant)."""
    from dataclasses import replace

    from ..data.kws import KwsRecipe, build_keyword_dataset

    recipe = replace(KwsRecipe(), takes=takes, unknown_per_speaker=unknown, silence_per_speaker=silence)
    if keywords:
        chosen = _names(keywords)
        recipe = replace(recipe, keywords=chosen, unknown_words=tuple(w for w in recipe.unknown_words if w not in chosen))
    start = time.perf_counter()
    with progress_bar(quiet) as progress:
        task = progress.add_task("synthesising", total=None, info="")
        result = build_keyword_dataset(out_folder(out), seed=seed, recipe=recipe, speakers=_names(speakers), workers=workers,
                                       progress=lambda done, total: progress.update(task, completed=done, total=total))
    seconds = time.perf_counter() - start
    if as_json:
        stdout.print_json(json.dumps({"out": str(result.out), "clips": result.clips, "seconds": round(seconds, 1),
                                      "counts": result.counts, "speakers": result.speakers}))
        return
    table = Table(box=box.SIMPLE)
    table.add_column("split")
    table.add_column("speakers", justify="right")
    table.add_column("clips", justify="right")
    for split, counts in result.counts.items():
        table.add_row(split, str(len(result.speakers[split])), str(sum(counts.values())))
    stdout.print(table)
    stderr.print(f"{result.clips} clips in {result.out} ({seconds:.0f} s)", highlight=False)
