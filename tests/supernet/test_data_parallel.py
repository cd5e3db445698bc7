"""Data-parallel supernet training (issue #21 item 2): ranks split every global batch, sum their
gradients and train what one process trains; rank 0 alone writes, and a run resumes after any
rank dies. Multi-rank runs are 2 CPU processes on gloo, started as torchrun would (its variables)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from copy import deepcopy
from dataclasses import replace
from pathlib import Path

import numpy as np

import pytest
import torch
import torch._dynamo  # noqa: F401  (SGD imports it on first use: 5 s; once here, not in every forked rank)
import torch.multiprocessing as mp
from safetensors.torch import load as load_tensors
from torch.multiprocessing.spawn import ProcessException
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.data import iterate, make_synthetic
from edgenas.errors import UsageError
from edgenas.space import get_space
from edgenas.supernet import OFASupernet, load_meta, Phase, TrainConfig, subnets_for_step, train_supernet
from edgenas.supernet.train import _param_groups, train_step
from edgenas.supernet.data_parallel import Ranks, launched_by_torchrun, process_group, rank_device, ranks_from_env
from edgenas.supernet.sharding import check_divisible, local_batches, local_shards, split_batch, steps_in_epoch

# A full epoch, then an expand epoch of 4 subnets a step (sandwich ends and an all-smallest-kernel
# draw): different subnets leave different parameters without gradients, at two resolutions.
PHASES = (Phase("full", 1, 0.1), Phase("expand", 1, 0.02, 4, sandwich=True, kernel_end=True))
CONFIG = TrainConfig(phases=PHASES, batch_size=16, seed=5, max_steps_per_epoch=2, threads=1, eval_images=16)


def _data():
    return make_synthetic(seed=0, n_train=64, n_val=16, n_test=16)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank: int, world: int, port: int, out: str, kill: tuple[int, str, int] | None,
          configs: list[TrainConfig] | None) -> None:
    """One rank, started with torchrun's variables; ``kill = (rank, phase, step)`` dies there as
    ``kill -9`` would; ``configs`` gives each rank its own settings (default: ``CONFIG``)."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    ranks = ranks_from_env()

    def on_step(kind: str, step: int, steps: int, loss: float) -> None:
        if kill == (rank, kind, step):
            os._exit(9)

    with process_group(ranks, "cpu"):
        config = configs[rank] if configs else CONFIG
        train_supernet(_data(), get_space("tiny-test"), Path(out), config, ranks=ranks, on_step=on_step)


def _start_method() -> str:
    """``fork``: the ranks inherit this process's imports (a spawned rank spends 8 s importing).
    Where torch sees a GPU, autograd has per-GPU threads that a forked child cannot use ("Unable to
    handle autograd's threading in combination with fork"): ``forkserver`` then, whose server
    imports this module once and never runs autograd."""
    if not torch.cuda.is_available():
        return "fork"
    mp.set_forkserver_preload([__name__])
    return "forkserver"


def _run_ranks(out: Path, world: int = 2, kill: tuple[int, str, int] | None = None,
               configs: list[TrainConfig] | None = None) -> None:
    """Start ``world`` ranks; raise if one fails, once the others are stopped (as torchrun does)."""
    mp.start_processes(_rank, args=(world, _free_port(), str(out), kill, configs), nprocs=world,
                       start_method=_start_method())


def _weights(directory: Path) -> dict[str, torch.Tensor]:
    return load_tensors((directory / "supernet.safetensors").read_bytes())


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ddp") / "run"
    _run_ranks(out)
    return out


# ------------------------------------------------------------------------------- without processes


def test_batch_splits_into_consecutive_parts_weighted_by_their_share():
    assert [(s.start, s.stop) for s in split_batch(10, 4)] == [(0, 3), (3, 6), (6, 8), (8, 10)]
    assert sum(s.weight for s in split_batch(10, 4)) == pytest.approx(1.0)
    assert [(s.start, s.stop) for s in local_shards(16, 1, 2, micro_batches=2)] == [(8, 12), (12, 16)]
    # a last batch smaller than the number of parts is dropped, so no rank is left without images
    assert steps_in_epoch(33, 16, parts=1) == 3 and steps_in_epoch(33, 16, parts=2) == 2
    assert steps_in_epoch(34, 16, parts=2) == 3 and steps_in_epoch(32, 16, parts=4) == 2


def test_ranks_rows_put_together_are_the_single_process_batches():
    data = _data()
    alone = list(iterate(data.train, 24, shuffle_generator=torch.Generator().manual_seed(3)))
    per_rank = [list(local_batches(data.train, 24, shuffle_generator=torch.Generator().manual_seed(3), rank=r, ranks=2))
                for r in range(2)]
    assert len(alone) == len(per_rank[0]) == 3  # 64 images: 24, 24, 16
    for (x, y), (x0, y0, s0), (x1, y1, s1) in zip(alone, *per_rank):
        assert torch.equal(torch.cat([x0, x1]), x) and torch.equal(torch.cat([y0, y1]), y)
        assert s0[0].stop == s1[0].start == len(x) // 2


def test_a_global_batch_the_ranks_cannot_share_evenly_is_refused():
    check_divisible(32, 4)
    with pytest.raises(UsageError, match="--batch-size 30 .* 4 ranks") as info:
        check_divisible(30, 4)
    assert "multiple of 4" in info.value.hint
    with pytest.raises(UsageError, match="2 ranks × 4 micro-batches"):
        check_divisible(12, 2, micro_batches=4)
    with pytest.raises(UsageError, match="--batch-size 16 .* 1 ranks × 3 micro-batches"):
        train_supernet(_data(), get_space("tiny-test"), Path("never-written"), CONFIG, micro_batches=3)


def test_torchrun_environment_is_read_and_checked():
    env = {"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1", "MASTER_ADDR": "10.0.0.1", "MASTER_PORT": "29500"}
    assert launched_by_torchrun(env) and ranks_from_env(env) == Ranks(3, 4, 1)
    assert not launched_by_torchrun({**env, "MASTER_PORT": ""})
    with pytest.raises(UsageError, match="MASTER_ADDR is not set") as info:
        ranks_from_env({k: v for k, v in env.items() if k != "MASTER_ADDR"})
    assert "torchrun" in info.value.hint
    with pytest.raises(UsageError, match="not a valid rank"):
        ranks_from_env({**env, "RANK": "4"})
    with pytest.raises(UsageError, match="cuda:1 with several ranks"):
        rank_device(Ranks(1, 2, 1), "cuda:1")
    assert rank_device(Ranks(1, 2, 1), "cpu") == "cpu"


def test_cli_ddp_without_torchrun_is_a_usage_error_with_a_hint(monkeypatch, tmp_path):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["train", "--data", "synthetic", "--space", "tiny-test", "--out",
                                      str(tmp_path / "r"), "--ddp"])
    assert result.exit_code == 2
    assert "torchrun" in result.output and "RANK" in result.output


@pytest.fixture
def one_thread():
    """One intra-op thread, as the training tests use (``threads=1``): two spin on a busy 2-core machine, 20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_micro_batches_change_only_what_batch_norm_normalises_over(one_thread):
    """With batch norm on fixed statistics, one step on a batch in 1, 2 or 4 weighted parts is the
    same step (the parts' augmentation maps, labels and loss weights line up)."""
    spec = get_space("tiny-test")
    torch.manual_seed(0)
    net = OFASupernet(spec).train()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    x, y = next(iter(iterate(_data().train, 16, shuffle_generator=torch.Generator().manual_seed(1))))
    archs = subnets_for_step(spec, PHASES[1], np.random.default_rng(0))
    steps = []
    for shards in (None, split_batch(16, 2), split_batch(16, 4)):
        copy = deepcopy(net)
        optimizer = torch.optim.SGD(_param_groups(copy, 4e-5), lr=0.1, momentum=0.9, nesterov=True)
        loss = train_step(copy, None, optimizer, x, y, archs, torch.Generator().manual_seed(2), CONFIG, shards=shards)
        steps.append((float(loss), {k: p.detach() for k, p in copy.named_parameters()}))
    (loss, params), others = steps[0], steps[1:]
    assert any(not torch.equal(params[k], net.state_dict()[k]) for k in params)
    for other_loss, other in others:
        assert other_loss == pytest.approx(loss, abs=1e-6)
        assert max(float((other[k] - params[k]).abs().max()) for k in params) < 1e-6


# ----------------------------------------------------------------------------------- two processes


def test_ranks_started_with_different_settings_refuse_to_train(tmp_path):
    with pytest.raises(ProcessException, match="ranks disagree on settings: config"):
        _run_ranks(tmp_path / "run", configs=[CONFIG, replace(CONFIG, seed=6)])
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_two_ranks_train_what_one_process_trains_on_the_same_two_parts(two_ranks, tmp_path):
    """2 ranks of 8 images against one process on the same global batch of 16 in 2 micro-batches of
    8: the same images, augmentation maps, subnets and batch-norm groups, so the same weights up to
    the order of float sums. One process adds the parts' gradients subnet by subnet, the ranks
    their own subnets' first and then each other's; the two sums differ in the last bit, and
    training amplifies that (mcu-mbv2, measured: 3e-8 after one 4-subnet step, 4e-5 after two,
    2e-3 after three; bit-identical with one subnet a step). Here, a few steps on the tiny space:
    max |difference| < 1e-5 (measured 6e-8).

    Batch-norm running statistics are left out: the ranks keep their own (rank 0's are saved) where
    the single process runs both parts through every BN; they are recalibrated before any use.
    One process on whole batches of 16 normalises over 16 images and trains other weights
    (printed, not asserted: 0.9 here)."""
    data, spec = _data(), get_space("tiny-test")
    train_supernet(data, spec, tmp_path / "parts", CONFIG, micro_batches=2)
    train_supernet(data, spec, tmp_path / "plain", CONFIG)
    ddp, parts, plain = _weights(two_ranks), _weights(tmp_path / "parts"), _weights(tmp_path / "plain")
    params = [k for k in ddp if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert sorted(ddp) == sorted(parts) and len(params) > 50
    worst = max(float((ddp[k] - parts[k]).abs().max()) for k in params)
    assert worst < 1e-5, worst
    print(f"max |ddp - 1 process, 2 parts| {worst:.2e}; "
          f"max |ddp - 1 process, 1 part| {max(float((ddp[k] - plain[k]).abs().max()) for k in params):.2e}")


@pytest.mark.parametrize("dead", [1, 0])
@pytest.mark.slow
def test_a_rank_killed_mid_epoch_resumes_to_the_uninterrupted_checkpoint(two_ranks, tmp_path, dead):
    """Rank ``dead`` dies after the first step of the expand epoch (``os._exit``, no clean-up), so
    the committed state is the full epoch's; the rerun resumes there on both ranks and ends with
    the uninterrupted run's bytes."""
    out = tmp_path / "run"
    with pytest.raises(ProcessException):  # the dead rank, or its peer losing it
        _run_ranks(out, kill=(dead, "expand", 1))
    assert (out / "checkpoint.json").exists() and not (out / "supernet.safetensors").exists()
    _run_ranks(out)
    assert (out / "supernet.safetensors").read_bytes() == (two_ranks / "supernet.safetensors").read_bytes()


@pytest.mark.slow  # torchrun starts 2 interpreters that import torch and edgenas: about 25 s on the busy 2-core machine
def test_torchrun_starts_the_cli_as_two_ranks(tmp_path):
    out = tmp_path / "run"
    bin_dir = Path(sys.executable).parent
    done = subprocess.run(
        [bin_dir / "torchrun", "--standalone", "--nproc_per_node", "2", "--no-python", bin_dir / "edgenas", "train",
         "--data", "synthetic", "--space", "tiny-test", "--epochs", "1,0,0,1", "--subnets", "4", "--sandwich",
         "--batch-size", "32", "--threads", "1", "--out", out, "--ddp", "--quiet"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("supernet written to") == 1  # rank 0 reports
    assert "2 ranks of 16 images a step" in done.stderr
    meta = load_meta(out)
    assert meta["complete"] and [(r["phase"], r["ranks"]) for r in meta["log"]] == [("full", 2), ("expand", 2)]
