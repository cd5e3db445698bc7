import itertools

import pytest

from edgenas.boards import board_for_target
from edgenas.cost import CostModel
from edgenas.space import Arch, BlockChoice, get_space


class BlockTable:
    """An additive latency table: a fixed cost per (resolution, stage, slot, kernel, expand)."""

    def predict(self, arch: Arch) -> float:
        total = 3.0 * arch.resolution * arch.width
        for si, stage in enumerate(arch.stages):
            for bi, b in enumerate(stage):
                total += ((si + 1) * 7 + bi * 3 + b.kernel * 5 + b.expand * 2 + (b.kernel * b.expand) % 4) * arch.resolution / 16
        return total


def all_archs(spec):
    blocks = [BlockChoice(k, e) for k in spec.kernels for e in spec.expands]
    per_stage = [[tuple(c) for d in s.depths for c in itertools.product(blocks, repeat=d)] for s in spec.stages]
    for r in spec.resolutions:
        for w in spec.widths:
            for stages in itertools.product(*per_stage):
                yield Arch(r, w, stages)


@pytest.mark.parametrize("metric", ["sram_bytes", "arena_bytes", "flash_bytes", "model_flash_bytes", "macs",
                                    "params", "latency"])
def test_minimum_equals_brute_force_on_the_tiny_space(metric):
    spec = get_space("tiny-test")
    cost = CostModel(spec, board_for_target("cortex-m7"), BlockTable())
    brute = min(cost.metric(a, metric) for a in all_archs(spec))
    found = cost.minimum(metric)
    assert found.value == brute
    assert cost.metric(found.arch, metric) == found.value
