"""The board registry: built-ins, entry-point plugins and user TOML files, all through one hook.

Order of registration: built-in ``boards/*.toml`` (through ``edgenas.boards.builtin``, the same
hook a plugin implements), then installed plugins (entry point group ``edgenas.boards``), then the
user directory (``$EDGENAS_BOARDS_DIR`` or ``~/.config/edgenas/boards/``). A user file may replace
a plugin's board of the same name; taking a built-in's name needs ``replaces_builtin = true`` in
the file, so a stray file cannot silently change what ``mps2-an500`` means. A broken plugin or user
file, or a second plugin claiming a name, is reported in ``problems`` and skipped; a broken
built-in is a broken install and raises.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import pluggy

from ..errors import BoardError
from . import builtin, hookspecs
from .board import Board
from .device import DeviceProfile
from .loader import load_board_file

BUILTIN_PLUGIN = "builtin"

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
        self._boards: dict[str, Board | DeviceProfile] = {}
        self._builtins: dict[str, Board | DeviceProfile] = {}
        self.problems: list[BoardError] = []
        """Plugin and user profiles that could not be used: reported by ``edgenas boards``, skipped
        elsewhere, so one broken file never stops every command."""
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        pm.register(builtin, name=BUILTIN_PLUGIN)
        if entry_points:
            self._load_entry_points(pm)
        for impl in pm.hook.register_boards.get_hookimpls():
            self._run_plugin(impl.function, pm.get_name(impl.plugin) or impl.plugin_name)
        directory = user_boards_dir() if user_dir == "default" else user_dir
        if directory is not None and not Path(directory).is_dir() and (user_dir != "default" or "EDGENAS_BOARDS_DIR" in os.environ):
            self.problems.append(BoardError(f"board folder {directory} does not exist",
                                            hint="check EDGENAS_BOARDS_DIR"))
        elif directory is not None:
            for path in sorted(Path(directory).glob("*.toml")):
                self._try_add(path, "user")

    def _load_entry_points(self, pm: pluggy.PluginManager) -> None:
        """Import installed board plugins; one that fails to import is reported, not fatal."""
        try:
            # Entry points named like an already-registered plugin (our own `builtin`) are skipped.
            pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
        except Exception as exc:  # third-party import code: anything can go wrong in it
            self.problems.append(BoardError(f"a board plugin (entry point group {hookspecs.ENTRY_POINT_GROUP}) "
                                            f"failed to load: {type(exc).__name__}: {exc}",
                                            hint="reinstall or uninstall the plugin package"))

    def _run_plugin(self, hook: Callable[..., None], plugin: str) -> None:
        """Call one plugin's ``register_boards``; built-ins must load, other plugins are reported."""
        origin = f"plugin:{plugin}"
        if plugin == BUILTIN_PLUGIN:
            hook(register=lambda path: self._add(path, origin))
            return
        try:
            hook(register=lambda path: self._try_add(path, origin))
        except Exception as exc:  # third-party hook code: report it and keep the other boards
            self.problems.append(BoardError(f"board plugin {plugin!r} failed: {type(exc).__name__}: {exc}",
                                            hint="fix or uninstall the plugin package"))

    def _try_add(self, path: Path | str, origin: str) -> None:
        try:
            self._add(path, origin)
        except BoardError as exc:
            self.problems.append(exc)

    def _add(self, path: Path | str, origin: str) -> None:
        """Register one profile: a user file may replace a plugin's board, only an explicit one a built-in's."""
        board = load_board_file(Path(str(path)), source=f"{origin} ({path})")
        old = self._boards.get(board.name)
        if origin == f"plugin:{BUILTIN_PLUGIN}":
            self._builtins[board.name] = board
        elif board.name in self._builtins and not board.replaces_builtin:
            raise BoardError(f"{path}: board {board.name!r} has the name of a built-in board, which it would replace",
                             hint="rename the profile (name and file stem), or put `replaces_builtin = true` "
                                  "at its top to replace the built-in on purpose")
        if old is not None and origin != "user" and old is not self._builtins.get(board.name):
            raise BoardError(f"board {board.name!r} is defined twice: {old.source} and {board.source}",
                             hint="rename one of the profiles (name and file stem)")
        self._boards[board.name] = board

    def names(self) -> list[str]:
        return sorted(self._boards)

    def boards(self) -> list[Board | DeviceProfile]:
        return [self._boards[n] for n in self.names()]

    def get(self, name: str) -> Board | DeviceProfile:
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
                hint += f"; {len(self.problems)} board profile(s) could not be used: see `edgenas boards`"
            raise BoardError(f"unknown board {name!r}", hint=hint) from None

    def for_target(self, target: str) -> Board | DeviceProfile:
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


def list_boards(registry: BoardRegistry | None = None) -> list[Board | DeviceProfile]:
    """All known boards, sorted by name."""
    return (registry or default_registry()).boards()


def get_board(name: str, registry: BoardRegistry | None = None) -> Board | DeviceProfile:
    """The board called ``name``; BoardError with close names if unknown."""
    return (registry or default_registry()).get(name)


def board_for_target(target: str, registry: BoardRegistry | None = None) -> Board:
    """Default board for a core (``cortex-m7`` -> ``mps2-an500``), or the board named ``target``."""
    return (registry or default_registry()).for_target(target)
