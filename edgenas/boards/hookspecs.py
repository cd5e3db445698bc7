"""The one pluggy hook boards come through: built-ins and third-party plugins alike.

A plugin module declares ``[project.entry-points."edgenas.boards"] name = "pkg.module"`` and defines::

    @hookimpl
    def register_boards(register):
        register(files("pkg") / "my_board.toml")
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pluggy

PROJECT = "edgenas"
ENTRY_POINT_GROUP = "edgenas.boards"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_boards(register: Callable[[Path], None]) -> None:
    """Call ``register(path)`` once per board TOML file the plugin provides."""
