import numpy as np
import pytest

from edgenas.search import Score, get_strategy
from edgenas.search.decisions import active_mask, decisions, decode, encode, from_params, to_params
from edgenas.search.random_search import RandomSearch
from edgenas.search.rl import RLConfig, RLSearch
from edgenas.space import get_space, sample_arch
from tests.search.strategy_harness import drive, median_share_above, problem


def test_decisions_round_trip_and_mask_inactive_slots():
    spec = get_space("mcu-mbv2")
    assert len(decisions(spec)) == 2 + 4 * (1 + 4 * 2)
    rng = np.random.default_rng(0)
    for _ in range(50):
        arch = sample_arch(spec, rng)
        index = encode(spec, arch)
        assert decode(spec, index) == arch
        assert from_params(spec, to_params(spec, arch)) == arch
        assert sum(active_mask(spec, index)) == 2 + 4 + 2 * sum(arch.depths)
    # slots beyond the depth do not shape the arch
    index = encode(spec, sample_arch(spec, rng))
    for d, i in zip(decisions(spec), list(range(len(index)))):
        if d.slot is not None and not active_mask(spec, index)[i]:
            changed = list(index)
            changed[i] = len(d.choices) - 1
            assert decode(spec, changed) == decode(spec, index)


def test_reward_is_mnasnet_style():
    rl = RLSearch(problem().spec, seed=0)
    assert rl.reward(Score(0.9)) == pytest.approx(0.9)
    assert rl.reward(Score(0.9, False, 0.1)) == pytest.approx(0.9 * 1.1 ** -0.5)
    assert rl.reward(Score(0.9, False, 1.0)) < rl.reward(Score(0.9, False, 0.1)) < 0.9
    assert rl.reward(Score(0.9, False, 0.0)) == rl.reward(Score(0.9, False, 1.0))  # unquantified: 100% over


@pytest.mark.slow
def test_rl_is_registered_and_deterministic_for_a_seed():
    prob = problem()
    assert get_strategy("rl") is RLSearch
    runs = [[str(a) for a, _ in drive(RLSearch(prob.spec, seed=s, repair=prob.repair), prob, 40)] for s in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.slow
def test_controller_learns_the_budget_from_the_penalty_and_keeps_entropy():
    """Without repair, only the MnasNet penalty tells the controller about the budget."""
    prob = problem()
    rl = RLSearch(prob.spec, RLConfig(use_repair=False), seed=0)
    start_entropy = rl.entropy()
    rewards, feasible = [], []
    for _ in range(30):
        batch = rl.ask()
        scores = prob.score(batch)
        rewards.append(np.mean([rl.reward(s) for s in scores]))
        feasible.append(np.mean([s.feasible for s in scores]))
        rl.tell(batch, scores)
    assert np.mean(rewards[-5:]) > np.mean(rewards[:5])
    assert np.mean(feasible[-5:]) > np.mean(feasible[:5])
    assert 0.2 * start_entropy < rl.entropy() < start_entropy  # learning, not collapsed


@pytest.mark.slow
def test_rl_finds_rarer_archs_than_random():
    """At 300 evaluations (the strategies bench's budget), median over seeds 0-2 of the share of the
    feasible space above the best found: RL 0.07 %, random 0.19 % with the 222-epoch supernet's
    predictor (seeds 0-4 give the same medians; it was 0.01 % and 0.11 % with the 206-epoch one)."""
    prob = problem()
    budget, seeds = 300, range(3)
    rl = median_share_above(lambda s: RLSearch(prob.spec, seed=s, repair=prob.repair), budget, seeds)
    rand = median_share_above(lambda s: RandomSearch(prob.spec, seed=s, repair=prob.check), budget, seeds)
    assert rl * 2 < rand, (rl, rand)
