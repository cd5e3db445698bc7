"""A small TOML writer for the board-file probe (the venv has a TOML reader, not a writer).

It writes what the probe's mutated tables hold: strings, integers of any size, floats (nan and
inf too), booleans, dates and times, arrays, inline tables inside arrays, and nested tables as ``[a.b]`` sections.
Values it cannot write (a Python object) go out as their ``repr`` in a string.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def key(k: str) -> str:
    return k if _BARE_KEY.fullmatch(k) else json.dumps(k)


def value(v: Any) -> str:  # noqa: ANN401
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{key(k)} = {value(x)}" for k, x in v.items()) + " }"
    return json.dumps(repr(v))


def dumps(table: dict[str, Any], prefix: str = "") -> str:
    """``table`` as TOML text: plain keys first, then one ``[section]`` per nested table."""
    plain = [f"{key(k)} = {value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    out = "\n".join(plain) + ("\n" if plain else "")
    for k, v in table.items():
        if isinstance(v, dict):
            name = f"{prefix}{key(k)}"
            out += f"\n[{name}]\n" + dumps(v, name + ".")
    return out
