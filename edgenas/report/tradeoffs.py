"""Accuracy against cost for the search's trials and for random subnets: the points behind the
Pareto plot, so a reader sees what the search found next to what chance finds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..cost.model import CostModel
from ..space import Arch, SpaceSpec, sample_arch
from .explain import Predict

RANDOM_SAMPLES = 300


@dataclass(frozen=True)
class Tradeoff:
    """Points ``(cost, accuracy)`` on one metric: search trials, random subnets, the front and the choice.

    Attributes:
        trials: every trial of the search ``(metric, fitness, feasible)``.
        random: ``RANDOM_SAMPLES`` uniformly drawn subnets scored by the same predictor.
        front: trials on the Pareto front (lowest cost for their accuracy), sorted by cost.
        limit: the budget on this metric (None if unconstrained).
    """

    metric: str
    trials: tuple[tuple[float, float, bool], ...]
    random: tuple[tuple[float, float, bool], ...]
    front: tuple[tuple[float, float], ...]
    chosen: tuple[float, float]
    limit: float | None


def pareto_front(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points not beaten by another with lower-or-equal cost and higher-or-equal accuracy, by cost."""
    front: list[tuple[float, float]] = []
    for cost, acc in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or acc > front[-1][1]:
            front.append((cost, acc))
    return front


def plotted_metrics(limits: Mapping[str, float], cost: CostModel) -> list[str]:
    """The constrained metrics, or RAM and (with a table) latency when the search had no budget."""
    if limits:
        return sorted(limits)
    return ["sram_bytes"] + (["latency"] if cost.latency_table is not None else [])


def tradeoffs(spec: SpaceSpec, arch: Arch, chosen_fitness: float, trials: Sequence[dict], predict: Predict,
              cost: CostModel, limits: Mapping[str, float], seed: int = 0) -> list[Tradeoff]:
    """One :class:`Tradeoff` per :func:`plotted_metrics`; ``trials`` as in ``search/trials.json``."""
    rng = np.random.default_rng(seed)
    randoms = [sample_arch(spec, rng) for _ in range(RANDOM_SAMPLES)]
    random_scores = np.asarray(predict(randoms), dtype=float)
    archs = [Arch.parse(t["arch"]) for t in trials]
    random_metrics = [cost.metrics(a) for a in randoms]
    trial_metrics = [cost.metrics(a) for a in archs]

    def fits(m) -> bool:  # noqa: ANN001 (Metrics)
        return all(m.get(k) <= v for k, v in limits.items())

    out = []
    for name in plotted_metrics(limits, cost):
        tr = tuple((float(m.get(name)), float(t["fitness"]), fits(m)) for m, t in zip(trial_metrics, trials))
        rnd = tuple((float(m.get(name)), float(s), fits(m)) for m, s in zip(random_metrics, random_scores))
        out.append(Tradeoff(
            name, tr, rnd, tuple(pareto_front([(c, a) for c, a, _ in tr])),
            (float(cost.metrics(arch).get(name)), float(chosen_fitness)), limits.get(name),
        ))
    return out
