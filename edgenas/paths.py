"""Where the non-Python parts of edgenas live (C runtime, target kits, board profiles).

They sit beside the package in the source tree (the package is installed editable), so one
module resolves them and every caller gets the same answer or the same clear error.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ToolchainError

REPO_ROOT = Path(__file__).resolve().parent.parent
RUNTIME_C_DIR = REPO_ROOT / "runtime_c"
TARGETS_DIR = REPO_ROOT / "targets"
BOARDS_DIR = REPO_ROOT / "boards"
ASSETS_DIR = Path(__file__).resolve().parent / "assets"  # bundled with the package, one folder per kind
SUPERNETS_DIR = ASSETS_DIR / "supernet"
PREDICTORS_DIR = ASSETS_DIR / "predictor"
LATENCY_DIR = ASSETS_DIR / "latency"
OVERHEAD_TABLE = ASSETS_DIR / "cost" / "firmware_overhead.json"


def require_dir(path: Path) -> Path:
    """Return ``path`` if it is a directory, else raise a ToolchainError that says why."""
    if not path.is_dir():
        raise ToolchainError(
            f"{path} is missing",
            hint="edgenas needs its source tree (runtime_c/, targets/, boards/): install it with `pip install -e .`",
        )
    return path
