"""Why this subnet: what a one-step change of each elastic choice would gain or cost, and which
budget stops the search from taking it.

Every number comes from the same predictor and cost model the search used, so the table explains
the search's decision, not a second opinion: a larger choice with a predicted gain that breaks a
limit marks that limit as *binding*; a change with a gain that fits would mean the search missed it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..cost.model import CostModel
from ..space import Arch, BlockChoice, SpaceSpec
from .predicted import shown_accuracy

Predict = Callable[[list[Arch]], Sequence[float]]
"""Batch accuracy predictor (the search's fitness model)."""

SHOWN_METRICS = ("latency", "sram_bytes", "flash_bytes", "macs")
"""Costs each sensitivity row reports (latency only with a latency table)."""


@dataclass(frozen=True)
class Neighbour:
    """``arch`` after one step along one elastic ``dimension`` (e.g. ``stage 2 kernel``, ``+1``)."""

    dimension: str
    change: str
    arch: Arch


@dataclass(frozen=True)
class SensitivityRow:
    """Predicted effect of one neighbour: accuracy and cost deltas, and the limits it would break."""

    dimension: str
    change: str
    arch: str
    accuracy_delta: float
    cost_delta: dict[str, float]
    violates: tuple[str, ...]

    @property
    def feasible(self) -> bool:
        return not self.violates

    def to_dict(self) -> dict:
        return {**asdict(self), "violates": list(self.violates), "feasible": self.feasible}


@dataclass(frozen=True)
class ConstraintUse:
    """How much of one limit the chosen subnet uses; ``binding`` if a predicted gain breaks it."""

    metric: str
    value: float
    limit: float
    binding: bool

    def to_dict(self) -> dict:
        return {**asdict(self), "used": self.value / self.limit}


def _step(values: Sequence, current, direction: int):
    """The neighbour of ``current`` in sorted ``values`` one step in ``direction`` (None at an end)."""
    ordered = sorted(values)
    i = ordered.index(current) + direction
    return ordered[i] if 0 <= i < len(ordered) else None


def _restage(arch: Arch, si: int, blocks: tuple[BlockChoice, ...]) -> Arch:
    return replace(arch, stages=arch.stages[:si] + (blocks,) + arch.stages[si + 1:])


def one_step_neighbours(spec: SpaceSpec, arch: Arch) -> list[Neighbour]:
    """Each elastic dimension moved one step down and up: resolution, width, and per stage its
    depth (add a copy of the last block / drop it), kernel and expand ratio (every block of the stage)."""
    out: list[Neighbour] = []
    for direction in (-1, 1):
        r = _step(spec.resolutions, arch.resolution, direction)
        if r is not None:
            out.append(Neighbour("resolution", f"{arch.resolution} → {r}", replace(arch, resolution=r)))
    for direction in (-1, 1):
        w = _step(spec.widths, arch.width, direction)
        if w is not None:
            out.append(Neighbour("width", f"{arch.width:g} → {w:g}", replace(arch, width=w)))
    for si, (stage_spec, blocks) in enumerate(zip(spec.stages, arch.stages)):
        label = f"stage {si + 1}"
        for direction in (-1, 1):
            depth = _step(stage_spec.depths, len(blocks), direction)
            if depth is not None:
                moved = blocks[:depth] if depth < len(blocks) else blocks + (blocks[-1],) * (depth - len(blocks))
                out.append(Neighbour(f"{label} depth", f"{len(blocks)} → {depth}", _restage(arch, si, moved)))
            for field_name, values in (("kernel", spec.kernels), ("expand", spec.expands)):
                moved = tuple(
                    replace(b, **{field_name: _step(values, getattr(b, field_name), direction) or getattr(b, field_name)})
                    for b in blocks
                )
                if moved != blocks:
                    old = ",".join(str(getattr(b, field_name)) for b in blocks)
                    new = ",".join(str(getattr(b, field_name)) for b in moved)
                    out.append(Neighbour(f"{label} {field_name}", f"{old} → {new}", _restage(arch, si, moved)))
    return out


def sensitivity(spec: SpaceSpec, arch: Arch, predict: Predict, cost: CostModel,
                limits: Mapping[str, float]) -> list[SensitivityRow]:
    """One row per :func:`one_step_neighbours` of ``arch``, deltas against ``arch`` itself."""
    neighbours = one_step_neighbours(spec, arch)
    scores = np.asarray(predict([arch] + [n.arch for n in neighbours]), dtype=float)
    base = cost.metrics(arch)
    rows = []
    for n, score in zip(neighbours, scores[1:]):
        m = cost.metrics(n.arch)
        # latency is None for both or neither: one cost model answers both archs
        deltas = {name: float(getattr(m, name) - getattr(base, name)) for name in SHOWN_METRICS
                  if getattr(base, name) is not None}
        violates = tuple(name for name, limit in sorted(limits.items()) if m.get(name) > limit)
        rows.append(SensitivityRow(n.dimension, n.change, str(n.arch), float(score - scores[0]), deltas, violates))
    return rows


def constraint_use(arch: Arch, cost: CostModel, limits: Mapping[str, float],
                   rows: Sequence[SensitivityRow]) -> list[ConstraintUse]:
    """Each limit's use by ``arch``; binding when some neighbour with a predicted gain breaks it."""
    metrics = cost.metrics(arch)
    return [
        ConstraintUse(name, float(metrics.get(name)), float(limit),
                      any(r.accuracy_delta > 0 and name in r.violates for r in rows))
        for name, limit in sorted(limits.items())
    ]


def explain(spec: SpaceSpec, arch: Arch, predict: Predict, cost: CostModel,
            limits: Mapping[str, float]) -> dict:
    """``report.json``'s ``explain`` section: predicted accuracy (clipped to [0, 1]; the raw score
    is ``predictor_score``), sensitivity rows, limit use, and the best feasible one-step change (None
    when every gain breaks a limit)."""
    rows = sensitivity(spec, arch, predict, cost, limits)
    gains = [r for r in rows if r.feasible and r.accuracy_delta > 0]
    best = max(gains, key=lambda r: r.accuracy_delta, default=None)
    score = float(np.asarray(predict([arch]), dtype=float)[0])
    return {
        "predicted_accuracy": shown_accuracy(score),
        "predictor_score": score,
        "sensitivity": [r.to_dict() for r in rows],
        "constraints": [c.to_dict() for c in constraint_use(arch, cost, limits, rows)],
        "best_feasible_step": best.to_dict() if best else None,
    }
