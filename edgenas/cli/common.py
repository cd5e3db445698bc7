"""What every CLI command shares: stderr console, error rendering, progress bars."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..children import Terminated, terminate_cleanly
from ..debug import debug_level
from ..errors import EdgenasError
from ..scratch import remove_stale_scratch

stdout = Console()
stderr = Console(stderr=True)

app = typer.Typer(
    name="edgenas",
    help="Hardware-aware NAS and int8 deployment for microcontrollers and edge targets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
"""The one Typer app; each ``commands_*.py`` module adds its commands to it."""

SpaceOpt = Annotated[str, typer.Option("--space", help="registered search space")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")]
DataOpt = Annotated[
    Optional[str], typer.Option(help="the supernet's dataset (default: the one its checkpoint records; a .npz or image folder)")
]
OtherDataOpt = Annotated[bool, typer.Option(help="use --data even if it is not what the supernet was trained on")]


def report(message: str, hint: str = "") -> None:
    """``error:`` and ``hint:`` lines on stderr; the texts are not read as Rich markup, so a name
    like ``[memory.ram]`` survives."""
    if debug_level():
        traceback.print_exc()
    stderr.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if hint:
        stderr.print(f"[yellow]hint:[/] {escape(hint)}", highlight=False)


def out_folder(path: Path, flag: str = "--out") -> Path:
    """``path`` for an option naming a folder to write, checked before any work: a file there, or
    in the place of a folder above it, is refused naming the option (commands failed only after
    their work with FileExistsError, and train read the file as a damaged checkpoint).

    Raises:
        EdgenasError: ``path`` or one of its parents is a file.
    """
    for place in (path, *path.parents):
        if place.exists():
            if not place.is_dir():
                what = "" if place == path else f" (its parent {place} is a file)"
                raise EdgenasError(f"{flag} {path} is not a folder{what}",
                                   hint=f"give {flag} a folder (it is created if missing)")
            break
    return path


def table_file(path: Path | None, flag: str = "--table") -> Path | None:
    """``path`` for an option naming a JSON file, checked before any work: a folder is refused."""
    if path is not None and path.is_dir():
        raise EdgenasError(f"{flag} {path} is a folder, not a file",
                           hint=f"give {flag} the table's .json file, e.g. {flag} {path / 'table.json'}")
    return path


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn an ``EdgenasError`` (or a failed file operation) into ``error:``/``hint:`` lines and an exit code.

    SIGTERM unwinds like Ctrl-C (exit 143), so emulators are stopped and scratch folders removed;
    scratch folders a killed command left behind are removed first."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        remove_stale_scratch()
        try:
            with terminate_cleanly():
                return func(*args, **kwargs)
        except EdgenasError as exc:
            report(str(exc), exc.hint)
            raise typer.Exit(code=exc.exit_code) from None
        except OSError as exc:  # a path the user gave: an existing file for --out, a folder for a file, no rights
            where = f": {exc.filename}" if exc.filename else ""
            report(f"{exc.strerror or exc}{where}", "check the paths given on the command line")
            raise typer.Exit(code=1) from None
        except KeyboardInterrupt:
            stderr.print("[red]interrupted[/]")
            raise typer.Exit(code=130) from None
        except Terminated as exc:
            stderr.print("[red]terminated[/]")
            raise typer.Exit(code=exc.code) from None

    return wrapper


@contextmanager
def progress_bar(quiet: bool = False) -> Iterator[Progress]:
    """A Rich progress bar on stderr, silent when stderr is not a terminal or with ``--quiet``."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=quiet or not sys.stderr.isatty(),
        transient=False,
    )
    with progress:
        yield progress


WorkersOpt = Annotated[Optional[int], typer.Option(
    help="parallel workers on Ray (default: 1, serial; with --ray-address: every CPU of the cluster)")]
RayAddressOpt = Annotated[Optional[str], typer.Option(
    help="join a running Ray cluster: auto (this machine's) or HOST:PORT (default: a local one for the run)")]
TaskTimeoutOpt = Annotated[Optional[float], typer.Option(
    "--task-timeout", help="seconds a Ray worker's task may run before it is stopped and retried on a fresh worker "
                           "(default: no limit)")]


def worker_lines(progress: Progress) -> Callable[[dict[str, str]], None]:
    """A ``watch`` for a task pool: one progress line per worker, showing the task it runs."""
    rows: dict[str, Any] = {}

    def watch(busy: dict[str, str]) -> None:
        for worker, label in sorted(busy.items()):
            if worker not in rows:
                rows[worker] = progress.add_task(f"  {worker}", total=None, info="")
            progress.update(rows[worker], info=label or "idle")

    return watch
