"""Built-in boards (the repository's ``boards/*.toml``), registered through the plugin hook."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..paths import BOARDS_DIR
from .hookspecs import hookimpl


@hookimpl
def register_boards(register: Callable[[Path], None]) -> None:
    for path in sorted(BOARDS_DIR.glob("*.toml")):
        register(path)
