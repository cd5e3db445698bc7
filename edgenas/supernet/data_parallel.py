"""Data-parallel supernet training on ``torch.distributed``, one process per GPU (or CPU share) as
``torchrun`` launches them: NCCL between GPUs, gloo on CPUs.

What is distributed: every global batch is split over the ranks (``sharding.py``) and the
gradients are summed across them before each update, so all ranks hold the same weights. What is
not: subnet sampling, augmentation draws and data order come from the same seeds on every rank
(each rank draws the whole global batch's randoms and keeps its rows); checkpoints are read and
written by rank 0 alone and broadcast, so the other ranks need no shared file system; validation
runs on rank 0.

Batch norm is per rank (no SyncBN): each rank normalises over its own rows, as the single-process
run does over each of its micro-batches. Running statistics are never used as trained: every
subnet, and the distillation teacher, is recalibrated before use (``bn_calibration.py``), so rank
0's are the ones saved and the others' are let drift.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist

from ..errors import UsageError

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
"""What ``torchrun`` sets for every process it starts (``env://`` initialisation reads them)."""

LAUNCH_HINT = "launch with torchrun, e.g. torchrun --nproc_per_node 2 --no-python edgenas train ... --ddp"

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """This process's place in a data-parallel run; ``world_size`` 1 is a plain single-process run.

    Collectives go through the default process group, which must be initialised (``process_group``)
    when ``world_size > 1``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0: the one that reads and writes checkpoints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def check_group(self) -> None:
        """Refuse a multi-rank run whose process group is missing or is another one.

        Raises:
            UsageError: no process group, or its rank / world size are not these.
        """
        if not self.distributed:
            return
        if not dist.is_available() or not dist.is_initialized():
            raise UsageError(f"rank {self.rank} of {self.world_size}: torch.distributed is not initialised",
                             hint="run inside edgenas.supernet.data_parallel.process_group(...)")
        if (dist.get_rank(), dist.get_world_size()) != (self.rank, self.world_size):
            raise UsageError(f"process group is rank {dist.get_rank()} of {dist.get_world_size()}, "
                             f"expected {self.rank} of {self.world_size}")

    def barrier(self) -> None:
        """Wait until every rank gets here (no-op alone)."""
        if self.distributed:
            dist.barrier(device_ids=[self.local_rank] if dist.get_backend() == "nccl" else None)

    def from_main(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on rank 0 and give its result to every rank; if it raises, every rank raises
        the same error (so no rank waits forever for one that failed)."""
        if not self.distributed:
            return fn()
        box: list = [None]
        if self.main:
            try:
                box[0] = (True, fn())
            except Exception as exc:  # re-raised on every rank below
                box[0] = (False, exc)
        dist.broadcast_object_list(box, src=0)
        ok, value = box[0]
        if not ok:
            raise value
        return value

    def agree(self, what: str, values: Mapping[str, str]) -> None:
        """Refuse to go on unless every rank passes the same ``values``.

        Raises:
            UsageError: on every rank, naming the first key where a rank differs from rank 0.
        """
        if not self.distributed:
            return
        gathered: list = [None] * self.world_size
        dist.all_gather_object(gathered, dict(values))
        for rank, other in enumerate(gathered):
            for key in sorted(set(gathered[0]) | set(other)):
                if other.get(key) != gathered[0].get(key):
                    raise UsageError(
                        f"ranks disagree on {what}: {key} is {_short(gathered[0].get(key))} on rank 0 but "
                        f"{_short(other.get(key))} on rank {rank}",
                        hint="start every rank with the same command, edgenas and torch versions, and data")


SINGLE = Ranks()
"""A run without peers."""


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def launched_by_torchrun(env: Mapping[str, str] = os.environ) -> bool:
    """True when ``env`` holds every variable ``torchrun`` sets for its processes."""
    return all(env.get(name) for name in TORCHRUN_VARS)


def ranks_from_env(env: Mapping[str, str] = os.environ) -> Ranks:
    """This process's ranks from torchrun's environment variables.

    Raises:
        UsageError: a variable is missing or not a valid number.
    """
    missing = [name for name in TORCHRUN_VARS if not env.get(name)]
    if missing:
        raise UsageError(f"--ddp needs torchrun's environment, and {', '.join(missing)} is not set", hint=LAUNCH_HINT)
    try:
        rank, world, local = (int(env[name]) for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    except ValueError:
        raise UsageError(f"RANK={env['RANK']!r} WORLD_SIZE={env['WORLD_SIZE']!r} LOCAL_RANK={env['LOCAL_RANK']!r} "
                         "are not all whole numbers", hint=LAUNCH_HINT) from None
    if world < 1 or not 0 <= rank < world or not 0 <= local <= rank:
        raise UsageError(f"RANK={rank} WORLD_SIZE={world} LOCAL_RANK={local} is not a valid rank", hint=LAUNCH_HINT)
    return Ranks(rank, world, local)


def rank_device(ranks: Ranks, device: str) -> str:
    """The device a rank trains on: ``cuda`` becomes the GPU of its local rank.

    Raises:
        UsageError: a fixed ``cuda:N`` for several ranks, or fewer GPUs than local ranks.
    """
    if not ranks.distributed or torch.device(device).type != "cuda":
        return device
    if device != "cuda":
        raise UsageError(f"--device {device} with several ranks: each rank takes the GPU of its LOCAL_RANK",
                         hint="pass --device cuda or auto (and CUDA_VISIBLE_DEVICES to choose the GPUs)")
    if ranks.local_rank >= torch.cuda.device_count():
        raise UsageError(f"local rank {ranks.local_rank} has no GPU: {torch.cuda.device_count()} visible on this node",
                         hint="start at most one process per GPU (torchrun --nproc_per_node)")
    return f"cuda:{ranks.local_rank}"


@contextmanager
def process_group(ranks: Ranks, device: str, timeout: timedelta | None = None) -> Iterator[None]:
    """Join the run's process group for the ``with`` block (nothing to join alone).

    Reads ``MASTER_ADDR``/``MASTER_PORT`` from the environment (``env://``), as torchrun sets them.
    """
    if not ranks.distributed:
        yield
        return
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group("nccl" if cuda else "gloo", init_method="env://", rank=ranks.rank,
                            world_size=ranks.world_size, timeout=timeout)
    try:
        yield
    finally:
        dist.destroy_process_group()


def parameters_digest(module: torch.nn.Module) -> str:
    """sha256 of the parameters' values: equal on every rank while they train in step."""
    h = hashlib.sha256()
    for p in module.parameters():
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class GradientSum:
    """Sums every parameter's gradient over the ranks, in one all-reduce per optimisation step.

    Each rank's loss is weighted by its share of the global batch (``Shard.weight``), so the sum
    is the gradient of the global batch's mean loss, as one process on the whole batch gets.

    Why not ``DistributedDataParallel``: a step runs one backward pass per sampled subnet and DDP
    reduces after each (``no_sync`` would skip all but the last, and with
    ``find_unused_parameters=True`` walks the graph after every forward to find the many
    parameters an elastic subnet leaves out). One flat all-reduce after all of them costs a single
    collective a step. Its overlap of communication with backward matters little next to
    that, as only the last of several backward passes could overlap.

    Why a parameter without a gradient stays without one, rather than counting as zero: SGD skips
    a parameter whose ``grad`` is None, but applies weight decay and momentum to a zero gradient,
    so weights the step's subnets did not use would move, unlike in a single-process run. Every
    rank trains the same subnets, so the same parameters have gradients everywhere; the
    all-reduce carries a used-flag per parameter to check that (``disagreements`` counts the
    steps where it failed; read it once an epoch to keep a GPU from waiting every step).
    """

    def __init__(self, params: list[torch.nn.Parameter], world_size: int) -> None:
        self.params = params
        self.world_size = world_size
        self.numel = sum(p.numel() for p in params)
        device = params[0].device
        # gradients, then one used-flag per parameter, then the step's loss
        self.buffer = torch.zeros(self.numel + len(params) + 1, device=device)
        self.disagreements = torch.zeros((), dtype=torch.long, device=device)

    def __call__(self, step_loss: torch.Tensor) -> torch.Tensor:
        """All-reduce the gradients in place; return the step's loss summed over the ranks."""
        buf, n = self.buffer, self.numel
        buf.zero_()
        used = [p.grad is not None for p in self.params]
        offset = 0
        for p, has_grad in zip(self.params, used):
            if has_grad:  # view_as + copy_ keeps channels-last grads in logical order
                buf[offset : offset + p.numel()].view_as(p).copy_(p.grad)
            offset += p.numel()
        mask = torch.tensor(used, dtype=buf.dtype).to(buf.device, non_blocking=True)
        buf[n : n + len(used)] = mask
        buf[-1] = step_loss
        dist.all_reduce(buf)
        self.disagreements += (buf[n : n + len(used)] != mask * self.world_size).any()
        offset = 0
        for p, has_grad in zip(self.params, used):
            if has_grad:
                p.grad.copy_(buf[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        return buf[-1].clone()
