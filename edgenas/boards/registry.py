"""The board registry: built-ins, entry-point plugins and user TOML files, all through one hook.

Order of registration: built-in ``boards/*.toml`` (through ``edgenas.boards.builtin``, the same
hook a plugin implements), then installed plugins (entry point group ``edgenas.boards``), then the
user directory (``$EDGENAS_BOARDS_DIR`` or ``~/.config/edgenas/boards/``). A user file may replace
a board of the same name on purpose; two plugins claiming one name is an error.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pluggy

from ..errors import BoardError
from . import builtin, hookspecs
from .board import Board
from .loader import load_board_file

# The board each core's work lands on when a caller names only the core.
DEFAULT_BOARD_FOR_CORE = {
    "cortex-m7": "mps2-an500",
    "cortex-m4": "mps2-an386",
    "cortex-m55": "mps3-an547",
}


def user_boards_dir() -> Path:
    """``$EDGENAS_BOARDS_DIR`` if set, else ``~/.config/edgenas/boards``."""
    env = os.environ.get("EDGENAS_BOARDS_DIR")
    return Path(env) if env else Path.home() / ".config" / "edgenas" / "boards"


class BoardRegistry:
    """Loads and holds boards by name.

    Args:
        entry_points: also load installed plugins (tests pass False to see only built-ins).
        user_dir: directory of extra ``*.toml`` profiles; None disables, default :func:`user_boards_dir`.
    """

    def __init__(self, *, entry_points: bool = True, user_dir: Path | None | str = "default") -> None:
        self._boards: dict[str, Board] = {}
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(builtin, name="builtin")
        if entry_points:
            # Entry points named like an already-registered plugin (our own `builtin`) are skipped.
            pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
        for impl in pm.hook.register_boards.get_hookimpls():
            plugin_name = pm.get_name(impl.plugin) or impl.plugin_name
            impl.function(register=lambda path, _p=plugin_name: self._add(path, f"plugin:{_p}"))
        directory = user_boards_dir() if user_dir == "default" else user_dir
        self.problems: list[BoardError] = []
        """User profiles that could not be used: reported by ``edgenas boards``, skipped elsewhere,
        so one broken file never stops every command."""
        if directory is not None and not Path(directory).is_dir() and (user_dir != "default" or "EDGENAS_BOARDS_DIR" in os.environ):
            self.problems.append(BoardError(f"board folder {directory} does not exist",
                                            hint="check EDGENAS_BOARDS_DIR"))
        elif directory is not None:
            for path in sorted(Path(directory).glob("*.toml")):
                try:
                    self._add(path, "user", override=True)
                except BoardError as exc:
                    self.problems.append(exc)

    def _add(self, path: Path | str, origin: str, override: bool = False) -> None:
        board = load_board_file(Path(str(path)), source=f"{origin} ({path})")
        old = self._boards.get(board.name)
        if old is not None and not override:
            raise BoardError(f"board {board.name!r} is defined twice: {old.source} and {board.source}",
                             hint="rename one of the profiles (name and file stem)")
        self._boards[board.name] = board

    def names(self) -> list[str]:
        return sorted(self._boards)

    def boards(self) -> list[Board]:
        return [self._boards[n] for n in self.names()]

    def get(self, name: str) -> Board:
        """Return the board called ``name``.

        Raises:
            BoardError: no such board (the hint lists close names).
        """
        try:
            return self._boards[name]
        except KeyError:
            close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.5)
            hint = f"did you mean {', '.join(close)}?" if close else f"known boards: {', '.join(self.names())}"
            if self.problems:
                hint += f"; {len(self.problems)} user profile(s) could not be read: see `edgenas boards`"
            raise BoardError(f"unknown board {name!r}", hint=hint) from None

    def for_target(self, target: str) -> Board:
        """Resolve a target that is either a core (``cortex-m7``) or a board name."""
        if target in DEFAULT_BOARD_FOR_CORE:
            return self.get(DEFAULT_BOARD_FOR_CORE[target])
        if target in self._boards:
            return self._boards[target]
        options = sorted(DEFAULT_BOARD_FOR_CORE) + self.names()
        close = difflib.get_close_matches(target, options, n=3, cutoff=0.5)
        raise BoardError(f"unknown target {target!r} (neither a core with a default board nor a board)",
                         hint=f"did you mean {', '.join(close)}?" if close else
                         f"cores: {', '.join(sorted(DEFAULT_BOARD_FOR_CORE))}; boards: {', '.join(self.names())}")


_default: BoardRegistry | None = None


def default_registry() -> BoardRegistry:
    """The process-wide registry (built on first use)."""
    global _default
    if _default is None:
        _default = BoardRegistry()
    return _default


def board_problems(registry: BoardRegistry | None = None) -> list[BoardError]:
    """User profiles that were skipped, with why."""
    return (registry or default_registry()).problems


def list_boards(registry: BoardRegistry | None = None) -> list[Board]:
    """All known boards, sorted by name."""
    return (registry or default_registry()).boards()


def get_board(name: str, registry: BoardRegistry | None = None) -> Board:
    """The board called ``name``; BoardError with close names if unknown."""
    return (registry or default_registry()).get(name)


def board_for_target(target: str, registry: BoardRegistry | None = None) -> Board:
    """Default board for a core (``cortex-m7`` -> ``mps2-an500``), or the board named ``target``."""
    return (registry or default_registry()).for_target(target)
