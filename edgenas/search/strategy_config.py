"""Strategy configs from whatever the caller hands over: the strategy's own dataclass, a dict, None,
or another strategy's config (``run_search`` passes an ``EvolutionConfig`` to every strategy)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from ..errors import UsageError

C = TypeVar("C")


def coerce_config(config: Any, cls: type[C]) -> C:
    """``config`` as a ``cls``: itself, ``cls(**dict)``, defaults for None, or the fields of another
    config object that ``cls`` also has (e.g. ``population``), the rest left at their defaults.

    Raises:
        UsageError: a dict key that ``cls`` does not know (the hint lists the known ones).
    """
    if isinstance(config, cls):
        return config
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if config is None:
        return cls()
    if isinstance(config, dict):
        unknown = sorted(set(config) - set(names))
        if unknown:
            raise UsageError(f"unknown {cls.__name__} option(s): {', '.join(unknown)}", hint=f"options: {', '.join(names)}")
        return cls(**config)
    return cls(**{n: getattr(config, n) for n in names if hasattr(config, n)})
