import json

import numpy as np
import pytest

from edgenas.boards import board_for_target
from edgenas.cost import CostModel
from edgenas.errors import InfeasibleBudgetError, UsageError
from edgenas.search import (
    Constraints,
    Evolution,
    EvolutionConfig,
    check_achievable,
    get_strategy,
    list_strategies,
    repair,
    run_search,
    shrink_moves,
)
from edgenas.space import Arch, get_space, largest_arch, sample_arch, smallest_arch

SPEC = get_space("mcu-mbv2")


def proxy_fitness(archs):
    """A deterministic stand-in for accuracy that prefers bigger subnets, with interactions."""
    out = []
    for a in archs:
        blocks = [b for s in a.stages for b in s]
        out.append(a.resolution / 48 + a.width + 0.02 * sum(b.expand * b.kernel for b in blocks) / 42
                   - 0.01 * abs(len(blocks) - 12))
    return out


@pytest.fixture(scope="module")
def cost():
    return CostModel(SPEC, board_for_target("cortex-m7"))


def test_strategies_are_registered():
    assert {"evolution", "random"} <= set(list_strategies())
    assert get_strategy("evolution") is Evolution
    with pytest.raises(UsageError):
        get_strategy("annealing")


def test_impossible_budget_fails_fast_with_the_minimum(cost):
    with pytest.raises(InfeasibleBudgetError) as err:
        check_achievable(cost, Constraints.of(sram_bytes=8 * 1024))
    smallest = cost.minimum("sram_bytes")
    assert "no subnet fits 8.0 KB RAM: the smallest needs" in str(err.value)
    assert f"at resolution {smallest.arch.resolution}" in str(err.value)
    assert "raise the RAM budget" in err.value.hint


def test_unknown_metric_is_a_usage_error():
    with pytest.raises(UsageError):
        Constraints.of(sram=1)


def test_shrink_moves_are_one_step_smaller():
    arch = largest_arch(SPEC)
    moves = shrink_moves(SPEC, arch)
    assert len(moves) == 2 + 4 + 16 * 2
    assert shrink_moves(SPEC, smallest_arch(SPEC)) == []


def test_repair_reaches_feasibility_or_gives_up(cost):
    limits = Constraints.of(sram_bytes=40 * 1024, flash_bytes=200 * 1024)
    rng = np.random.default_rng(0)
    calls = []

    def violation(a):
        calls.append(a)
        return limits.violation(cost.metrics(a))

    for _ in range(20):
        fixed = repair(SPEC, sample_arch(SPEC, rng), violation, rng)
        assert fixed is not None and limits.feasible(cost.metrics(fixed))
    impossible = Constraints.of(sram_bytes=1024)
    assert repair(SPEC, largest_arch(SPEC), lambda a: impossible.violation(cost.metrics(a)), rng) is None


@pytest.mark.slow
def test_search_respects_budgets_and_is_deterministic(cost, tmp_path):
    limits = Constraints.of(sram_bytes=64 * 1024, flash_bytes=256 * 1024)
    cfg = EvolutionConfig(population=40)
    a = run_search(cost, proxy_fitness, limits, config=cfg, generations=8, seed=3, out_dir=tmp_path / "a")
    b = run_search(cost, proxy_fitness, limits, config=cfg, generations=8, seed=3)
    assert str(a.arch) == str(b.arch) and a.history == b.history and a.trials == b.trials
    assert limits.feasible(a.metrics) and a.arena_verified
    assert a.metrics.arena_bytes == cost.planned_arena_bytes(a.arch)
    assert a.history[-1]["best"] >= a.history[0]["best"]
    saved = json.loads((tmp_path / "a" / "search.json").read_text())
    assert saved["arch"] == str(a.arch) and saved["seed"] == 3
    assert len(json.loads((tmp_path / "a" / "trials.json").read_text())) == a.evaluations


@pytest.mark.slow
def test_evolution_beats_random_search_with_fewer_evaluations(cost):
    limits = Constraints.of(sram_bytes=64 * 1024, flash_bytes=512 * 1024)
    # the strategies alone: the polish would climb both ends to the same local optimum
    evo = run_search(cost, proxy_fitness, limits, config=EvolutionConfig(population=50), generations=10, seed=0,
                     polish_end=False)
    rnd = run_search(cost, proxy_fitness, limits, strategy="random", config=EvolutionConfig(population=50),
                     generations=10, seed=0, polish_end=False)
    assert evo.evaluations < rnd.evaluations  # evolution revisits archs; random draws are all new
    assert evo.fitness > rnd.fitness


def test_progress_reports_every_generation(cost):
    seen = []
    run_search(cost, proxy_fitness, Constraints.of(sram_bytes=256 * 1024), config=EvolutionConfig(population=20),
               generations=3, seed=1, progress=lambda g, n, best: seen.append((g, n, best)))
    assert [g for g, _, _ in seen] == [0, 1, 2, 3]
    assert all(b2 >= b1 for (_, _, b1), (_, _, b2) in zip(seen, seen[1:]))



def test_neighbour_archs_are_every_arch_one_choice_away(cost):
    from edgenas.space import neighbour_archs

    spec = cost.spec
    arch = sample_arch(spec, np.random.default_rng(4))
    near = neighbour_archs(spec, arch)
    assert len(set(near)) == len(near) and arch not in near
    blocks = sum(len(s) for s in arch.stages) * (len(spec.kernels) * len(spec.expands) - 1)
    depth = sum((len(s) - 1 in ss.depths) + (len(s) + 1 in ss.depths) for s, ss in zip(arch.stages, spec.stages))
    assert len(near) == len(spec.resolutions) - 1 + len(spec.widths) - 1 + blocks + depth
    for n in near:
        assert n.resolution in spec.resolutions and n.width in spec.widths
        assert all(len(x) in ss.depths and all(b.kernel in spec.kernels and b.expand in spec.expands for b in x)
                   for x, ss in zip(n.stages, spec.stages))
        changed = (n.resolution != arch.resolution) + (n.width != arch.width) + sum(
            a != b for a, b in zip(n.stages, arch.stages))
        assert changed == 1


def test_polish_climbs_to_the_best_arch_from_anywhere_and_the_search_ends_on_a_local_optimum(cost):
    """The answer cannot hang on where the evolution stopped: on a landscape whose best arch is
    one step nearer from every other (choices that differ from a target, depths fixed), the climb
    reaches the target from any start; and a polished search's answer has no feasible neighbour
    that scores higher (to the compared digits)."""
    from edgenas.search.run import POLISH_DIGITS, polish
    from edgenas.space import neighbour_archs

    spec = cost.spec
    target = sample_arch(spec, np.random.default_rng(11))

    def distance_fitness(archs):
        return [-float((a.resolution != target.resolution) + (a.width != target.width)
                       + sum(10 * (len(x) != len(y)) + sum(p != q for p, q in zip(x, y))
                             for x, y in zip(a.stages, target.stages))) for a in archs]

    loose = Constraints.of(sram_bytes=2**30)
    rng = np.random.default_rng(12)
    for _ in range(4):
        drawn = sample_arch(spec, rng)  # its blocks, at the target's depths
        start = Arch(drawn.resolution, drawn.width,
                     tuple(tuple(x[min(i, len(x) - 1)] for i in range(len(t))) for x, t in zip(drawn.stages, target.stages)))
        end, fit, steps = polish(cost, distance_fitness, loose, start, distance_fitness([start])[0])
        assert end == target and fit == 0.0 and steps == -distance_fitness([start])[0]

    limits = Constraints.of(sram_bytes=64 * 1024, flash_bytes=512 * 1024)
    found = run_search(cost, proxy_fitness, limits, config=EvolutionConfig(population=20), generations=3, seed=0)
    assert found.extra["polish"]["from"]
    feasible = [n for n in neighbour_archs(spec, found.arch) if limits.feasible(cost.metrics(n))]
    best = round(found.fitness, POLISH_DIGITS)
    assert feasible and all(round(float(f), POLISH_DIGITS) <= best for f in proxy_fitness(feasible))
