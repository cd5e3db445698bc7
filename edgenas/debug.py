"""The only debug switch: ``EDGENAS_DEBUG=0..3`` (read here, nowhere else)."""

from __future__ import annotations

import os


def debug_level() -> int:
    """Return the debug level from ``EDGENAS_DEBUG`` (0 when unset or not a number)."""
    try:
        return max(0, int(os.environ.get("EDGENAS_DEBUG", "0")))
    except ValueError:
        return 0
