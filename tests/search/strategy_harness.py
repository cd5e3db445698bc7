"""A real, cheap search problem and a small ask/tell loop for the strategy tests.

Problem: the bundled Fashion-MNIST accuracy predictor as fitness, the real cost model of the
emulated Cortex-M7 board for a RAM + MACs budget that about a third of the space meets (MACs, not
latency: exact, so the tests do not move when the latency table is re-profiled). Objectives for
multi-objective strategies: (-accuracy, M MACs).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from edgenas.boards import get_board
from edgenas.cost import CostModel
from edgenas.estimate import AccuracyPredictor
from edgenas.estimate.registry import PREDICTORS_DIR
from edgenas.search import Constraints, Score
from edgenas.search.repair import repair as repair_arch
from edgenas.space import Arch
from edgenas.space.ops import sample_arch

LIMITS = Constraints.of(sram_bytes=28 * 1024, macs=1.2e6)


class Problem:
    """Scores archs of the bundled predictor's space; every metric and fitness is cached."""

    def __init__(self) -> None:
        board = get_board("mps2-an500")
        self.predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
        self.spec = self.predictor.spec
        self.cost = CostModel(self.spec, board)
        self.fitness: dict[Arch, float] = {}

    def violation(self, arch: Arch) -> float:
        return LIMITS.violation(self.cost.metrics(arch))

    def repair(self, arch: Arch, rng: np.random.Generator) -> Arch | None:
        return repair_arch(self.spec, arch, self.violation, rng)

    def check(self, arch: Arch, rng: np.random.Generator) -> Arch | None:
        """A repair that never repairs: ``arch`` if feasible, else None. Random search only uses its
        repair as a feasibility test, and this one gives the same draws without the shrinking work."""
        return arch if self.violation(arch) == 0 else None

    def score(self, archs: list[Arch]) -> list[Score]:
        new = [a for a in dict.fromkeys(archs) if a not in self.fitness]
        for a, v in zip(new, self.predictor.predict(new)):
            self.fitness[a] = float(v)
        out = []
        for a in archs:
            m = self.cost.metrics(a)
            acc = self.fitness[a]
            out.append(Score(acc, LIMITS.feasible(m), LIMITS.violation(m), (-acc, m.macs / 1e6)))
        return out


@lru_cache(maxsize=1)
def problem() -> Problem:
    return Problem()


def drive(strategy, prob: Problem, budget: int, *, max_idle_rounds: int = 50) -> list[tuple[Arch, Score]]:
    """Ask/tell until ``budget`` distinct archs are scored; returns them in evaluation order.

    Repeats cost nothing (told their earlier score); new archs past the budget are dropped from
    the batch. Stops early after ``max_idle_rounds`` rounds without a new arch (a collapsed strategy).
    """
    seen: dict[Arch, Score] = {}
    order: list[Arch] = []
    idle = 0
    while len(order) < budget and idle < max_idle_rounds:
        asked = strategy.ask()
        new = [a for a in dict.fromkeys(asked) if a not in seen][: budget - len(order)]
        for a, s in zip(new, prob.score(new)):
            seen[a] = s
        order += new
        idle = 0 if new else idle + 1
        told = [a for a in asked if a in seen]
        strategy.tell(told, [seen[a] for a in told])
    return [(a, seen[a]) for a in order]


def best_feasible(trace: list[tuple[Arch, Score]]) -> float:
    return max((s.fitness for _, s in trace if s.feasible), default=float("-inf"))


def share_above(value: float) -> float:
    """Share of the feasible space (a fixed 20,000-draw uniform sample) the predictor scores above ``value``.

    Scale-free, so the strategy tests ask "how rare is what it found" and do not move when a refitted
    predictor compresses or stretches the accuracy range."""
    return float(np.mean(_feasible_fitness() > value))


@lru_cache(maxsize=1)
def _feasible_fitness() -> np.ndarray:
    prob = problem()
    rng = np.random.default_rng(12345)
    feasible = [a for a in (sample_arch(prob.spec, rng) for _ in range(20_000)) if prob.violation(a) == 0]
    return np.asarray(prob.predictor.predict(feasible), dtype=float)


def median_share_above(make: Callable[[int], object], budget: int, seeds: range) -> float:
    """Median over seeds of :func:`share_above` for the best feasible arch each run found."""
    prob = problem()
    return float(np.median([share_above(best_feasible(drive(make(s), prob, budget))) for s in seeds]))
