"""Scratch folders named after the process that made them, so a killed run's are found and removed.

Why: a ``kill -9`` skips every clean-up, and ``edgenas profile`` left its firmware build folders
in the temp directory. A scratch folder is ``<tmp>/edgenas-<pid>-<purpose>-<random>``; each new
one (and each CLI command) first removes the folders whose process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_NAME = re.compile(r"^edgenas-(\d+)-")


@contextmanager
def scratch_dir(purpose: str, root: Path | None = None) -> Iterator[Path]:
    """A new folder ``edgenas-<pid>-<purpose>-*`` under ``root`` (default: the temp directory),
    removed when the block ends; stale ones of dead processes are removed first."""
    remove_stale_scratch(root)
    with tempfile.TemporaryDirectory(prefix=f"edgenas-{os.getpid()}-{purpose}-", dir=root) as tmp:
        yield Path(tmp)


def remove_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove the scratch folders under ``root`` whose process is no longer alive; return them.

    Folders of live processes (also other users', whose liveness we can only see) are kept."""
    root = Path(root) if root is not None else Path(tempfile.gettempdir())
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    removed = []
    for path in entries:
        match = _NAME.match(path.name)
        if match and not _alive(int(match.group(1))) and path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
