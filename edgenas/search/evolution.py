"""Constrained evolutionary search as in Once-for-All / MCUNet. Heuristic: no optimality guarantee.

Generation 0 is ``population`` random archs. Each later generation keeps the best
``parent_ratio * population`` as parents and adds children: ``mutation_ratio`` of them are parents
mutated (each choice resampled with ``mutation_prob``), the rest are crossovers of two random
parents (each choice from either). A child that breaks a constraint is handed to ``repair``
(greedy shrinking) rather than redrawn; only if repair fails is it drawn again, a bounded number
of times. All randomness comes from one ``numpy.random.Generator`` seeded by ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..space import Arch, SpaceSpec, crossover_arch, mutate_arch, sample_arch
from .registry import register_strategy
from .repair import draw_feasible
from .strategy import Repair, Score


@dataclass(frozen=True)
class EvolutionConfig:
    """OFA's defaults, scaled for a microcontroller space (OFA: 100 / 0.25 / 0.5 / 0.1)."""

    population: int = 100
    parent_ratio: float = 0.25
    mutation_ratio: float = 0.5
    mutation_prob: float = 0.1
    max_redraws: int = 20

    @property
    def parents(self) -> int:
        return max(1, int(round(self.population * self.parent_ratio)))


@register_strategy("evolution")
class Evolution:
    """OFA-style evolution over ``spec`` with repair of infeasible children.

    Args:
        spec: the space.
        config: population and operator rates.
        seed: seeds the one Generator.
        repair: feasible version of an arch, or None (``None`` repair = accept every arch).
    """

    def __init__(self, spec: SpaceSpec, config: EvolutionConfig | None = None, *, seed: int = 0,
                 repair: Repair | None = None) -> None:
        self.spec = spec
        self.config = config or EvolutionConfig()
        self.rng = np.random.default_rng(seed)
        self.repair = repair
        self.population: list[tuple[Arch, float]] = []  # feasible, best first
        self.generation = 0
        self.failed_repairs = 0

    def _feasible(self, draw) -> Arch | None:
        arch, failures = draw_feasible(draw, self.repair, self.rng, self.config.max_redraws)
        self.failed_repairs += failures
        return arch

    def ask(self, n: int | None = None) -> list[Arch]:
        """Generation 0: ``population`` random archs; later: ``population - parents`` children."""
        cfg = self.config
        if not self.population:
            count = n or cfg.population
            drawn = [self._feasible(lambda: sample_arch(self.spec, self.rng)) for _ in range(count)]
            return [a for a in drawn if a is not None]
        parents = [a for a, _ in self.population[: cfg.parents]]
        count = n or (cfg.population - len(parents))
        n_mutate = int(round(count * cfg.mutation_ratio))
        children: list[Arch] = []
        for i in range(count):
            if i < n_mutate:
                def draw() -> Arch:
                    parent = parents[int(self.rng.integers(len(parents)))]
                    return mutate_arch(self.spec, parent, self.rng, cfg.mutation_prob)
            else:
                def draw() -> Arch:
                    a, b = (parents[int(j)] for j in self.rng.integers(len(parents), size=2))
                    return crossover_arch(self.spec, a, b, self.rng)
            child = self._feasible(draw)
            if child is not None:
                children.append(child)
        return children

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        """Merge scored archs with the parents; the best ``parents`` survive (all, after gen 0)."""
        cfg = self.config
        keep = self.population[: cfg.parents] if self.population else []
        seen = {a for a, _ in keep}
        for arch, score in zip(archs, scores):
            if score.feasible and arch not in seen:
                keep.append((arch, float(score.fitness)))
                seen.add(arch)
        # stable sort: equal fitness keeps arrival order, so runs are reproducible
        self.population = sorted(keep, key=lambda t: -t[1])
        self.generation += 1

    @property
    def best(self) -> tuple[Arch, float] | None:
        return self.population[0] if self.population else None

