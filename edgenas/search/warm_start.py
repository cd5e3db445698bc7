"""Seeds for a search from an earlier one: its fittest archs, read back from its ``trials.json``.

Why: a user who searched at 128 KB and now wants 64 KB (or another board of the same space)
should not start from random archs; the earlier best, repaired to the new budget by the loop,
are better first parents than random draws (``bench/warm_start.py`` measures by how much).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import SpaceError, UsageError
from ..space import Arch, SpaceSpec

TRIALS = "trials.json"


def trials_file(path: Path) -> Path:
    """``path`` itself, or the trials file of a ``search`` output folder or an ``extract`` one."""
    path = Path(path)
    for candidate in (path, path / TRIALS, path / "search" / TRIALS):
        if candidate.is_file():
            return candidate
    raise UsageError(f"no earlier search in {path}: expected {TRIALS}, or an extract folder with search/{TRIALS}",
                     hint="point --warm-start at the --out folder of an earlier `edgenas search` or `edgenas extract`")


def load_warm_start(path: Path, spec: SpaceSpec, top: int = 16) -> list[Arch]:
    """The ``top`` fittest archs of the earlier search at ``path`` (feasible ones first, then by
    fitness), validated against ``spec``.

    Raises:
        UsageError: no trials file, an unreadable one, or none of its archs in ``spec``.
    """
    file = trials_file(path)
    try:
        rows = json.loads(file.read_text())
        ranked = sorted(rows, key=lambda r: (not r.get("feasible", True), -float(r["fitness"])))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"cannot read the earlier search's trials {file}: {exc}") from exc
    archs: dict[str, Arch] = {}
    for row in ranked:
        try:
            arch = Arch.parse(str(row["arch"])).validate(spec)
        except (SpaceError, ValueError):
            continue
        archs.setdefault(str(arch), arch)
        if len(archs) == top:
            break
    if not archs:
        raise UsageError(f"none of the archs in {file} belong to space {spec.name!r}",
                         hint="warm-start from a search of the same supernet's space")
    return list(archs.values())
