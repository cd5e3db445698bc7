"""Regularized (aging) evolution, Real et al. 2019. Heuristic: no optimality guarantee.

The population is a queue of the last ``population`` archs told. Until it is full, ``ask`` draws
random archs. Then each child comes from a tournament: ``sample`` members drawn uniformly without
replacement, the best of them is mutated (``mutate_arch``). Each child told joins the
queue and the oldest member dies, whatever its fitness — so a lucky early score cannot rule the
search forever (the "regularization"). Tournaments rank feasible members first (by fitness),
then infeasible ones by how little they violate the constraints. A child that breaks a constraint
is handed to ``repair`` as in :mod:`edgenas.search.evolution`; if repair fails it is redrawn a
bounded number of times. All randomness comes from one ``numpy.random.Generator`` seeded by ``seed``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..space import Arch, SpaceSpec, mutate_arch, sample_arch
from .registry import register_strategy
from .repair import draw_feasible
from .strategy import Repair, Score


@dataclass(frozen=True)
class AgingConfig:
    """Real et al. used P=100, S=25 on NASNet's space; a batch of children per ``ask``.

    Attributes:
        population: members kept (the queue length, P).
        sample: tournament size (S).
        batch: children per ``ask`` once the population is full (``ask(n)`` overrides).
        mutation_prob: chance each choice of the parent is redrawn (a child equal to an arch
            already scored costs no evaluation: the loop serves it from its cache).
        max_redraws: attempts per child when repair fails.
    """

    population: int = 64
    sample: int = 16
    batch: int = 16
    mutation_prob: float = 0.1
    max_redraws: int = 20


@register_strategy("aging")
class AgingEvolution:
    """Aging evolution over ``spec``; the factory signature matches the other strategies.

    Args:
        spec: the space.
        config: an :class:`AgingConfig`; any other object lends its ``population`` if it has one
            (so the generic loop's ``EvolutionConfig`` works too).
        seed: seeds the one Generator.
        repair: feasible version of an arch, or None (accept every arch).
    """

    def __init__(self, spec: SpaceSpec, config: AgingConfig | Any = None, *, seed: int = 0,
                 repair: Repair | None = None) -> None:
        if config is not None and not isinstance(config, AgingConfig):
            population = int(getattr(config, "population", AgingConfig.population))
            config = AgingConfig(population=population, sample=max(2, population // 4))
        self.spec = spec
        self.config = config or AgingConfig()
        self.rng = np.random.default_rng(seed)
        self.repair = repair
        # (arch, fitness, feasible, violation), oldest first
        self.population: deque[tuple[Arch, float, bool, float]] = deque()
        self.history_best: tuple[Arch, float] | None = None
        self.told = 0
        self.failed_repairs = 0

    def _feasible(self, draw) -> Arch | None:
        arch, failures = draw_feasible(draw, self.repair, self.rng, self.config.max_redraws)
        self.failed_repairs += failures
        return arch

    def _tournament(self) -> Arch:
        members = list(self.population)
        size = min(self.config.sample, len(members))
        picks = self.rng.choice(len(members), size=size, replace=False)
        # feasible first by fitness; then infeasible by smallest violation; ties: the younger one
        best = max(picks, key=lambda i: (members[i][2], members[i][1] if members[i][2] else -members[i][3], i))
        return members[int(best)][0]

    def ask(self, n: int | None = None) -> list[Arch]:
        """Random archs until the population is full, then ``n`` (default ``batch``) children."""
        cfg = self.config
        missing = cfg.population - len(self.population)
        if missing > 0:
            count = min(n, missing) if n else missing
            drawn = [self._feasible(lambda: sample_arch(self.spec, self.rng)) for _ in range(count)]
            return [a for a in drawn if a is not None]
        children = []
        for _ in range(n or cfg.batch):
            child = self._feasible(lambda: mutate_arch(self.spec, self._tournament(), self.rng, cfg.mutation_prob))
            if child is not None:
                children.append(child)
        return children

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        """Each arch joins the queue in order; beyond ``population`` the oldest dies."""
        for arch, score in zip(archs, scores):
            fitness = float(score.fitness)
            self.population.append((arch, fitness, bool(score.feasible), float(score.violation)))
            if len(self.population) > self.config.population:
                self.population.popleft()
            if score.feasible and (self.history_best is None or fitness > self.history_best[1]):
                self.history_best = (arch, fitness)
            self.told += 1

    @property
    def best(self) -> tuple[Arch, float] | None:
        """The fittest feasible arch ever told (it may have died of old age since)."""
        return self.history_best

