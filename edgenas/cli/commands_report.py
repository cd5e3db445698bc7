"""``edgenas report``: the HTML report for any earlier output (extract, compile + run, search)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import app, handle_errors, stdout


@app.command()
@handle_errors
def report(
    directory: Annotated[Path, typer.Argument(help="a folder written by extract, compile (+ run) or search")],
) -> None:
    """Write DIR/report.html: architecture, why this subnet, the search's trade-offs, per-layer cost."""
    from ..report import write_html_report

    path = write_html_report(directory)
    stdout.print(f"report: {path}", highlight=False)
