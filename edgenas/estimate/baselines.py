"""Cheap reference models on the same split: a searched subnet that loses to them is not worth
deploying, and the report says so (a logistic regression on pixels, a small two-conv CNN).

Both train a fixed number of steps for a seed (never a time limit, so a slow machine gets the same
model) and report their wall time, so a user can weigh minutes against points.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data import DataSplits, ImageSet, iterate


@dataclass(frozen=True)
class BaselineResult:
    """Accuracy of one baseline on the validation and test splits, and what it cost."""

    name: str
    val_acc: float
    test_acc: float
    seconds: float
    params: int
    recipe: str

    def to_dict(self) -> dict:
        return asdict(self)


def _flat(data: ImageSet) -> torch.Tensor:
    return torch.from_numpy(data.x.reshape(len(data), -1).astype(np.float32) / 255.0)


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
    """Two 3x3 conv + max-pool stages and a 64-unit hidden layer: the network a person writes first."""

    def __init__(self, in_channels: int, num_classes: int, height: int, width: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc1 = nn.Linear(32 * (height // 4) * (width // 4), 64)
        self.fc2 = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def _cnn_accuracy(model: nn.Module, data: ImageSet) -> float:
    if len(data) == 0:
        return 0.0
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x).argmax(1) == y).sum()) for x, y in iterate(data, 500))
    model.train()
    return correct / len(data)


def small_cnn(splits: DataSplits, *, epochs: int = 3, seed: int = 0, batch_size: int = 128) -> BaselineResult:
    """:class:`SmallCNN` trained ``epochs`` with Adam at the images' own size; the epoch with the
    best validation accuracy is kept (early stopping)."""
    start = time.perf_counter()
    torch.manual_seed(seed)
    h, w = splits.image_size
    model = SmallCNN(splits.in_channels, splits.num_classes, h, w)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(seed)
    best_val, best_state = -1.0, None
    for _ in range(epochs):
        for x, y in iterate(splits.train, batch_size, shuffle_generator=generator):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        val = _cnn_accuracy(model, splits.val)
        if val > best_val:
            best_val, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    if best_state is not None:
        model.load_state_dict(best_state)
    return BaselineResult("small CNN", best_val, _cnn_accuracy(model, splits.test), round(time.perf_counter() - start, 2),
                          sum(p.numel() for p in model.parameters()),
                          f"conv16-conv32-fc64, Adam, {epochs} epochs, best validation epoch kept")


def run_baselines(splits: DataSplits, *, cnn_epochs: int = 3, seed: int = 0) -> list[BaselineResult]:
    """Both baselines on ``splits`` (``cnn_epochs`` 0 skips the CNN)."""
    out = [logistic_regression(splits)]
    if cnn_epochs > 0:
        out.append(small_cnn(splits, epochs=cnn_epochs, seed=seed))
    return out
