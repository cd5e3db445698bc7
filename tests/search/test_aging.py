import pytest

from edgenas.boards import board_for_target
from edgenas.cost import CostModel
from edgenas.search import Constraints, Score, get_strategy, repair
from edgenas.search.aging import AgingConfig, AgingEvolution
from edgenas.search.loop import search_loop
from edgenas.space import get_space

SPEC = get_space("mcu-mbv2")


def size_fitness(archs):
    """Deterministic stand-in for accuracy: bigger is better, with a depth preference."""
    return [a.resolution / 48 + a.width + 0.02 * sum(b.expand * b.kernel for s in a.stages for b in s) / 42
            - 0.01 * abs(sum(len(s) for s in a.stages) - 12) for a in archs]


@pytest.fixture(scope="module")
def cost():
    return CostModel(SPEC, board_for_target("cortex-m7"))


def _tell(evo, archs, feasible=True):
    evo.tell(archs, [Score(f, feasible) for f in size_fitness(archs)])


def test_aging_is_registered_and_fills_its_population_first():
    assert get_strategy("aging") is AgingEvolution
    evo = AgingEvolution(SPEC, AgingConfig(population=12, sample=4, batch=5), seed=0)
    first = evo.ask()
    assert len(first) == 12
    assert len(evo.ask(5)) == 5  # still filling: at most n of the missing members
    _tell(evo, first)
    assert len(evo.ask()) == 5  # full: a batch of children


def test_the_oldest_member_dies_whatever_its_fitness():
    evo = AgingEvolution(SPEC, AgingConfig(population=6, sample=3, batch=2), seed=1)
    first = evo.ask()
    _tell(evo, first)
    children = evo.ask()
    _tell(evo, children)
    assert [a for a, *_ in evo.population] == first[2:] + children
    best_initial = max(zip(size_fitness(first), first))[1]
    assert evo.best[0] in [best_initial, *children]  # the best ever told is remembered after death


def test_tournament_mutates_the_best_feasible_member():
    # sample = population and no mutation: every child is a copy of the tournament winner
    evo = AgingEvolution(SPEC, AgingConfig(population=8, sample=8, batch=4, mutation_prob=0.0), seed=2)
    members = evo.ask()
    scores = size_fitness(members)
    order = sorted(range(8), key=lambda i: -scores[i])
    told = [Score(s, i != order[0], 0.0 if i != order[0] else 0.5) for i, s in enumerate(scores)]
    evo.tell(members, told)  # the fittest is infeasible: it must lose to the best feasible one
    assert evo.ask() == [members[order[1]]] * 4


def test_same_seed_same_search():
    def run(evo, rounds):
        asked = []
        for _ in range(rounds):
            archs = evo.ask()
            _tell(evo, archs)
            asked.append([str(a) for a in archs])
        return asked

    cfg = AgingConfig(population=10, sample=3, batch=4)
    a, b = AgingEvolution(SPEC, cfg, seed=5), AgingEvolution(SPEC, cfg, seed=5)
    assert run(a, 4) == run(b, 4)
    assert run(AgingEvolution(SPEC, cfg, seed=6), 1) != run(AgingEvolution(SPEC, cfg, seed=5), 1)


def test_children_are_repaired_into_the_constraints(cost):
    limits = Constraints.of(sram_bytes=40 * 1024, flash_bytes=220 * 1024)

    def fix(arch, rng):
        return repair(SPEC, arch, lambda x: limits.violation(cost.metrics(x)), rng)

    evo = AgingEvolution(SPEC, AgingConfig(population=16, sample=4, batch=8), seed=0, repair=fix)
    for _ in range(4):
        archs = evo.ask()
        assert archs and all(limits.feasible(cost.metrics(a)) for a in archs)
        _tell(evo, archs)


@pytest.mark.slow
def test_aging_beats_random_at_equal_budget(cost):
    limits = Constraints.of(sram_bytes=64 * 1024)
    kw = dict(budget=300, batch_size=None, objectives=("accuracy",))
    found = {}
    for name, config in (("aging", AgingConfig(population=40, sample=10, batch=10)), ("random", None)):
        found[name] = [search_loop(cost, size_fitness, limits, strategy=name, config=config, seed=s, **kw).best.fitness
                       for s in (0, 1)]
    assert sum(found["aging"]) > sum(found["random"])
