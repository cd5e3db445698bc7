import numpy as np
import pytest

from edgenas.data import make_synthetic
from edgenas.errors import UsageError
from edgenas.estimate import EstimatorContext, get_estimator
from edgenas.estimate.halving import (
    ScratchConfig,
    ScratchEvaluator,
    budget_for,
    halving_rungs,
    scratch_accuracy,
    successive_halving,
    train_subset,
)
from edgenas.space import get_space, largest_arch, sample_arch, smallest_arch
from edgenas.supernet import train_from_scratch

SPEC = get_space("tiny-test")


DATA = make_synthetic()
FAST = ScratchConfig(train_images=64, val_images=64, batch_size=32, lr=0.05, threads=1)


def distinct_archs(n, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        a = sample_arch(get_space("mcu-mbv2"), rng)
        if a not in out:
            out.append(a)
    return out


class Recorder:
    """A known quality per arch; at low budget the score is noisy, so halving must still promote the best."""

    def __init__(self, quality, noise=0.0):
        self.quality, self.noise, self.calls = quality, noise, []

    def score(self, arch, budget):
        return self.quality[arch] + self.noise * np.sin(1000 * self.quality[arch]) / budget

    def __call__(self, archs, budget):
        self.calls.extend((a, budget) for a in archs)
        return [self.score(a, budget) for a in archs]


def test_rung_plan_keeps_one_in_eta_and_multiplies_the_budget():
    assert halving_rungs(27, 1, 3) == [(27, 1), (9, 3), (3, 9), (1, 27)]
    assert halving_rungs(50, 250, 3) == [(50, 250), (16, 750), (5, 2250), (1, 6750)]
    assert halving_rungs(10, 2, 2) == [(10, 2), (5, 4), (2, 8), (1, 16)]
    assert halving_rungs(27, 1, 3, max_budget=9) == [(27, 1), (9, 3), (3, 9)]
    assert halving_rungs(1, 5, 3) == [(1, 5)]
    assert budget_for(50, 250, 3) == 50 * 250 + 16 * 750 + 5 * 2250 + 6750
    for bad in [dict(eta=1), dict(min_budget=0), dict(max_budget=0)]:
        with pytest.raises(UsageError):
            halving_rungs(10, **{"min_budget": 1, "eta": 3, **bad})


def test_halving_promotes_the_top_archs_and_accounts_budget_exactly():
    archs = distinct_archs(30)
    quality = {a: q for a, q in zip(archs, np.random.default_rng(1).permutation(30) / 30)}
    rec = Recorder(quality, noise=0.02)
    result = successive_halving(archs, rec, min_budget=2, eta=3)
    assert [len(r.archs) for r in result.rungs] == [30, 10, 3, 1]
    assert [r.budget for r in result.rungs] == [2, 6, 18, 54]
    for lower, upper in zip(result.rungs, result.rungs[1:]):
        top = sorted(range(len(lower.archs)), key=lambda i: -lower.scores[i])[: len(upper.archs)]
        assert set(upper.archs) == {lower.archs[i] for i in top}
    assert result.best == max(archs, key=quality.get)
    assert result.total_budget == sum(b for _, b in rec.calls) == budget_for(30, 2, 3)
    assert len(rec.calls) == 30 + 10 + 3 + 1
    assert set(result.scores) == set(archs)
    for a in archs:  # each arch's score and fidelity come from the last rung it reached
        last = max((b for x, b in rec.calls if x == a))
        assert result.fidelity[a] == last and result.scores[a] == rec.score(a, last)
    ranks = result.rank_scores(archs)
    promoted = set(result.rungs[1].archs)
    assert min(r for a, r in zip(archs, ranks) if a in promoted) > max(r for a, r in zip(archs, ranks) if a not in promoted)


def test_halving_is_deterministic_on_ties_and_duplicates():
    archs = distinct_archs(9)
    flat = Recorder({a: 0.5 for a in archs})
    result = successive_halving(archs + archs[:2], flat, min_budget=1, eta=3)
    assert len(result.rungs[0].archs) == 9
    assert result.rungs[1].archs == tuple(archs[:3]) and result.best == archs[0]
    assert successive_halving([], flat, min_budget=1).rungs == ()
    with pytest.raises(UsageError, match="2 scores for 9 archs"):
        successive_halving(archs, lambda rung, budget: [0.5, 0.5], min_budget=1)


def test_should_stop_ends_scratch_training_early():
    seen = []
    train_from_scratch(SPEC, smallest_arch(SPEC), DATA, epochs=5, batch_size=64, on_epoch=lambda e, loss: seen.append(e),
                       should_stop=lambda epoch, model: epoch == 1)
    assert seen == [0, 1]


@pytest.mark.slow
def test_early_stopping_stops_after_patience_without_improvement():
    frozen = ScratchConfig(train_images=64, val_images=64, epochs=6, patience=2, lr=0.0, batch_size=32, threads=1)
    result = scratch_accuracy(SPEC, smallest_arch(SPEC), DATA, frozen)
    assert (result.epochs, result.best_epoch, result.images) == (3, 0, 3 * 64)  # lr 0: never improves
    learning = ScratchConfig(train_images=256, val_images=64, epochs=4, patience=1, lr=0.1, batch_size=32, threads=1)
    result = scratch_accuracy(SPEC, largest_arch(SPEC), DATA, learning)
    assert 1 <= result.epochs <= 4 and result.best_epoch < result.epochs
    assert result.accuracy > 0.4  # 4 classes: well above chance on the synthetic blobs
    again = scratch_accuracy(SPEC, largest_arch(SPEC), DATA, learning)
    assert again == result


def test_train_subset_is_nested():
    small, big = train_subset(DATA, 50, 0), train_subset(DATA, 100, 0)
    assert len(small.train) == 50 and len(big.train) == 100
    rows = {r.tobytes() for r in big.train.x}
    assert all(r.tobytes() in rows for r in small.train.x)
    assert len(train_subset(DATA, 10_000, 0).train) == len(DATA.train)
    with pytest.raises(UsageError):
        scratch_accuracy(SPEC, smallest_arch(SPEC), DATA, FAST, train_images=0)


@pytest.mark.slow
def test_halving_with_real_training_spends_exactly_its_budget():
    rng = np.random.default_rng(0)
    archs = list(dict.fromkeys([largest_arch(SPEC), smallest_arch(SPEC)] + [sample_arch(SPEC, rng) for _ in range(4)]))
    evaluate = ScratchEvaluator(SPEC, DATA, FAST)
    result = successive_halving(archs, evaluate, min_budget=32, eta=2)
    assert evaluate.images_trained == result.total_budget == budget_for(len(archs), 32, 2)
    assert all(0.0 <= s <= 1.0 for s in result.scores.values())


@pytest.mark.slow
def test_registered_scratch_and_halving_estimators():
    context = EstimatorContext(SPEC, dataset="synthetic")
    archs = [largest_arch(SPEC), smallest_arch(SPEC)]
    scratch = get_estimator("scratch", context)(archs)
    assert all(0.0 <= s <= 1.0 for s in scratch)
    ranked = get_estimator("halving", context)(archs)
    assert sorted(ranked)[0] < 1.0 <= sorted(ranked)[1] < 2.0  # the promoted one is rung 1
