"""Upper bounds on cost metrics, how far an arch is from meeting them, and fail-fast checks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..cost.model import METRICS, CostModel, Metrics, Minimum
from ..errors import InfeasibleBudgetError, UsageError
from ..units import format_bytes, format_count

_LABELS = {
    "sram_bytes": "RAM", "flash_bytes": "flash", "arena_bytes": "arena", "model_flash_bytes": "weight flash",
    "latency": "latency", "macs": "MACs", "params": "parameters",
}


def format_metric(name: str, value: float) -> str:
    """``23.4 KB`` for byte metrics, ``4.56M`` for counts, the table's unit for latency."""
    if name.endswith("_bytes"):
        return format_bytes(value)
    if name == "latency":
        return f"{value:.4g}"
    return format_count(value)


@dataclass(frozen=True)
class Constraints:
    """``metric <= limit`` for each entry; metric names are :data:`edgenas.cost.model.METRICS`."""

    limits: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        for name, limit in self.limits:
            if name not in METRICS:
                raise UsageError(f"cannot constrain unknown metric {name!r}", hint=f"metrics: {', '.join(METRICS)}")
            if not limit > 0:
                raise UsageError(f"the {_LABELS[name]} limit must be positive, got {limit}")

    @classmethod
    def of(cls, limits: Mapping[str, float | None] | None = None, **kwargs: float | None) -> Constraints:
        """``Constraints.of(sram_bytes=262144, flash_bytes=None)``: None entries are dropped."""
        merged = {**(limits or {}), **kwargs}
        return cls(tuple(sorted((k, float(v)) for k, v in merged.items() if v is not None)))

    def as_dict(self) -> dict[str, float]:
        return dict(self.limits)

    def violation(self, metrics: Metrics) -> float:
        """Sum of relative excesses ``max(0, value / limit - 1)``; 0 means feasible."""
        return sum(max(0.0, metrics.get(name) / limit - 1.0) for name, limit in self.limits)

    def feasible(self, metrics: Metrics) -> bool:
        return all(metrics.get(name) <= limit for name, limit in self.limits)


def check_achievable(cost: CostModel, constraints: Constraints) -> dict[str, Minimum]:
    """Minimum of every constrained metric over the space; fail before searching if one is out of reach.

    Raises:
        InfeasibleBudgetError: e.g. "no subnet fits 16.0 KB RAM: the smallest needs 23.4 KB at resolution 24".
    """
    minima: dict[str, Minimum] = {}
    for name, limit in constraints.limits:
        low = cost.minimum(name)
        minima[name] = low
        if low.value > limit:
            label = _LABELS[name]
            raise InfeasibleBudgetError(
                f"no subnet fits {format_metric(name, limit)} {label}: the smallest needs "
                f"{format_metric(name, low.value)} at resolution {low.arch.resolution} ({low.arch})",
                hint=f"raise the {label} budget to at least {format_metric(name, low.value)}, or use a smaller "
                     "search space or a board with more memory",
            )
    return minima
