"""``refine_predictor`` on a tiny supernet: each round searches, measures what it would pick and
its neighbourhood, refits on every sample; a second call resumes instead of measuring again."""

import json

import pytest

from edgenas.cost.model import CostModel
from edgenas.errors import UsageError
from edgenas.estimate import AccuracyPredictor, collect_samples, read_samples
from edgenas.estimate.fit import fit_predictor
from edgenas.estimate.refine import Budget, RefineConfig, read_log, refine_predictor
from edgenas.search import Constraints
from edgenas.space import largest_arch, neighbour_archs, smallest_arch


@pytest.fixture
def base(tiny_supernet, tiny_supernet_dir, tmp_path):
    """A predictor folder as the bundled one is laid out: its samples and the predictor fitted on them."""
    net, data = tiny_supernet
    folder = tmp_path / "base"
    collect_samples(net, data, folder / "samples-0of1.jsonl", count=12, seed=0, calib_images=32, val_images=64)
    fit_predictor(folder, tiny_supernet_dir[0], folder, holdout=0.0)
    return folder


def _budget(net, share: float) -> Budget:
    cost = CostModel(net.spec)
    low, high = cost.metrics(smallest_arch(net.spec)).macs, cost.metrics(largest_arch(net.spec)).macs
    return Budget(f"macs{share}", cost, Constraints.of(macs=low + share * (high - low)))


@pytest.mark.slow
def test_each_round_measures_the_picks_neighbourhood_and_refits_on_every_sample(tiny_supernet, tiny_supernet_dir,
                                                                                base, tmp_path):
    net, data = tiny_supernet
    budgets = [_budget(net, 0.3), _budget(net, 0.6)]
    config = RefineConfig(rounds=2, top=2, neighbours=2, corner=1, generations=3, seed=1)
    out = tmp_path / "refined"
    milestones, counted = [], []
    rounds = refine_predictor(net, data, tiny_supernet_dir[0], base, out, budgets, config, progress=milestones.append,
                              on_sample=lambda *c: counted.append(c))

    # one count per measured arch (the status line), milestones alone for the log
    assert [c for c in counted if c[0] == 1] == [(1, k, rounds[0].measured) for k in range(1, rounds[0].measured + 1)]
    assert len(counted) == sum(r.measured for r in rounds) and not any("/" in m for m in milestones)
    assert [r.round for r in rounds] == list(range(1, len(rounds) + 1)) and rounds[-1].final
    assert 2 <= len(rounds) <= 3 and all(not r.final for r in rounds[:-1])
    samples = {s.arch: s for f in sorted(out.glob("samples-*.jsonl")) for s in read_samples(f)}
    assert len(samples) == 12 + sum(r.measured for r in rounds)
    first = read_samples(out / "samples-refine01.jsonl")
    assert rounds[0].measured == len(first) > 0
    assert all(s.calib_images == 32 and s.val_images == 64 for s in first)  # measured as the base's were
    for budget in budgets:  # every measured arch fits its round's budgets, and each pick was measured
        assert str(rounds[0].picks[budget.name]) in {str(s.arch) for s in samples.values()}
    assert all(any(b.constraints.feasible(b.cost.metrics(s.arch)) for b in budgets) for s in first)
    assert rounds[0].rmse_points is not None and rounds[0].rmse_points >= 0
    assert AccuracyPredictor.load(out).metrics["train_samples"] == len(samples)
    logged = json.loads((out / "refine.json").read_text())["rounds"]
    assert [r["picks"] for r in logged] == [r.picks for r in rounds]

    said = []
    again = refine_predictor(net, data, tiny_supernet_dir[0], base, out, budgets, config, progress=said.append)
    assert again == rounds and said == []  # finished: nothing searched or measured again


def test_round_candidates_include_the_corner_and_neighbours_of_the_pick(tiny_supernet):
    from edgenas.estimate.refine import round_candidates

    net, _ = tiny_supernet
    budget = _budget(net, 1.0)  # everything fits: the pick grows into the largest arch
    flat = AccuracyPredictor.fit(net.spec, [smallest_arch(net.spec), largest_arch(net.spec)], [0.5, 0.4])
    pick, _, todo = round_candidates(budget, flat, RefineConfig(top=1, neighbours=3, corner=2, generations=2), 1)
    assert todo[0] == pick and largest_arch(net.spec) in todo and len(todo) == len(set(todo))
    assert sum(a in neighbour_archs(net.spec, pick) for a in todo) >= 3


def test_refine_refuses_a_predictor_without_samples_or_of_another_supernet(tiny_supernet, tiny_supernet_dir, base,
                                                                          tmp_path):
    net, data = tiny_supernet
    budgets = [_budget(net, 0.5)]
    bare = tmp_path / "bare"
    AccuracyPredictor.load(base).save(bare)
    with pytest.raises(UsageError, match="no samples"):
        refine_predictor(net, data, tiny_supernet_dir[0], bare, tmp_path / "o1", budgets)
    other = tmp_path / "other"
    other.mkdir()
    for f in base.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    meta = json.loads((other / "predictor.json").read_text())
    (other / "predictor.json").write_text(json.dumps({**meta, "supernet_sha256": "0" * 64}))
    with pytest.raises(UsageError, match="another supernet"):
        refine_predictor(net, data, tiny_supernet_dir[0], other, tmp_path / "o2", budgets)
    with pytest.raises(UsageError, match="at least one budget"):
        refine_predictor(net, data, tiny_supernet_dir[0], base, tmp_path / "o3", [])
    with pytest.raises(UsageError, match="rounds"):
        RefineConfig(rounds=0)
    assert not read_log(tmp_path / "o2")


def test_the_pick_grows_to_the_budgets_corner(tiny_supernet):
    from edgenas.estimate.refine import grown

    net, _ = tiny_supernet
    budget = _budget(net, 0.5)
    corner = grown(budget, smallest_arch(net.spec))
    macs = budget.cost.metrics(corner).macs
    assert budget.constraints.feasible(budget.cost.metrics(corner)) and macs > budget.cost.metrics(smallest_arch(net.spec)).macs
    assert all(budget.cost.metrics(a).macs <= macs or not budget.constraints.feasible(budget.cost.metrics(a))
               for a in neighbour_archs(net.spec, corner))


@pytest.mark.slow
def test_cli_refines_into_a_folder_extract_reads(tiny_supernet_dir, base, tmp_path):
    from typer.testing import CliRunner

    from edgenas.cli import app

    out = tmp_path / "refined"
    args = ["predictor", "refine", "--board", "mps2-an500", "--ram", "64KB", "--ram", "64KB", "--supernet",
            str(tiny_supernet_dir[0]), "--predictor", str(base), "--out", str(out), "--rounds", "1", "--top", "2",
            "--neighbours", "1", "--corner", "-1", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rounds = read_log(out)
    assert len(rounds) == 2 and list(rounds[0].picks) == ["ram=64KB"] and rounds[1].final  # one budget, one refit
    assert "round 1:" in result.stdout and f"--predictor {out}" in " ".join(result.stdout.split())
    assert AccuracyPredictor.load(out).metrics["train_samples"] == 12 + rounds[0].measured
    bad = CliRunner().invoke(app, args[:-1] + ["--threads", "0"])
    assert bad.exit_code == 2 and "--threads must be at least 1" in bad.stderr
