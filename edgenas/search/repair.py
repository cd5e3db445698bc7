"""Shrink an infeasible arch until it meets the constraints, instead of redrawing it forever.

Each move makes one choice one step smaller: resolution, width, one stage's depth (its last block
goes), one block's expand ratio or kernel. Every move strictly lowers the sum of choice indices,
so repair ends after at most that many moves — at the smallest subnet at the latest. At each step
random moves are tried a few at a time until one cuts the violation, and the best tried is kept
(ties: the earlier listed move), so repair stays cheap, deterministic for a seed, and near the parent.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..space import Arch, BlockChoice, SpaceSpec


def _lower(values: tuple, value) -> object | None:
    i = values.index(value)
    return values[i - 1] if i > 0 else None


def shrink_moves(spec: SpaceSpec, arch: Arch) -> list[Arch]:
    """Every arch one step smaller than ``arch`` in exactly one choice."""
    moves = []
    r = _lower(spec.resolutions, arch.resolution)
    if r is not None:
        moves.append(Arch(r, arch.width, arch.stages))
    w = _lower(spec.widths, arch.width)
    if w is not None:
        moves.append(Arch(arch.resolution, w, arch.stages))
    for si, (stage, sspec) in enumerate(zip(arch.stages, spec.stages)):
        d = _lower(sspec.depths, len(stage))
        if d is not None:
            moves.append(_with_stage(arch, si, stage[:d]))
        for bi, b in enumerate(stage):
            e = _lower(spec.expands, b.expand)
            if e is not None:
                moves.append(_with_stage(arch, si, stage[:bi] + (BlockChoice(b.kernel, e),) + stage[bi + 1:]))
            k = _lower(spec.kernels, b.kernel)
            if k is not None:
                moves.append(_with_stage(arch, si, stage[:bi] + (BlockChoice(k, b.expand),) + stage[bi + 1:]))
    return moves


def _with_stage(arch: Arch, si: int, stage: tuple[BlockChoice, ...]) -> Arch:
    return Arch(arch.resolution, arch.width, arch.stages[:si] + (stage,) + arch.stages[si + 1:])


def repair(
    spec: SpaceSpec,
    arch: Arch,
    violation: Callable[[Arch], float],
    rng: np.random.Generator,
    *,
    tries_per_step: int = 6,
) -> Arch | None:
    """The first feasible arch found by greedy shrinking from ``arch``, or None if even shrinking
    everything cannot meet the constraints.

    Args:
        violation: 0 for a feasible arch, larger the further it is from feasibility.
        tries_per_step: random moves compared at each step (all of them when there are fewer).
    """
    current, v = arch, violation(arch)
    while v > 0:
        moves = shrink_moves(spec, current)
        if not moves:
            return None
        order = rng.permutation(len(moves)).tolist()
        scored: list[tuple[float, int]] = []
        for start in range(0, len(order), tries_per_step):
            scored += [(violation(moves[i]), i) for i in sorted(order[start:start + tries_per_step])]
            if min(scored)[0] < v:  # a chunk with a helpful move: stop looking
                break
        v, best = min(scored)
        current = moves[best]
    return current


def draw_feasible(draw: Callable[[], Arch], repair_fn: Callable[[Arch, np.random.Generator], Arch | None] | None,
                  rng: np.random.Generator, max_redraws: int) -> tuple[Arch | None, int]:
    """Draw (sample, mutate, cross) until ``repair_fn`` makes an arch feasible, at most ``max_redraws`` times.

    Returns the feasible arch (None when every draw failed) and how many repairs failed: strategies
    never loop forever on an impossible region, they give up and say so.
    """
    for failures in range(max_redraws):
        arch = draw()
        if repair_fn is None:
            return arch, failures
        fixed = repair_fn(arch, rng)
        if fixed is not None:
            return fixed, failures
    return None, max_redraws
