import time

import numpy as np
import pytest

from edgenas.cost import CostModel, arena_bytes, planned_arena_bytes
from edgenas.space import get_space, largest_arch, sample_arch, smallest_arch


@pytest.mark.parametrize("space,count", [("mcu-mbv2", 120), ("tiny-test", 60)])
@pytest.mark.slow
def test_fast_arena_equals_the_compilers_plan(space, count):
    spec = get_space(space)
    rng = np.random.default_rng(11)
    archs = [largest_arch(spec), smallest_arch(spec)] + [sample_arch(spec, rng) for _ in range(count)]
    cost = CostModel(spec)
    for arch in archs:
        planned = planned_arena_bytes(spec, arch)
        assert arena_bytes(spec, arch) == planned, str(arch)
        assert cost.arena_bytes(arch) == planned, str(arch)


@pytest.mark.slow
def test_fast_arena_is_fast():
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(0)
    archs = [sample_arch(spec, rng) for _ in range(500)]
    cost = CostModel(spec)
    start = time.perf_counter()
    for arch in archs:
        cost.metrics(arch)
    per_arch_s = (time.perf_counter() - start) / len(archs)
    assert per_arch_s < 0.005  # the compiler path takes ~20 ms; this is ~0.1-0.4 ms on 2 shared cores
