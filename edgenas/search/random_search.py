"""Random search: uniform draws, infeasible ones rejected (not repaired). The baseline."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..space import Arch, SpaceSpec, sample_arch
from .registry import register_strategy
from .strategy import Repair, Score


@register_strategy("random")
class RandomSearch:
    """Each ``ask(n)`` returns ``n`` uniform draws that pass ``is_feasible`` (at most
    ``max_draws_per_arch * n`` draws, so an almost impossible budget cannot loop forever).

    ``repair`` is accepted for a uniform factory signature and only used as a feasibility test.
    """

    def __init__(self, spec: SpaceSpec, config: Any = None, *, seed: int = 0, repair: Repair | None = None,
                 max_draws_per_arch: int = 200) -> None:
        self.spec = spec
        self.rng = np.random.default_rng(seed)
        self.repair = repair
        self.max_draws_per_arch = max_draws_per_arch
        self.population: list[tuple[Arch, float]] = []
        self.population_size = int(getattr(config, "population", 100) or 100)
        self.generation = 0

    def _ok(self, arch: Arch) -> bool:
        if self.repair is None:
            return True
        fixed = self.repair(arch, self.rng)
        return fixed is not None and str(fixed) == str(arch)  # repair returns feasible archs unchanged

    def ask(self, n: int | None = None) -> list[Arch]:
        want = n or self.population_size
        out: list[Arch] = []
        for _ in range(want * self.max_draws_per_arch):
            if len(out) == want:
                break
            arch = sample_arch(self.spec, self.rng)
            if self._ok(arch):
                out.append(arch)
        return out

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        merged = self.population + [(a, float(s.fitness)) for a, s in zip(archs, scores) if s.feasible]
        self.population = sorted(merged, key=lambda t: -t[1])[:1]
        self.generation += 1

    @property
    def best(self) -> tuple[Arch, float] | None:
        return self.population[0] if self.population else None

