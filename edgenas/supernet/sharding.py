"""Split every global training batch into parts: one or more per rank of a data-parallel run.

Why parts: the global batch (``--batch-size``) and its order are what a run trains on, whatever the
number of processes. Each of ``ranks × micro_batches`` parts is one forward and backward pass, so
batch norm normalises over a part; the loss of a part is weighted by its share of the global batch,
so the weighted gradients summed over all parts are the gradient of the global batch's mean loss.
Runs with the same number of parts therefore train the same weights however the parts are spread
over processes (up to float summation order), and one part per run is the plain single-process step.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..data import ImageSet, to_tensor
from ..errors import UsageError


@dataclass(frozen=True)
class Shard:
    """Rows ``[start, stop)`` of a global batch of ``total`` images."""

    start: int
    stop: int
    total: int

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def weight(self) -> float:
        """This part's loss weight: its share of the global batch."""
        return self.size / self.total


def check_divisible(batch_size: int, ranks: int, micro_batches: int = 1) -> None:
    """Refuse a global batch that does not split into equal parts.

    Raises:
        UsageError: ``batch_size`` is not a multiple of ``ranks × micro_batches``.
    """
    parts = ranks * micro_batches
    if micro_batches < 1:
        raise UsageError(f"micro-batches must be at least 1, got {micro_batches}")
    if batch_size % parts:
        what = f"{ranks} ranks" + (f" × {micro_batches} micro-batches" if micro_batches > 1 else "")
        raise UsageError(
            f"--batch-size {batch_size} (the global batch) does not split evenly over {what}",
            hint=f"use a multiple of {parts}, e.g. {max(parts, batch_size // parts * parts)}; "
                 f"each rank then trains on batch-size / {ranks} images a step",
        )


def split_batch(total: int, parts: int) -> list[Shard]:
    """``total`` rows in ``parts`` consecutive shards whose sizes differ by at most one (the first
    ones larger, as ``numpy.array_split``); a shard is empty when ``total < parts``."""
    base, extra = divmod(total, parts)
    shards, start = [], 0
    for i in range(parts):
        stop = start + base + (1 if i < extra else 0)
        shards.append(Shard(start, stop, total))
        start = stop
    return shards


def local_shards(total: int, rank: int, ranks: int, micro_batches: int = 1) -> list[Shard]:
    """The parts of a global batch of ``total`` images that ``rank`` trains (consecutive rows)."""
    return split_batch(total, ranks * micro_batches)[rank * micro_batches : (rank + 1) * micro_batches]


def steps_in_epoch(images: int, batch_size: int, parts: int = 1) -> int:
    """Steps of one pass over ``images``. The last, smaller batch is dropped when it has fewer
    images than there are parts: a rank without images would have no gradients to add."""
    steps = math.ceil(images / batch_size)
    tail = images % batch_size
    return steps - 1 if 0 < tail < parts else steps


def local_batches(data: ImageSet, batch_size: int, *, shuffle_generator: torch.Generator, rank: int = 0,
                  ranks: int = 1, micro_batches: int = 1, device: torch.device | str = "cpu",
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor, list[Shard]]]:
    """This rank's rows of every shuffled global batch: ``(images (n, C, H, W), labels (n,), shards)``.

    Every rank draws the same permutation (``shuffle_generator`` seeded alike), so the global
    batches are those of :func:`edgenas.data.iterate` and a rank loads only its own rows onto its
    device. ``shards`` locate the rows in the global batch, the first at ``images[0]``.
    """
    n = len(data)
    order = torch.randperm(n, generator=shuffle_generator).numpy()
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        shards = local_shards(len(idx), rank, ranks, micro_batches)
        mine = np.asarray(idx[shards[0].start : shards[-1].stop])
        yield (to_tensor(data.x[mine]).to(device, non_blocking=True),
               torch.from_numpy(data.y[mine]).to(device, non_blocking=True), shards)
