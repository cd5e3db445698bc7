import itertools

import numpy as np
import pytest

from edgenas.errors import SpaceError
from edgenas.space import (
    Arch,
    BlockChoice,
    count_archs,
    crossover_arch,
    get_space,
    largest_arch,
    list_spaces,
    make_divisible,
    mutate_arch,
    sample_arch,
    smallest_arch,
)


def enumerate_all(spec):
    """Brute-force enumeration of canonical strings (only for tiny spaces)."""
    blocks = [BlockChoice(k, e) for k in spec.kernels for e in spec.expands]
    per_stage = [
        [tuple(c) for d in s.depths for c in itertools.product(blocks, repeat=d)] for s in spec.stages
    ]
    for r in spec.resolutions:
        for w in spec.widths:
            for stages in itertools.product(*per_stage):
                yield str(Arch(r, w, stages))


def test_count_matches_enumeration_on_tiny_space():
    spec = get_space("tiny-test")
    names = list(enumerate_all(spec))
    assert len(names) == len(set(names)) == count_archs(spec)


def test_count_of_default_space_is_exact():
    spec = get_space("mcu-mbv2")
    per_block = 9
    per_stage = per_block**2 + per_block**3 + per_block**4
    assert count_archs(spec) == 5 * 3 * per_stage**4


def test_string_and_json_round_trip():
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(3)
    for _ in range(50):
        arch = sample_arch(spec, rng)
        assert Arch.parse(str(arch)) == arch
        assert Arch.from_json(arch.to_json()) == arch
        assert arch.validate(spec) is arch


def test_canonical_string_format():
    arch = Arch(32, 0.75, ((BlockChoice(3, 4), BlockChoice(5, 6)), (BlockChoice(7, 3),)))
    assert str(arch) == "r32|w0.75|k3e4,k5e6|k7e3"


@pytest.mark.parametrize("text", ["", "r32", "x32|w1|k3e3", "r32|w1|k3", "r32|wx|k3e3", "r32|w1|k3e3,,k5e4"])
def test_parse_rejects_garbage(text):
    with pytest.raises(SpaceError):
        Arch.parse(text)


def test_validate_names_the_bad_value():
    spec = get_space("mcu-mbv2")
    bad = Arch(33, 1.0, largest_arch(spec).stages)
    with pytest.raises(SpaceError, match="resolution 33"):
        bad.validate(spec)
    stages = list(largest_arch(spec).stages)
    stages[1] = (BlockChoice(9, 6),) * 2
    with pytest.raises(SpaceError, match="k9e6"):
        Arch(32, 1.0, tuple(stages)).validate(spec)


def test_sampling_is_seeded_and_in_space():
    spec = get_space("mcu-mbv2")
    a = [str(sample_arch(spec, np.random.default_rng(7))) for _ in range(3)]
    assert len(set(a)) == 1
    rng = np.random.default_rng(1)
    seen = {str(sample_arch(spec, rng).validate(spec)) for _ in range(200)}
    assert len(seen) == 200


def test_mutation_and_crossover_stay_in_space():
    spec = get_space("mcu-mbv2")
    rng = np.random.default_rng(5)
    a, b = sample_arch(spec, rng), sample_arch(spec, rng)
    for _ in range(100):
        mutate_arch(spec, a, rng, prob=0.3).validate(spec)
        child = crossover_arch(spec, a, b, rng).validate(spec)
        for stage, sa, sb in zip(child.stages, a.stages, b.stages):
            assert len(stage) in (len(sa), len(sb))
    assert mutate_arch(spec, a, rng, prob=0.0) == a


def test_extremes_and_registry():
    spec = get_space("mcu-mbv2")
    assert largest_arch(spec).depths == (4, 4, 4, 4)
    assert smallest_arch(spec).resolution == 24
    assert "mcu-mbv2" in list_spaces("mcu-*")
    with pytest.raises(SpaceError, match="unknown space"):
        get_space("nope")


def test_keyword_space_keeps_time_steps_and_cuts_through_mcu_budgets():
    """The audio space halves three times, not five: 48 px keeps 6 steps of time to the head."""
    from edgenas.cost.memory import planned_arena_bytes
    from edgenas.space import plan_net

    spec = get_space("kws-mbv2", num_classes=12)
    assert "kws-mbv2" in list_spaces("kws-*")
    assert plan_net(spec, largest_arch(spec)).blocks[-1].out_size == 6
    assert planned_arena_bytes(spec, smallest_arch(spec)) < 32 * 1024 < 64 * 1024 < planned_arena_bytes(
        spec, largest_arch(spec))


def test_tables_of_other_spaces_are_named_after_board_and_space():
    from edgenas.profile.targets import default_table_path, written_table_path

    assert default_table_path("cortex-m7").name == "mps2-an500.json"
    assert default_table_path("cortex-m7", space="kws-mbv2").name == "mps2-an500.kws-mbv2.json"
    assert str(written_table_path("host", "kws-mbv2")) == "latency/host.kws-mbv2.json"


@pytest.mark.parametrize("value,expected", [(16, 16), (12, 12), (18, 20), (30, 32), (2, 4), (36, 36)])
def test_make_divisible(value, expected):
    assert make_divisible(value, 4) == expected
