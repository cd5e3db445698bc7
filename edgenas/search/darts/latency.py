"""Expected latency of a relaxed architecture from a measured per-block latency table.

A table predicts ``latency(arch) = stem + sum(block entries) + head + overhead`` (medians of
measured samples, :class:`~edgenas.cost.latency_table.LatencyTable`). Each block entry is keyed by
its signature, which at fixed resolution and width depends only on the slot and its own
``(kernel, expand)`` choice, so every candidate of every slot has one table value and ``skip`` has
0. The expected latency under per-slot candidate weights ``p`` is then
``fixed + sum_slot sum_c p[slot, c] * latency[slot, c]`` (FBNet / ProxylessNAS), differentiable in
``p``; for one-hot weights of a valid arch it is exactly ``table.predict(arch)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...cost.latency_table import LatencyTable
from ...errors import SpaceError
from ...space.signature import arch_signatures
from ...space import Arch, BlockChoice, SpaceSpec
from .slots import SKIP, Slot


@dataclass(frozen=True)
class LatencyTerms:
    """Table values laid out per slot and candidate (``unit`` of the table, e.g. instructions).

    Attributes:
        fixed: stem + head entries + the per-inference overhead.
        slots: per slot, the latency of each candidate (``skip`` = 0), in candidate order.
    """

    unit: str
    fixed: float
    slots: tuple[tuple[float, ...], ...]

    def expected(self, weights: Sequence[torch.Tensor]) -> torch.Tensor:
        """``fixed + sum(weights[s] . slots[s])``: a scalar tensor, differentiable in ``weights``."""
        total = torch.tensor(self.fixed, dtype=torch.float64)
        for w, lat in zip(weights, self.slots):
            total = total + (w.to(torch.float64) * torch.tensor(lat, dtype=torch.float64)).sum()
        return total


def latency_terms(table: LatencyTable, spec: SpaceSpec, slots: Sequence[Slot], resolution: int,
                  width: float) -> LatencyTerms:
    """Read every candidate's entry of ``slots`` from ``table``.

    Raises:
        SpaceError: the table was measured for another space.
        TableError: an entry is missing from the table (its hint says how to extend it).
    """
    if table.spec != spec:
        raise SpaceError(
            f"latency table for {table.target} covers space {table.spec.name!r}, the search runs on {spec.name!r}",
            hint="profile this space with `edgenas profile --target ... --table NEW.json`",
        )
    # one max-depth arch per (kernel, expand) holds every slot's entry for that choice
    per_choice: dict[BlockChoice, list[str]] = {}
    stem_head: list[str] = []
    for cand in {c for slot in slots for c in slot.candidates if c is not SKIP}:
        arch = Arch(resolution, width, tuple((cand,) * max(s.depths) for s in spec.stages))
        sigs = arch_signatures(spec, arch)
        stem_head = [sigs[0].key, sigs[-1].key]
        per_choice[cand] = [s.key for s in sigs[1:-1]]
    fixed = table.predict_keys(stem_head)  # stem + head + overhead
    rows = []
    for i, slot in enumerate(slots):
        rows.append(tuple(0.0 if c is SKIP else table.stats(per_choice[c][i]).median for c in slot.candidates))
    return LatencyTerms(table.unit, float(fixed), tuple(rows))
