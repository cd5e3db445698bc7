"""Differentiable search: expected latency from the table, the mixed supernet, lambda's effect,
derivation, the registered strategy, and the DARTS cell space with its collapse detector."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from edgenas.cost import CostModel
from edgenas.cost.latency_table import LatencyTable
from edgenas.data import make_synthetic
from edgenas.errors import SpaceError, UsageError
from edgenas.profile import space_signatures
from edgenas.search.darts import (
    PRIMITIVES,
    CellSearchConfig,
    CellSearchNet,
    DartsConfig,
    DartsSearch,
    build_slots,
    derive_arch,
    derive_genotype,
    onehot_weights,
    run_cell_darts,
    run_darts,
)
from edgenas.search.darts.cells import edge_count
from edgenas.search.registry import get_strategy, list_strategies
from edgenas.search.strategy import Score
from edgenas.space import Arch, BlockChoice, get_space, sample_arch
from edgenas.supernet import OFASupernet

FAST = dict(epochs=3, steps_per_epoch=4, batch_size=32)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets on a shared CPU: more threads only spin-wait."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def spec():
    return get_space("tiny-test")


@pytest.fixture(scope="module")
def table(spec) -> LatencyTable:
    """A complete table for the tiny space: each entry ~ the block's multiply count (as instructions)."""
    t = LatencyTable("cortex-m7", "instructions", {"compiler": "test"}, spec, board="mps2-an500")
    for sig in space_signatures(spec):
        work = sig.out_size ** 2 * sig.mid_channels * (sig.kernel ** 2 + sig.in_channels + sig.out_channels)
        t.add(sig.key, [work + 50, work + 40, work + 60])
    t.add_overhead([120.0, 130.0])
    return t


@pytest.fixture(scope="module")
def data():
    return make_synthetic(seed=0)


def _net(spec, seed: int = 0) -> OFASupernet:
    torch.manual_seed(seed)
    return OFASupernet(spec)


def _at(arch: Arch, resolution: int, width: float) -> Arch:
    return Arch(resolution, width, arch.stages)


def test_expected_latency_of_a_one_hot_arch_is_the_tables_value(spec, table, data):
    search = DartsSearch(_net(spec), data, table, DartsConfig(), seed=0)
    cost = CostModel(spec, None, table)
    rng = np.random.default_rng(0)
    for _ in range(12):
        arch = _at(sample_arch(spec, rng), search.resolution, search.width)
        expected = float(search.terms.expected(onehot_weights(search.model.slots, arch)))
        assert expected == pytest.approx(table.predict(arch), rel=1e-12)
        assert expected == pytest.approx(cost.metrics(arch).latency, rel=1e-12)


def test_expected_latency_on_the_bundled_cortex_m7_table():
    from edgenas.profile.targets import default_table_path
    from edgenas.search.darts import latency_terms

    table = LatencyTable.load(default_table_path("cortex-m7"))
    mcu = get_space("mcu-mbv2")
    _, slots = build_slots(mcu, 32, 0.75)
    terms = latency_terms(table, mcu, slots, 32, 0.75)
    rng = np.random.default_rng(1)
    for _ in range(5):
        arch = _at(sample_arch(mcu, rng), 32, 0.75)
        assert float(terms.expected(onehot_weights(slots, arch))) == pytest.approx(table.predict(arch), rel=1e-12)


def test_one_hot_mixed_network_equals_the_active_subnet(spec, table, data):
    net = _net(spec, 3)
    search = DartsSearch(net, data, table, DartsConfig(resolution=12, width=0.5), seed=0)
    x = torch.rand(3, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    rng = np.random.default_rng(2)
    net.eval()
    for _ in range(4):
        arch = _at(sample_arch(spec, rng), 12, 0.5)
        net.set_active(arch)
        with torch.no_grad():
            mixed = search.model(x, onehot_weights(search.model.slots, arch))
            assert torch.allclose(mixed, net(x), atol=1e-5)


@pytest.fixture(scope="module")
def lambda_runs(spec, table, data):
    """Same seed, same start, lambda 0 vs 1 (first run repeated to check determinism)."""
    runs = {lam: run_darts(_net(spec), data, table, DartsConfig(latency_weight=lam, **FAST), seed=0)
            for lam in (0.0, 1.0)}
    again = run_darts(_net(spec), data, table, DartsConfig(latency_weight=0.0, **FAST), seed=0)
    return runs, again


@pytest.mark.slow
def test_raising_lambda_lowers_the_latency_of_the_derived_arch(lambda_runs):
    runs, _ = lambda_runs
    low, high = runs[0.0], runs[1.0]
    assert high.latency < low.latency
    assert high.expected_latency[-1] < low.expected_latency[-1]
    assert high.expected_latency[-1] < high.expected_latency[0]  # it moved, from the same start
    assert high.expected_latency[0] == low.expected_latency[0]


@pytest.mark.slow
def test_derived_archs_are_valid_and_deterministic(spec, lambda_runs, table):
    runs, again = lambda_runs
    for result in runs.values():
        assert result.arch.validate(spec) is result.arch
        assert result.latency == table.predict(result.arch)
        assert len(result.expected_latency) == len(result.derived) == len(result.logits) == FAST["epochs"] + 1
        for text in result.derived:
            Arch.parse(text).validate(spec)
    assert again.arch == runs[0.0].arch
    assert again.logits == runs[0.0].logits
    assert again.expected_latency == runs[0.0].expected_latency
    json.dumps(runs[1.0].to_dict())


def test_gumbel_sampling_runs_and_repeats(spec, table, data):
    cfg = DartsConfig(sampling="gumbel", tau=0.5, latency_weight=1.0, epochs=1, steps_per_epoch=2, batch_size=16)
    a = run_darts(_net(spec), data, table, cfg, seed=5)
    b = run_darts(_net(spec), data, table, cfg, seed=5)
    assert a.logits == b.logits and a.arch == b.arch


def test_derivation_reads_depth_from_the_first_skip():
    mcu = get_space("mcu-mbv2")
    _, slots = build_slots(mcu, 32, 1.0)
    assert [s.optional for s in slots[:4]] == [False, False, True, True]  # depths (2, 3, 4)
    k5e6 = BlockChoice(5, 6)
    logits = []
    for s in slots:
        v = torch.zeros(len(s.candidates))
        v[s.candidates.index(k5e6)] = 1.0
        if s.stage == 0 and s.index == 2:
            v[-1] = 5.0  # skip at slot 2: stage 0 stops at depth 2 even though slot 3 is a block
        if s.stage == 1 and s.index == 3:
            v[-1] = 5.0
        if s.stage == 2 and s.index == 2:
            v[-1] = 2.0  # the largest logit, but under half the weight: the block stays
        logits.append(v)
    assert float(torch.softmax(logits[10], -1)[-1]) < 0.5 and int(torch.argmax(logits[10])) == len(slots[10].candidates) - 1
    arch = derive_arch(mcu, 32, 1.0, slots, logits)
    assert arch.depths == (2, 3, 4, 4)
    assert all(b == k5e6 for _, _, b in arch.blocks())


def test_table_of_another_space_and_bad_config_are_refused(spec, data):
    from edgenas.profile.targets import default_table_path

    mcu_table = LatencyTable.load(default_table_path("cortex-m7"))
    with pytest.raises(SpaceError, match="mcu-mbv2"):
        DartsSearch(_net(spec), data, mcu_table, DartsConfig())
    with pytest.raises(UsageError):
        DartsConfig(sampling="hard").check()
    with pytest.raises(UsageError):
        DartsConfig(latency_loss="square").check()


def test_darts_is_a_registered_ask_tell_strategy(spec, table, data):
    assert "darts" in list_strategies()
    cfg = {"latency_weight": 0.5, "epochs": 1, "steps_per_epoch": 2, "batch_size": 16}
    strat = get_strategy("darts")(spec, cfg, seed=1, net=_net(spec), data=data, table=table)
    archs = strat.ask(3)
    assert 1 <= len(archs) <= 3 and len(set(archs)) == len(archs)
    assert archs[0] == strat.search.derive()
    for a in archs:
        a.validate(spec)
    strat.tell(archs, [Score(0.5 + 0.1 * i, feasible=i != 1) for i in range(len(archs))])
    assert strat.best is not None and strat.best[0] in archs


# ---------------------------------------------------------------- the DARTS cell space


def _alpha(nodes: int, favourite: str, rng: np.random.Generator, strength: float = 4.0) -> torch.Tensor:
    a = torch.from_numpy(rng.normal(0, 0.1, size=(edge_count(nodes), len(PRIMITIVES)))).float()
    a[:, PRIMITIVES.index(favourite)] += strength
    return a


def test_cell_network_and_genotype_are_well_formed():
    net = CellSearchNet(1, 10, channels=4, layers=3, nodes=3, generator=torch.Generator().manual_seed(0))
    assert net(torch.rand(2, 1, 12, 12)).shape == (2, 10)
    assert net.alpha_normal.shape == (edge_count(3), 8) == (9, 8)
    rng = np.random.default_rng(0)
    for _ in range(5):
        raw, guarded, _ = derive_genotype(torch.from_numpy(rng.normal(size=(9, 8))).float(),
                                          torch.from_numpy(rng.normal(size=(9, 8))).float(), 3)
        for g in (raw, guarded):
            g.check()
            assert len(g.normal) == len(g.reduce) == 6
            assert all(op != "none" for op, _ in g.normal + g.reduce)


def test_none_is_never_derived_even_when_it_dominates():
    rng = np.random.default_rng(1)
    raw, _, _ = derive_genotype(_alpha(4, "none", rng), _alpha(4, "none", rng), 4)
    assert all(op != "none" for op, _ in raw.normal + raw.reduce)


def test_collapse_detector_fires_on_a_collapsed_alpha_and_the_guard_caps_skips():
    rng = np.random.default_rng(2)
    collapsed = _alpha(4, "skip_connect", rng)
    reduce = _alpha(4, "sep_conv_3x3", rng)
    raw, guarded, report = derive_genotype(collapsed, reduce, 4)
    assert report.collapsed
    assert report.skip_count == 8 and report.param_free_share > 0.9
    assert sum(op == "skip_connect" for op, _ in raw.normal) == 8
    assert report.guarded_skips == 2
    assert sum(op == "skip_connect" for op, _ in guarded.normal) == 2
    assert [j for _, j in guarded.normal] == [j for _, j in raw.normal]  # same edges, other ops
    # the kept skips are the two edges with the most skip weight
    w = torch.softmax(collapsed, -1)[:, PRIMITIVES.index("skip_connect")]
    edge_index = [sum(i + 2 for i in range(n // 2)) + j for n, (_, j) in enumerate(raw.normal)]
    strongest = sorted(range(8), key=lambda n: -float(w[edge_index[n]]))[:2]
    assert {n for n, (op, _) in enumerate(guarded.normal) if op == "skip_connect"} == set(strongest)
    _, unguarded, _ = derive_genotype(collapsed, reduce, 4, guard=False)
    assert unguarded == raw


def test_collapse_detector_stays_quiet_on_a_healthy_alpha():
    rng = np.random.default_rng(3)
    healthy = _alpha(4, "sep_conv_3x3", rng)
    healthy[0, PRIMITIVES.index("skip_connect")] += 8.0  # one skip edge is normal
    raw, guarded, report = derive_genotype(healthy, _alpha(4, "dil_conv_3x3", rng), 4)
    assert not report.collapsed
    assert report.skip_count == 1 and report.param_free_share < 0.2
    assert guarded == raw


@pytest.mark.slow
def test_cell_search_runs_and_reports_collapse_indicators():
    d = make_synthetic(num_classes=4, size=12, n_train=64, n_val=32, seed=1)
    cfg = CellSearchConfig(channels=4, layers=3, nodes=2, resolution=12, epochs=1, steps_per_epoch=2, batch_size=16)
    a = run_cell_darts(d, cfg, seed=0)
    b = run_cell_darts(d, cfg, seed=0)
    a.genotype.check()
    assert a.alpha_normal == b.alpha_normal and a.genotype == b.genotype
    assert len(a.history) == 1 and {"skip_count", "param_free_share", "collapsed", "val_acc"} <= set(a.history[0])
    assert a.collapse.guarded_skips <= cfg.max_skips
    assert a.alpha_normal != CellSearchNet(1, 4, channels=4, layers=3, nodes=2,
                                           generator=torch.Generator().manual_seed(0)).alpha_normal.tolist()
    json.dumps(a.to_dict())
