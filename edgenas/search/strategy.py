"""What a search strategy exchanges with the loop: archs out (``ask``), scores in (``tell``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..space import Arch

Repair = Callable[[Arch, np.random.Generator], "Arch | None"]
"""Turns an infeasible arch into a feasible one (or None); the loop builds it from the cost model."""


@dataclass(frozen=True)
class Score:
    """The loop's verdict on one arch.

    Attributes:
        fitness: the scalar objective, higher is better (predicted or measured accuracy).
        feasible: every constraint met.
        violation: how far outside the constraints (sum of relative excesses; 0 when feasible),
            for strategies that penalise instead of reject (RL's reward, Optuna's constraints).
        objectives: for multi-objective strategies, all minimised, e.g. ``(-accuracy, latency)``.
    """

    fitness: float
    feasible: bool = True
    violation: float = 0.0
    objectives: tuple[float, ...] = ()


class Strategy(Protocol):
    """Ask/tell search strategy: never trains, measures or prints (STYLE.md §3.6)."""

    def ask(self, n: int | None = None) -> list[Arch]: ...

    def tell(self, archs: list[Arch], scores: list[Score]) -> None: ...


def keep_best(population: list[tuple[Arch, float]], archs: list[Arch], scores: list[Score],
              size: int) -> list[tuple[Arch, float]]:
    """The ``size`` fittest feasible archs among ``population`` and the newly scored ones, best first
    (a newer score of the same arch replaces the older)."""
    merged = dict(population)
    for arch, score in zip(archs, scores):
        if score.feasible:
            merged[arch] = float(score.fitness)
    return sorted(merged.items(), key=lambda t: -t[1])[:size]
