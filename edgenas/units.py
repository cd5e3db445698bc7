"""Sizes, times and counts as users type them: ``256KB``, ``0.5MiB``, ``50ms``, ``1.5M``.

Convention: binary prefixes for bytes everywhere, as embedded datasheets and linker maps do —
``K``/``KB``/``kB``/``KiB`` all mean 1024 bytes and ``M``/``MB``/``MiB`` mean 1024**2 bytes. A bare
number is bytes. Counts (instructions, cycles, MACs) use decimal prefixes (``1.5M`` = 1,500,000),
as benchmark tables do. Times accept ``us``, ``ms``, ``s`` (bare number = milliseconds).
Formatting uses the same conventions (``format_bytes(23961) == "23.4 KB"``).
"""

from __future__ import annotations

import math
import re

from .errors import UsageError

_NUMBER = r"(?P<num>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)"
_PATTERN = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[A-Za-zµ]*)\s*$")

_BYTE_UNITS = {
    "": 1, "b": 1, "byte": 1, "bytes": 1,
    "k": 1024, "kb": 1024, "kib": 1024,
    "m": 1024**2, "mb": 1024**2, "mib": 1024**2,
    "g": 1024**3, "gb": 1024**3, "gib": 1024**3,
}
_TIME_UNITS_MS = {"": 1.0, "ms": 1.0, "us": 1e-3, "µs": 1e-3, "s": 1000.0, "sec": 1000.0}
_COUNT_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def _split(text: str | int | float, what: str, example: str) -> tuple[float, str]:
    if isinstance(text, bool):
        raise UsageError(f"cannot read {text!r} as {what}", hint=f"write it like {example}")
    if isinstance(text, (int, float)):
        value, unit = float(text), ""
    else:
        match = _PATTERN.match(str(text))
        if not match:
            raise UsageError(f"cannot read {text!r} as {what}", hint=f"write it like {example}")
        value, unit = float(match.group("num")), match.group("unit")
    if math.isinf(value) and value > 0 and isinstance(text, str):  # '1e400' reads as inf
        raise UsageError(f"{text!r} is too large", hint=f"write it like {example}")
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{what} must be a non-negative number, got {text!r}", hint=f"write it like {example}")
    return value, unit


def _finite(value: float, text: str | int | float, example: str) -> float:
    """``value`` unless its unit made it overflow (``1e308GB``)."""
    if not math.isfinite(value):
        raise UsageError(f"{text!r} is too large", hint=f"write it like {example}")
    return value


def parse_bytes(text: str | int | float) -> int:
    """``"256KB"`` → 262144. Binary prefixes (K = 1024); a bare number is bytes.

    Raises:
        UsageError: unknown unit, negative or fractional byte count.
    """
    example = "256KB, 1MB, 0.5MiB or 4096"
    value, unit = _split(text, "a size in bytes", example)
    factor = _BYTE_UNITS.get(unit.lower())
    if factor is None:
        raise UsageError(f"unknown size unit {unit!r} in {text!r}", hint=f"use B, KB, MB or GB (1 KB = 1024 bytes): {example}")
    nbytes = _finite(value * factor, text, example)
    if abs(nbytes - round(nbytes)) > 1e-6:
        raise UsageError(f"{text!r} is not a whole number of bytes", hint=f"write it like {example}")
    return int(round(nbytes))


def parse_time_ms(text: str | int | float) -> float:
    """``"50ms"`` → 50.0, ``"2s"`` → 2000.0, ``"300us"`` → 0.3; a bare number is milliseconds.

    Raises:
        UsageError: unknown unit or negative value.
    """
    example = "50ms, 2s or 300us"
    value, unit = _split(text, "a time", example)
    factor = _TIME_UNITS_MS.get(unit.lower() if unit != "µs" else unit)
    if factor is None:
        raise UsageError(f"unknown time unit {unit!r} in {text!r}", hint=f"use us, ms or s: {example}")
    return _finite(value * factor, text, example)


def parse_count(text: str | int | float) -> int:
    """``"1.5M"`` → 1500000 (decimal prefixes for instructions, cycles, MACs, params).

    Raises:
        UsageError: unknown suffix, negative or fractional count.
    """
    example = "1.5M, 200k or 123456"
    value, unit = _split(text, "a count", example)
    factor = _COUNT_UNITS.get(unit.lower())
    if factor is None:
        raise UsageError(f"unknown count suffix {unit!r} in {text!r}", hint=f"use k, M or G (powers of 1000): {example}")
    count = _finite(value * factor, text, example)
    if abs(count - round(count)) > 1e-6:
        raise UsageError(f"{text!r} is not a whole count", hint=f"write it like {example}")
    return int(round(count))


def format_bytes(nbytes: float) -> str:
    """Human size with binary prefixes: ``512 B``, ``23.4 KB``, ``1.5 MB``."""
    if nbytes < 1024:
        return f"{int(nbytes)} B"
    if nbytes < 1024**2:
        return f"{nbytes / 1024:.1f} KB"
    return f"{nbytes / 1024**2:.2f} MB"


def format_count(count: float) -> str:
    """Human count with decimal prefixes: ``950``, ``12.3k``, ``4.56M``."""
    if count < 1000:
        return f"{count:g}"
    if count < 10**6:
        return f"{count / 1e3:.1f}k"
    if count < 10**9:
        return f"{count / 1e6:.2f}M"
    return f"{count / 1e9:.2f}G"
