"""Exact size of a space, by dynamic programming over stages (no enumeration)."""

from __future__ import annotations

from .spec import SpaceSpec


def count_archs(spec: SpaceSpec) -> int:
    """Number of distinct subnets (distinct canonical strings) in ``spec``.

    A stage of depth ``d`` has ``(|kernels| * |expands|) ** d`` block assignments, so a stage
    contributes ``sum_d B**d``; stages are independent, so their counts multiply, and so do the
    resolution and width choices. Python ints are exact at any size.
    """
    per_block = len(spec.kernels) * len(spec.expands)
    total = len(spec.resolutions) * len(spec.widths)
    for stage in spec.stages:
        total *= sum(per_block**d for d in stage.depths)
    return total
