"""Multi-objective Pareto search with Optuna's NSGA-II (Deb et al. 2002), ask/tell.

Minimises every entry of ``Score.objectives`` (e.g. ``(-accuracy, latency)``) under the loop's
constraints (constrained domination: a feasible trial beats an infeasible one, and infeasible
ones compare by violation). One ``ask()`` is one generation of ``population`` children (Optuna's
uniform crossover over the fixed-size categorical params plus mutation, see
:mod:`edgenas.search.optuna_study`). :meth:`NSGA2Search.front` gives the non-dominated evaluated
archs. Heuristic: the front found is an approximation of the true one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from ..errors import UsageError
from ..space import Arch, SpaceSpec
from .optuna_study import StudyDriver, quiet
from .pareto import pareto_front
from .registry import register_strategy
from .strategy import Repair, Score, keep_best
from .strategy_config import coerce_config


@dataclass(frozen=True)
class NSGA2Config:
    """NSGA-II settings (Optuna's defaults except the population, sized for budgets of 100s).

    Attributes:
        population: children per generation (= archs per ``ask()``).
        objectives: how many minimised objectives each ``Score`` carries.
        mutation_prob: per-param mutation probability; None = Optuna's ``1 / number of params``.
        crossover_prob: probability a child is a crossover (otherwise a copy, then mutated).
        screen: redraw children the loop's ``repair`` rejects (no evaluation spent on them).
        max_redraws: screening's give-up point per returned arch.
        max_repeat_redraws: redraws of an already evaluated child per returned arch; past it the
            repeat is returned (the loop serves it from its cache at no evaluation). Low, because
            late generations in a small space are mostly repeats and every redraw costs a trial.
    """

    population: int = 20
    objectives: int = 2
    mutation_prob: float | None = None
    crossover_prob: float = 0.9
    screen: bool = True
    max_redraws: int = 10
    max_repeat_redraws: int = 1


def non_dominated(points: list[tuple[Arch, tuple[float, ...]]]) -> list[tuple[Arch, tuple[float, ...]]]:
    """The points no other point dominates (duplicates of one objective vector all kept), sorted by
    objectives."""
    front = pareto_front([p[1] for p in points]) if points else []
    return sorted((points[i] for i in front), key=lambda p: p[1])


@register_strategy("nsga2")
class NSGA2Search:
    """Constrained NSGA-II over ``spec``.

    Args:
        spec: the space.
        config: :class:`NSGA2Config` (or a dict / another config: matching fields are taken).
        seed: seeds the sampler and the screening repair.
        repair: the loop's repair, used only as a free feasibility test (screening).
    """

    def __init__(self, spec: SpaceSpec, config: Any = None, *, seed: int = 0, repair: Repair | None = None) -> None:
        self.spec = spec
        self.config = coerce_config(config, NSGA2Config)
        if self.config.population < 2:
            raise UsageError(f"NSGA-II needs a population of at least 2, got {self.config.population}")
        self.seed = seed
        self.repair = repair
        self.evaluated: dict[Arch, Score] = {}
        self.population: list[tuple[Arch, float]] = []  # best feasible by fitness (for single-objective loops)
        self.generation = 0
        self.driver = self._driver(seed)

    def _driver(self, sampler_seed: int) -> StudyDriver:
        cfg = self.config
        sampler = quiet(lambda: optuna.samplers.NSGAIISampler(
            population_size=cfg.population, mutation_prob=cfg.mutation_prob, crossover_prob=cfg.crossover_prob,
            seed=sampler_seed))
        study = quiet(lambda: optuna.create_study(directions=["minimize"] * cfg.objectives, sampler=sampler))
        return StudyDriver(self.spec, study, self._values, repair=self.repair, screen=cfg.screen,
                           max_redraws=cfg.max_redraws, rng=np.random.default_rng(self.seed),
                           max_repeats=cfg.max_repeat_redraws)

    def _values(self, score: Score) -> tuple[float, ...]:
        if len(score.objectives) != self.config.objectives:
            raise UsageError(
                f"nsga2 expects {self.config.objectives} objectives per score, got {len(score.objectives)}",
                hint="give the loop that many --objective values, or set NSGA2Config.objectives")
        return tuple(float(v) for v in score.objectives)

    @property
    def study(self) -> optuna.Study:
        return self.driver.study

    def ask(self, n: int | None = None) -> list[Arch]:
        return quiet(lambda: self.driver.ask(n or self.config.population))

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        quiet(lambda: self.driver.tell(archs, scores))
        for arch, score in zip(archs, scores):
            self.evaluated[arch] = score
        self.population = keep_best(self.population, archs, scores, self.config.population)
        self.generation += 1

    @property
    def best(self) -> tuple[Arch, float] | None:
        return self.population[0] if self.population else None

    def front(self) -> list[tuple[Arch, tuple[float, ...]]]:
        """Non-dominated feasible evaluated archs with their objectives, sorted by the first
        objective (every evaluated arch when none is feasible)."""
        feasible = [(a, s.objectives) for a, s in self.evaluated.items() if s.feasible]
        return non_dominated(feasible or [(a, s.objectives) for a, s in self.evaluated.items()])

