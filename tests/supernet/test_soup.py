import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.errors import CheckpointError
from edgenas.space import largest_arch, sample_arch
from edgenas.supernet import load_supernet, save_supernet, trained_epochs
from edgenas.supernet.importance import permute_hidden
from edgenas.supernet.mbconv import ElasticMBConv
from edgenas.supernet.soup import average_supernets, match_hidden_channels

from .test_supernet import randomized_supernet


def _meta(epochs: int, fingerprint: str = "fp") -> dict:
    return {"config": {"phases": [{"epochs": epochs}]}, "data_fingerprint": fingerprint}


def _shuffled(net, seed: int):
    """A copy of ``net`` with every block's hidden channels in a random order (same function)."""
    other = randomized_supernet()
    other.load_state_dict(net.state_dict())
    g = torch.Generator().manual_seed(seed)
    for block in other.modules():
        if isinstance(block, ElasticMBConv):
            permute_hidden(block, torch.randperm(block.expand.weight.shape[0], generator=g))
    return other


def _nudged(net, seed: int, scale: float = 0.01):
    """``net`` plus small noise on every float tensor: a run continued from it."""
    other = randomized_supernet()
    g = torch.Generator().manual_seed(seed)
    other.load_state_dict({k: v + scale * torch.randn(v.shape, generator=g) if v.is_floating_point() else v
                           for k, v in net.state_dict().items()})
    return other


def test_matching_undoes_a_permutation_exactly():
    net = randomized_supernet(seed=1)
    other = _shuffled(net, seed=2)
    assert not torch.equal(other.stages[1][1].expand.weight, net.stages[1][1].expand.weight)
    match = match_hidden_channels(net, other)
    assert match == pytest.approx(1.0, abs=1e-5)
    for (k, a), b in zip(net.state_dict().items(), other.state_dict().values()):
        torch.testing.assert_close(a, b, msg=k)


def test_soup_of_shuffled_runs_is_their_aligned_mean(tmp_path):
    base = randomized_supernet(seed=3)
    a, b = _nudged(base, 4), _nudged(base, 5)
    save_supernet(a, tmp_path / "a", _meta(10))
    save_supernet(_shuffled(b, 6), tmp_path / "b", _meta(12))  # b's channels in another order
    soup, meta, ingredients = average_supernets([tmp_path / "a", tmp_path / "b"])
    expected = {k: (v + b.state_dict()[k]) / 2 if v.is_floating_point() else v for k, v in a.state_dict().items()}
    for k, v in soup.state_dict().items():
        torch.testing.assert_close(v, expected[k], msg=k)
    assert [i.epochs for i in ingredients] == [10, 12] and trained_epochs(meta) == 12
    assert 0.99 < ingredients[1].match <= 1.0
    # the soup computes the average network's function, whatever order b was saved in
    arch = sample_arch(soup.spec, np.random.default_rng(0))
    x = torch.rand(2, 1, arch.resolution, arch.resolution)
    ref = randomized_supernet()
    ref.load_state_dict(expected)
    for net in (soup, ref):
        net.set_active(arch)
    with torch.no_grad():
        torch.testing.assert_close(soup(x), ref(x))


def test_soup_refuses_unrelated_or_foreign_checkpoints(tmp_path):
    save_supernet(randomized_supernet(seed=7), tmp_path / "a", _meta(1))
    save_supernet(randomized_supernet(seed=8), tmp_path / "b", _meta(1))  # another start
    save_supernet(randomized_supernet(seed=7), tmp_path / "c", _meta(1, "other data"))
    with pytest.raises(CheckpointError, match="shares no start"):
        average_supernets([tmp_path / "a", tmp_path / "b"])
    with pytest.raises(CheckpointError, match="data fingerprint"):
        average_supernets([tmp_path / "a", tmp_path / "c"])
    with pytest.raises(CheckpointError, match="at least two"):
        average_supernets([tmp_path / "a"])


def test_soup_command_writes_a_loadable_checkpoint(tmp_path):
    base = randomized_supernet(seed=9)
    save_supernet(_nudged(base, 1), tmp_path / "a", _meta(3))
    save_supernet(_nudged(base, 2), tmp_path / "b", _meta(3))
    result = CliRunner().invoke(app, ["soup", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["ingredients"]) == 2
    net, meta = load_supernet(tmp_path / "s")
    assert [i["directory"] for i in meta["soup"]["ingredients"]] == [str(tmp_path / "a"), str(tmp_path / "b")]
    assert meta["soup"]["command"].startswith("edgenas soup ") and meta["soup"]["seconds"] >= 0
    net.set_active(largest_arch(net.spec))
