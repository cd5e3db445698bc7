"""Cheap reference models on the same split: a searched subnet that loses to them is not worth
deploying, and the report says so (a logistic regression on pixels, a small two-conv CNN).

Both train a fixed number of steps for a seed (never a time limit, so a slow machine gets the same
model) and report their wall time, so a user can weigh minutes against points.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, ImageSet, iterate
from ..data.batches import draw_affine, warp
from ..supernet.evaluate import accuracy


@dataclass(frozen=True)
class BaselineResult:
    """Accuracy of one baseline on the validation and test splits, and what it cost."""

    name: str
    val_acc: float
    test_acc: float
    seconds: float
    params: int
    recipe: str
    steps: int | None = None
    """Optimizer steps (None: a convex fit run to convergence)."""

    def to_dict(self) -> dict:
        return asdict(self)


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch threads, then restore (also a decorator). Why: a baseline's ops are too
    small to split, and on a busy 2-core machine two threads made 200 small-CNN steps 7x slower than
    one (17 s vs 2.5 s)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _flat(data: ImageSet) -> torch.Tensor:
    return torch.from_numpy(data.x.reshape(len(data), -1).astype(np.float32) / 255.0)


@_threads(1)
def logistic_regression(splits: DataSplits, *, l2: float = 1e-4, max_iter: int = 100) -> BaselineResult:
    """Multinomial logistic regression on standardised pixels, full-batch L-BFGS (convex: no seed)."""
    start = time.perf_counter()
    x = _flat(splits.train)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-3)
    x = (x - mean) / std
    y = torch.from_numpy(splits.train.y)
    linear = nn.Linear(x.shape[1], splits.num_classes)
    nn.init.zeros_(linear.weight)
    nn.init.zeros_(linear.bias)
    opt = torch.optim.LBFGS(linear.parameters(), max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = F.cross_entropy(linear(x), y) + l2 * linear.weight.square().sum()
        loss.backward()
        return loss

    opt.step(closure)

    def acc(part: ImageSet) -> float:
        if len(part) == 0:
            return 0.0
        with torch.no_grad():
            pred = linear((_flat(part) - mean) / std).argmax(1).numpy()
        return float(np.mean(pred == part.y))

    return BaselineResult("logistic regression", acc(splits.val), acc(splits.test), round(time.perf_counter() - start, 2),
                          sum(p.numel() for p in linear.parameters()), f"pixels, L2 {l2:g}, L-BFGS {max_iter} iterations")


class SmallCNN(nn.Module):
    """Two 3x3 conv + batch norm + max-pool stages and a 64-unit hidden layer: the network a
    person writes first (batch norm so one learning rate suits any dataset)."""

    def __init__(self, in_channels: int, num_classes: int, height: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * (height // 4) * (width // 4), 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


SMALL_CNN_STEPS = 2000
"""Default optimizer steps of the small-CNN guard rail (batch 64, as :class:`~edgenas.extract.adapt.AdaptPlan`
sizes adaptation: 2,100 steps). Counted in steps, not epochs, so 1,300 images get as many updates as
60,000: three epochs of sklearn's digits are 63 steps and gave 52.8 % test accuracy, a straw man."""

SMALL_CNN_MAX_EPOCHS = 100
"""At most this many passes over the training images: a tiny set reaches its best validation
accuracy well before, and the cap keeps a 100-image test fast."""


def small_cnn_steps(train_images: int, *, steps: int | None = None, epochs: int | None = None,
                    batch_size: int = 64) -> int:
    """Optimizer steps the small CNN gets: ``steps`` (default :data:`SMALL_CNN_STEPS`), or more when
    ``epochs`` passes need more, capped at :data:`SMALL_CNN_MAX_EPOCHS` passes (at least one step)."""
    per_epoch = max(1, math.ceil(train_images / batch_size))
    wanted = max(SMALL_CNN_STEPS if steps is None else steps, (epochs or 0) * per_epoch)
    return max(1, min(wanted, SMALL_CNN_MAX_EPOCHS * per_epoch))


@_threads(1)
def small_cnn(splits: DataSplits, *, steps: int | None = None, epochs: int | None = None, seed: int = 0,
              batch_size: int = 64, lr: float = 3e-3, weight_decay: float = 1e-4, shift: float = 0.1,
              evaluations: int = 20) -> BaselineResult:
    """:class:`SmallCNN` at the images' own size, trained a fixed number of optimizer steps
    (:func:`small_cnn_steps`) so the guard rail is a fair opponent on a small set.

    The recipe one would give a hand-written CNN: AdamW, a 5 % linear warm-up then cosine decay,
    random shifts of up to ``shift`` of the image (no mirroring: a mirrored digit or word may change
    its label), and the weights with the best validation accuracy over ``evaluations`` checks kept
    (early stopping). ``epochs`` asks for at least that many passes (the older epoch-sized call).
    """
    start = time.perf_counter()
    torch.manual_seed(seed)
    h, w = splits.image_size
    total = small_cnn_steps(len(splits.train), steps=steps, epochs=epochs, batch_size=batch_size)
    model = SmallCNN(splits.in_channels, splits.num_classes, h, w)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    warmup = max(1, total // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * 0.5 * (
        1 + math.cos(math.pi * max(0, s - warmup) / max(1, total - warmup))))
    shuffle, aug = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    check_every = max(1, total // max(1, evaluations))
    best_val, best_state, done = -1.0, None, 0
    while done < total:
        for x, y in iterate(splits.train, batch_size, shuffle_generator=shuffle):
            if shift > 0:
                x = warp(x, draw_affine(len(x), aug, shift, flip=False), (h, w))
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
            schedule.step()
            done += 1
            if done % check_every == 0 or done == total:
                val = accuracy(model, splits.val, None)
                if val >= best_val:  # a tie goes to the later weights (lower learning rate)
                    best_val, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
            if done == total:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    return BaselineResult("small CNN", best_val, accuracy(model, splits.test, None), round(time.perf_counter() - start, 2),
                          sum(p.numel() for p in model.parameters()),
                          f"conv16-bn-conv32-bn-fc64, AdamW {lr:g} cosine, shifts ±{shift:.0%}, {total} steps of "
                          f"{batch_size}, best of {math.ceil(total / check_every)} validation checks kept", steps=total)


def run_baselines(splits: DataSplits, *, cnn_epochs: int = 3, cnn_steps: int | None = None,
                  seed: int = 0) -> list[BaselineResult]:
    """Both baselines on ``splits``: ``cnn_epochs`` 0 skips the CNN; otherwise it trains
    ``cnn_steps`` steps (default :data:`SMALL_CNN_STEPS`) or ``cnn_epochs`` passes, whichever is more
    (``edgenas extract --baseline-epochs`` passes epochs; the steps keep small sets from a weak CNN)."""
    out = [logistic_regression(splits)]
    if cnn_epochs > 0:
        out.append(small_cnn(splits, steps=cnn_steps, epochs=cnn_epochs, seed=seed))
    return out
