"""Strategies registered by name (``@register_strategy("evolution")``), found by name or wildcard."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from ..errors import UsageError

_STRATEGIES: dict[str, Callable[..., object]] = {}


def register_strategy(name: str) -> Callable[[Callable[..., object]], Callable[..., object]]:
    def wrap(factory: Callable[..., object]) -> Callable[..., object]:
        _STRATEGIES[name] = factory
        return factory

    return wrap


def list_strategies(pattern: str = "*") -> list[str]:
    return sorted(n for n in _STRATEGIES if fnmatch.fnmatch(n, pattern))


def get_strategy(name: str) -> Callable[..., object]:
    """The factory registered as ``name``.

    Raises:
        UsageError: unknown name (the hint lists the known ones).
    """
    try:
        return _STRATEGIES[name]
    except KeyError:
        raise UsageError(f"unknown search strategy {name!r}", hint=f"known: {', '.join(list_strategies())}") from None
