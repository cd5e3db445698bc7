"""The supernet shipped inside the package, so ``edgenas extract`` works right after set-up."""

from __future__ import annotations

from pathlib import Path

from ..errors import CheckpointError
from ..paths import SUPERNETS_DIR

BUNDLED_SUPERNETS = {"fashion-mnist": SUPERNETS_DIR / "fashion-mnist"}


def bundled_supernet_dir(dataset: str = "fashion-mnist") -> Path:
    """Directory of the bundled checkpoint for ``dataset``."""
    path = BUNDLED_SUPERNETS.get(dataset)
    if path is None or not (path / "supernet.json").is_file():
        raise CheckpointError(
            f"no bundled supernet for {dataset!r}",
            hint="train one with `edgenas train --data ... --out DIR` and pass --supernet DIR",
        )
    return path
