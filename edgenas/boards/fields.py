"""Typed, bounded access to one table of a board or device profile (TOML).

Every error names the file and the dotted field (``uart.pins[0].af``), and values are echoed cut
short, since a profile may be hostile. The board and device parsers both read through
:class:`Fields`; it lives apart from them so that neither has to import the other.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import BoardError

ADDRESS_LIMIT = 1 << 32
"""Addresses and region ends must lie in the 32-bit address space."""
MAX_DESCRIPTION = 200
"""Characters of free text a profile's description may hold (it is echoed to terminals)."""


class Fields:
    """Typed access to a TOML table that names ``file`` and the dotted field path on any error.

    ``keys`` is the set of fields the table may hold; any other key is refused at once, so a
    misspelt nested field (``uart.buad``) is an error rather than a silent default.
    """

    def __init__(self, table: dict[str, Any], file: str, prefix: str = "",
                 keys: frozenset[str] | None = None) -> None:
        self.table, self.file, self.prefix = table, file, prefix
        if keys is not None:
            self.reject_unknown(keys)

    def reject_unknown(self, keys: frozenset[str]) -> None:
        """Refuse any key outside ``keys``, naming the first (sorted) one."""
        unknown = sorted(set(self.table) - keys)
        if unknown:
            where = f" in `{self.prefix.rstrip('.')}`" if self.prefix else ""
            raise self.error(unknown[0], "is not a known board field",
                             hint=f"known fields{where}: {', '.join(sorted(keys))}")

    def error(self, key: str, problem: str, hint: str = "") -> BoardError:
        return BoardError(f"{self.file}: field `{self.prefix}{key}` {problem}",
                          hint=hint or "see boards/mps2-an500.toml for a complete profile")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ..., type_name: str = "") -> Any:
        if key not in self.table:
            if default is ...:
                raise self.error(key, "is missing")
            return default
        value = self.table[key]
        # bool is an int subclass in Python; a TOML `true` is never a valid number here.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.error(key, f"must be {type_name or _name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise self.error(key, f"must be {type_name or _name(kind)}, got {type(value).__name__} {show(value)}")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: Any = ...) -> str:
        value = self.get(key, str, default)
        if value not in allowed:
            raise self.error(key, f"is {show(value)}, expected one of {', '.join(allowed)}")
        return value

    def bounded(self, key: str, bounds: tuple[int, int], default: Any = ...) -> int:
        """An integer within ``bounds`` (inclusive)."""
        value = self.get(key, int, default, "an integer")
        low, high = bounds
        if value is not None and not low <= value <= high:
            raise self.error(key, f"must be between {low:,} and {high:,}, got {show_int(value)}")
        return value

    def address(self, key: str) -> int:
        value = self.get(key, int, type_name="an integer address")
        if not 0 <= value < ADDRESS_LIMIT:
            raise self.error(key, f"= {show_hex(value)} is outside the 32-bit address space")
        return value

    def token(self, key: str, pattern: re.Pattern[str], what: str, default: Any = ...) -> Any:
        """A string that must fully match ``pattern`` (it reaches generated code or a command line)."""
        value = self.get(key, str, default)
        if value is not None and not pattern.fullmatch(value):
            raise self.error(key, f"= {show(value)} is not a valid {what}",
                             hint=f"use letters, digits, '.', '_' or '-' ({pattern.pattern})")
        return value

    def sub(self, key: str, keys: frozenset[str] | None = None) -> Fields:
        table = self.get(key, dict, type_name="a table")
        return Fields(table, self.file, f"{self.prefix}{key}.", keys)

    def items(self, key: str, keys: frozenset[str]) -> list[Fields]:
        values = self.get(key, list, [], "a list of tables")
        out = []
        for i, value in enumerate(values):
            if not isinstance(value, dict):
                raise self.error(f"{key}[{i}]", f"must be a table, got {show(value)}")
            out.append(Fields(value, self.file, f"{self.prefix}{key}[{i}].", keys))
        return out


def _name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join({"str": "a string", "int": "an integer", "bool": "true/false", "list": "a list",
                        "dict": "a table"}.get(k.__name__, k.__name__) for k in kinds)


def show(value: Any, limit: int = 60) -> str:
    """``repr`` cut short, so a hostile value cannot flood the terminal."""
    if isinstance(value, int) and not isinstance(value, bool):
        return show_int(value)
    text = repr(value) if not isinstance(value, (list, dict)) else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


def show_int(value: int) -> str:
    """``value`` with thousands separators; a huge one by its size (Python refuses to print >4300 digits)."""
    return f"{value:,}" if value.bit_length() <= 128 else f"a {value.bit_length()}-bit number"


def show_hex(value: int) -> str:
    return f"{value:#x}" if value.bit_length() <= 64 else f"a {value.bit_length()}-bit number"


def description(f: Fields) -> str:
    """Free text for listings, but printable and short: it is echoed to terminals."""
    text = f.get("description", str, "")
    if len(text) > MAX_DESCRIPTION or not text.isprintable():
        raise f.error("description", f"must be at most {MAX_DESCRIPTION} printable characters (no control "
                                     f"characters or line breaks), got {show(text)}")
    return text
