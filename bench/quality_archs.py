"""The subnets the supernet-quality benchmark measures: largest, smallest and seeded random ones."""

from __future__ import annotations

import numpy as np

from edgenas.space import Arch, SpaceSpec, largest_arch, sample_arch, smallest_arch


def quality_archs(spec: SpaceSpec, random: int, seed: int) -> dict[str, Arch]:
    """``{"largest", "smallest", "random0", ...}``: the same seed always gives the same subnets."""
    rng = np.random.default_rng(seed)
    archs = {"largest": largest_arch(spec), "smallest": smallest_arch(spec)}
    for i in range(random):
        archs[f"random{i}"] = sample_arch(spec, rng)
    return archs
