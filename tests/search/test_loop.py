"""The generic loop on the bundled predictor and the emulated Cortex-M7 board's cost model."""

import numpy as np
import pytest

from edgenas.boards import board_for_target
from edgenas.cost import CostModel
from edgenas.cost.latency_table import LatencyTable
from edgenas.errors import InfeasibleBudgetError, UsageError
from edgenas.estimate import AccuracyPredictor
from edgenas.estimate.registry import PREDICTORS_DIR
from edgenas.extract.pipeline import default_latency_table
from edgenas.search import Constraints, registry
from edgenas.search.aging import AgingConfig
from edgenas.search.evolution import EvolutionConfig
from edgenas.search import loop as loop_module
from edgenas.search.loop import search_loop
from edgenas.search.pareto import dominates, hypervolume
from edgenas.space import Arch, largest_arch, sample_arch, smallest_arch
from edgenas.store import ResultsStore, RunMismatchError

LIMITS = Constraints.of(sram_bytes=64 * 1024, latency=20e6)


@pytest.fixture(scope="module")
def predictor():
    return AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")


@pytest.fixture(scope="module")
def cost(predictor):
    board = board_for_target("cortex-m7")
    return CostModel(predictor.spec, board, LatencyTable.load(default_latency_table(board)))


class Counting:
    """The predictor, counting the archs it scores; raises on call ``crash_on`` (1-based) if set."""

    def __init__(self, predictor, crash_on=None):
        self.predictor, self.crash_on = predictor, crash_on
        self.calls, self.archs = 0, []

    def __call__(self, archs):
        self.calls += 1
        if self.crash_on is not None and self.calls == self.crash_on:
            raise RuntimeError("estimator crashed")
        self.archs += [str(a) for a in archs]
        return self.predictor(archs)


def _key(result):
    return [(t.seq, t.arch, t.fitness, t.feasible, t.violation, t.objectives) for t in result.trials]


@pytest.mark.parametrize("strategy,config", [
    ("evolution", EvolutionConfig(population=30)), ("aging", AgingConfig(population=30, sample=8, batch=10)),
    ("random", EvolutionConfig(population=30)),
])
@pytest.mark.slow
def test_budget_counts_distinct_archs_each_evaluated_once(cost, predictor, strategy, config):
    est = Counting(predictor)
    result = search_loop(cost, est, LIMITS, strategy=strategy, config=config, budget=95, seed=0)
    assert result.evaluated == 95 == result.new == len(est.archs) == len(set(est.archs)) and result.stop == "budget"
    assert [t.arch for t in result.trials] == est.archs and [t.seq for t in result.trials] == list(range(95))
    for t in result.trials:
        m = cost.metrics(Arch.parse(t.arch))
        assert t.feasible == LIMITS.feasible(m) and t.violation == LIMITS.violation(m)
        assert t.objectives == (-t.fitness,) and t.metrics == m.to_dict()
    best = result.best
    assert best.feasible and best.fitness == max(t.fitness for t in result.trials if t.feasible)


@pytest.mark.slow
def test_pareto_front_and_hypervolume_of_two_objectives(cost, predictor):
    result = search_loop(cost, predictor, LIMITS, strategy="aging", config=AgingConfig(population=30, batch=10),
                         objectives=("accuracy", "latency"), budget=120, seed=1)
    feasible = [t for t in result.trials if t.feasible]
    assert all(t.objectives == (-t.fitness, t.metrics["latency"]) for t in result.trials)
    assert result.front and all(t.feasible for t in result.front)
    for t in feasible:  # the front is exactly the non-dominated feasible set
        on_front = not any(dominates(o.objectives, t.objectives) for o in feasible)
        assert on_front == (t in result.front)
    assert result.reference == (0.0, 20e6)  # accuracy 0 and the latency limit
    assert result.hypervolume == hypervolume([t.objectives for t in feasible], result.reference) > 0
    assert result.to_dict()["hypervolume"] == result.hypervolume


@pytest.mark.slow
def test_three_objectives_use_a_reference_fixed_by_the_settings(cost, predictor):
    kw = dict(strategy="aging", config=AgingConfig(population=20, batch=10), objectives=("accuracy", "latency", "ram"))
    latency_only = Constraints.of(latency=20e6)  # RAM is an objective without a limit
    a = search_loop(cost, predictor, latency_only, budget=40, seed=0, **kw)
    b = search_loop(cost, predictor, latency_only, budget=60, seed=3, **kw)
    largest = cost.metrics(largest_arch(cost.spec))
    assert a.reference == b.reference == (0.0, 20e6, 1.1 * largest.sram_bytes)  # comparable across runs
    assert a.objectives == ("accuracy", "latency", "sram_bytes") and all(len(t.objectives) == 3 for t in a.trials)
    feasible = [t.objectives for t in a.trials if t.feasible]
    assert a.hypervolume == hypervolume(feasible, a.reference) > 0


@pytest.mark.parametrize("strategy,config", [
    ("evolution", EvolutionConfig(population=25)), ("aging", AgingConfig(population=25, sample=6, batch=10)),
])
@pytest.mark.slow
def test_resume_after_a_crash_gives_the_uninterrupted_answer(cost, predictor, tmp_path, strategy, config):
    kw = dict(strategy=strategy, config=config, objectives=("accuracy", "latency"), budget=110, seed=4,
              run="crashy", estimator_name="predictor")
    db = tmp_path / "results.db"
    crashing = Counting(predictor, crash_on=4)
    with pytest.raises(RuntimeError, match="estimator crashed"):
        search_loop(cost, crashing, LIMITS, store=db, **kw)
    with ResultsStore(db) as store:
        kept = [t.arch for t in store.trials(store.get_run("crashy"))]
    assert kept == crashing.archs and 0 < len(kept) < 110  # three whole batches, the fourth lost

    resumed_est = Counting(predictor)
    resumed = search_loop(cost, resumed_est, LIMITS, store=db, **kw)
    straight = search_loop(cost, Counting(predictor), LIMITS, store=":memory:", **kw)
    assert _key(resumed) == _key(straight)
    assert (resumed.best.arch, resumed.best.fitness) == (straight.best.arch, straight.best.fitness)
    assert [t.arch for t in resumed.front] == [t.arch for t in straight.front]
    assert resumed.hypervolume == straight.hypervolume
    # the estimator saw only the archs the crash had not stored, each once
    assert not set(resumed_est.archs) & set(kept) and len(resumed_est.archs) == 110 - len(kept)
    assert resumed.new == 110 - len(kept) and resumed.evaluated == 110

    again = Counting(predictor)
    third = search_loop(cost, again, LIMITS, store=db, **kw)  # a finished run: everything from the store
    assert again.calls == 0 and third.new == 0 and _key(third) == _key(straight)
    bigger = search_loop(cost, again, LIMITS, store=db, **{**kw, "budget": 130})  # extending a run is allowed
    assert bigger.evaluated == 130 and bigger.new == 20 and _key(bigger)[:110] == _key(straight)


class OneByOne:
    """The predictor scoring one arch per call and yielding each score (a slow measuring estimator's
    shape); raises KeyboardInterrupt on call ``interrupt_on`` (1-based) if set."""

    def __init__(self, predictor, interrupt_on=None, on_call=None):
        self.predictor, self.interrupt_on, self.on_call = predictor, interrupt_on, on_call
        self.calls, self.archs = 0, []

    def __call__(self, archs):
        for arch in archs:
            self.calls += 1
            if self.on_call is not None:
                self.on_call(self)
            if self.calls == self.interrupt_on:
                raise KeyboardInterrupt
            self.archs.append(str(arch))
            yield float(self.predictor([arch])[0])


@pytest.mark.parametrize("k", [7, 25 + 7])  # in the first batch (generation 0); in the second
@pytest.mark.slow
def test_ctrl_c_in_a_batch_keeps_its_finished_evaluations_and_the_resume_skips_them(cost, predictor, tmp_path, k):
    kw = dict(strategy="evolution", config=EvolutionConfig(population=25), budget=80, seed=2, run="ctrl-c")
    db = tmp_path / "results.db"
    interrupted = OneByOne(predictor, interrupt_on=k + 1)
    with pytest.raises(KeyboardInterrupt):
        search_loop(cost, interrupted, LIMITS, store=db, **kw)
    with ResultsStore(db) as store:
        kept = store.trials(store.get_run("ctrl-c"))
    assert [t.arch for t in kept] == interrupted.archs and len(kept) == k
    assert [t.seq for t in kept] == list(range(k))

    resumed_est = OneByOne(predictor)
    resumed = search_loop(cost, resumed_est, LIMITS, store=db, **kw)
    straight = search_loop(cost, OneByOne(predictor), LIMITS, store=":memory:", **kw)
    assert _key(resumed) == _key(straight)
    assert (resumed.best.arch, resumed.best.fitness) == (straight.best.arch, straight.best.fitness)
    assert not set(resumed_est.archs) & set(interrupted.archs) and resumed.new == 80 - k


def test_yielded_scores_are_stored_as_they_come(cost, predictor, tmp_path, monkeypatch):
    monkeypatch.setattr(loop_module, "FLUSH_S", 0.0)
    db = tmp_path / "results.db"
    stored_before_call = []

    def look(est):  # another connection, as a second process (or the rerun after a kill -9) would see it
        with ResultsStore(db) as store:
            run = store.get_run("live")
            stored_before_call.append(store.count_trials(run) if run else 0)

    search_loop(cost, OneByOne(predictor, on_call=look), LIMITS, strategy="random",
                config=EvolutionConfig(population=10), budget=10, store=db, run="live")
    assert stored_before_call == list(range(10))


def test_an_estimator_giving_too_few_or_too_many_scores_is_a_usage_error(cost, predictor):
    for wrong in (lambda archs: iter(predictor(archs)[:-1]), lambda archs: iter(list(predictor(archs)) + [0.5]),
                  lambda archs: predictor(archs)[:-1]):
        with pytest.raises(UsageError, match="scores for"):
            search_loop(cost, wrong, LIMITS, budget=10)


def test_the_same_call_resumes_its_run_and_other_settings_get_another(cost, predictor, tmp_path):
    db = tmp_path / "r.db"
    kw = dict(strategy="aging", config=AgingConfig(population=20, batch=10), budget=40)
    first = search_loop(cost, predictor, LIMITS, store=db, seed=0, **kw)
    second = search_loop(cost, predictor, LIMITS, store=db, seed=0, **kw)
    other = search_loop(cost, predictor, LIMITS, store=db, seed=1, **kw)
    assert first.run == second.run != other.run and second.new == 0 and other.new == 40
    with pytest.raises(RunMismatchError) as err:
        search_loop(cost, predictor, Constraints.of(sram_bytes=48 * 1024), store=db, seed=0, run=first.run, **kw)
    assert "constraints" in str(err.value) and err.value.hint


def test_impossible_budget_fails_before_any_evaluation(cost, predictor):
    est = Counting(predictor)
    with pytest.raises(InfeasibleBudgetError, match="smallest needs"):
        search_loop(cost, est, Constraints.of(sram_bytes=4 * 1024), budget=10)
    assert est.calls == 0


def test_bad_requests_are_usage_errors(cost, predictor):
    for kwargs in (dict(objectives=("latency",)), dict(objectives=("accuracy", "speed")), dict(strategy="annealing"),
                   dict(budget=0), dict(budget=None), dict(objectives=("accuracy", "accuracy"))):
        with pytest.raises(UsageError):
            search_loop(cost, predictor, LIMITS, **kwargs)


def test_any_registered_strategy_is_driven_and_a_stuck_one_stops(cost, predictor, monkeypatch):
    class Stuck:
        """Proposes the same two archs forever after its first batch."""

        def __init__(self, spec, config=None, *, seed=0, repair=None):
            self.rng = np.random.default_rng(seed)
            self.first, self.told = None, 0

        def ask(self, n=None):
            if self.first is None:
                self.first = [smallest_arch(cost.spec), sample_arch(cost.spec, self.rng)]
            return list(self.first)

        def tell(self, archs, scores):
            self.told += len(scores)

    monkeypatch.setitem(registry._STRATEGIES, "test-stuck", Stuck)
    seen = []
    result = search_loop(cost, predictor, Constraints.of(sram_bytes=64 * 1024), strategy="test-stuck", budget=50,
                         max_idle_rounds=5, progress=lambda done, budget, best: seen.append((done, budget)))
    assert result.stop == "exhausted" and result.evaluated == 2 and result.rounds == 6
    assert seen == [(2, 50)] * 6


@pytest.mark.slow
def test_progress_reports_rising_counts_up_to_the_budget(cost, predictor):
    seen = []
    search_loop(cost, predictor, LIMITS, strategy="evolution", config=EvolutionConfig(population=20), budget=70,
                progress=lambda done, budget, best: seen.append((done, best)))
    counts = [d for d, _ in seen]
    assert counts == sorted(counts) and counts[-1] == 70
    assert all(b2 >= b1 for (_, b1), (_, b2) in zip(seen, seen[1:]))


@pytest.mark.slow
def test_warm_start_is_evaluated_first_repaired_to_the_new_budget(cost, predictor, tmp_path):
    """An earlier search's best seed a tighter one: evaluated before any proposal, repaired to fit."""
    from edgenas.search.run import run_search
    from edgenas.search.warm_start import load_warm_start

    loose = run_search(cost, predictor, Constraints.of(sram_bytes=128 * 1024), generations=3, seed=1,
                       out_dir=tmp_path / "loose")
    seeds = load_warm_start(tmp_path / "loose", cost.spec, top=4)
    assert seeds[0] == loose.arch and len(seeds) == 4
    tight = Constraints.of(sram_bytes=40 * 1024)
    warm = search_loop(cost, predictor, tight, budget=40, seed=2, warm_start=seeds)
    first = sorted(warm.trials, key=lambda t: t.seq)[: len(seeds)]
    assert all(t.feasible for t in first)  # repaired where the earlier best broke the new budget
    assert any(cost.metrics(a).sram_bytes > 40 * 1024 for a in seeds)
    cold = search_loop(cost, predictor, tight, budget=40, seed=2)
    assert [t.arch for t in warm.trials] != [t.arch for t in cold.trials]
    # same seeds, same search
    again = search_loop(cost, predictor, tight, budget=40, seed=2, warm_start=seeds)
    assert _key(again) == _key(warm)


def test_warm_start_errors_name_what_is_wrong(cost, tmp_path):
    from edgenas.search.warm_start import load_warm_start

    with pytest.raises(UsageError, match="no earlier search"):
        load_warm_start(tmp_path, cost.spec)
    (tmp_path / "trials.json").write_text('[{"arch": "r99|w3|k3e3", "fitness": 0.9, "feasible": true}]')
    with pytest.raises(UsageError, match="none of the archs"):
        load_warm_start(tmp_path, cost.spec)
    (tmp_path / "trials.json").write_text("{broken")
    with pytest.raises(UsageError, match="cannot read"):
        load_warm_start(tmp_path, cost.spec)
