import optuna
import pytest

from edgenas.errors import UsageError
from edgenas.search import get_strategy
from edgenas.search.bayes import BayesConfig, BayesSearch
from edgenas.search.random_search import RandomSearch
from tests.search.strategy_harness import drive, median_share_above, problem


@pytest.mark.slow
def test_bayes_is_registered_and_deterministic_for_a_seed():
    prob = problem()
    assert get_strategy("bayes") is BayesSearch
    runs = [[str(a) for a, _ in drive(BayesSearch(prob.spec, seed=s, repair=prob.repair), prob, 30)] for s in (2, 2, 3)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.slow
def test_screening_spends_no_evaluation_on_infeasible_archs_and_tells_optuna():
    prob = problem()
    search = BayesSearch(prob.spec, seed=0, repair=prob.repair)
    trace = drive(search, prob, 40)
    assert all(s.feasible for _, s in trace)
    assert search.driver.screened > 0
    pruned = [t for t in search.study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert len(pruned) == search.driver.screened and all(t.constraints["violation"] > 0 for t in pruned)
    done = [t for t in search.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(t.constraints["violation"] == 0 for t in done)


def test_without_repair_infeasible_scores_become_constraint_values():
    prob = problem()
    search = BayesSearch(prob.spec, seed=0)
    trace = drive(search, prob, 30)
    told = {t.number: t for t in search.study.trials if t.state == optuna.trial.TrialState.COMPLETE}
    bad = [s for _, s in trace if not s.feasible]
    assert bad, "the budget should reject some uniform draws"
    assert sorted(t.constraints["violation"] for t in told.values() if t.constraints["violation"] > 0)[:1] == \
        sorted(s.violation for s in bad)[:1]


@pytest.mark.slow
def test_gp_sampler_runs_seeded():
    prob = problem()
    cfg = BayesConfig(sampler="gp", population=1, n_startup_trials=4)
    search = BayesSearch(prob.spec, cfg, seed=0, repair=prob.repair)
    trace = drive(search, prob, 6)
    assert len(trace) == 6
    assert isinstance(search.study.sampler, optuna.samplers.GPSampler)
    with pytest.raises(UsageError):
        BayesSearch(prob.spec, {"sampler": "smac"})
    with pytest.raises(UsageError):
        BayesSearch(prob.spec, {"samplr": "gp"})


@pytest.mark.slow
def test_tpe_finds_rarer_archs_than_random():
    """At 120 evaluations TPE's best lies deeper in the feasible space's top than random search's:
    with the 306-epoch supernet's predictor, over seeds 0-6, in the top 0-0.09 % (median 0.026 %)
    against 0.09-1.3 % (median 0.18 %). Seven seeds, not three: seeds 0-2 alone gave medians of
    0.064 % and 0.115 %, random search's luckiest draws."""
    prob = problem()
    budget, seeds = 120, range(7)
    tpe = median_share_above(lambda s: BayesSearch(prob.spec, seed=s, repair=prob.repair), budget, seeds)
    rand = median_share_above(lambda s: RandomSearch(prob.spec, seed=s, repair=prob.check), budget, seeds)
    assert tpe * 3 < rand, (tpe, rand)
