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
from edgenas.space import get_space, largest_arch, sample_arch, smallest_arch

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
    evo = run_search(cost, proxy_fitness, limits, config=EvolutionConfig(population=50), generations=10, seed=0)
    rnd = run_search(cost, proxy_fitness, limits, strategy="random", config=EvolutionConfig(population=50),
                     generations=10, seed=0)
    assert evo.evaluations < rnd.evaluations  # evolution revisits archs; random draws are all new
    assert evo.fitness > rnd.fitness


def test_progress_reports_every_generation(cost):
    seen = []
    run_search(cost, proxy_fitness, Constraints.of(sram_bytes=256 * 1024), config=EvolutionConfig(population=20),
               generations=3, seed=1, progress=lambda g, n, best: seen.append((g, n, best)))
    assert [g for g, _, _ in seen] == [0, 1, 2, 3]
    assert all(b2 >= b1 for (_, _, b1), (_, _, b2) in zip(seen, seen[1:]))
