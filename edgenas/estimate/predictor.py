"""Accuracy predictor: an MLP over a one-hot arch encoding (Once-for-All's recipe).

Encoding (``ArchEncoder``): for every block slot of every stage (up to the stage's largest depth)
a one-hot kernel and a one-hot expand ratio — all zeros when the block is absent — then per stage
a one-hot depth, and one-hot width and resolution. The MLP has three hidden layers of 400 ReLU
units and predicts standardised accuracy; it is trained with Adam on MSE. Saved as
``predictor.safetensors`` (weights) + ``predictor.json`` (space, config, target scaling, metrics).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError, DataError
from ..space import Arch, SpaceSpec
from ..torch_threads import torch_threads

WEIGHTS = "predictor.safetensors"
META = "predictor.json"


class ArchEncoder:
    """Fixed-length float encoding of archs of one space."""

    def __init__(self, spec: SpaceSpec) -> None:
        self.spec = spec
        self._k = {k: i for i, k in enumerate(spec.kernels)}
        self._e = {e: i for i, e in enumerate(spec.expands)}
        self._block = len(spec.kernels) + len(spec.expands)
        self._slots = [max(s.depths) for s in spec.stages]
        self._depth_offsets = []
        off = sum(self._slots) * self._block
        for s in spec.stages:
            self._depth_offsets.append(off)
            off += len(s.depths)
        self._width_offset = off
        self._res_offset = off + len(spec.widths)
        self.dim = self._res_offset + len(spec.resolutions)

    def encode(self, archs: list[Arch]) -> np.ndarray:
        """``(len(archs), dim)`` float32 one-hot features."""
        spec = self.spec
        x = np.zeros((len(archs), self.dim), dtype=np.float32)
        for n, arch in enumerate(archs):
            slot = 0
            for si, stage in enumerate(arch.stages):
                for bi, b in enumerate(stage):
                    base = (slot + bi) * self._block
                    x[n, base + self._k[b.kernel]] = 1.0
                    x[n, base + len(spec.kernels) + self._e[b.expand]] = 1.0
                slot += self._slots[si]
                x[n, self._depth_offsets[si] + spec.stages[si].depths.index(len(stage))] = 1.0
            x[n, self._width_offset + spec.widths.index(arch.width)] = 1.0
            x[n, self._res_offset + spec.resolutions.index(arch.resolution)] = 1.0
        return x


@dataclass(frozen=True)
class PredictorConfig:
    """MLP size and training schedule (OFA: 3 x 400, Adam).

    ``weight_decay`` is 30x OFA's: measured accuracies carry about half a point of sampling
    noise (5,000 validation images), and with OFA's 1e-4 the MLP fits that noise. Five-fold cross
    validation on the bundled 800 samples: RMSE 0.64 -> 0.53 points, Kendall tau 0.77 -> 0.81
    (1e-2: 0.55 / 0.81; 1e-1: 0.61 / 0.79; ridge regression: 0.62 / 0.78).
    """

    hidden: int = 400
    layers: int = 3
    epochs: int = 300
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 3e-2
    seed: int = 0
    threads: int = 1  # a 3x400 MLP gains nothing from more, and loses a lot on a shared CPU


def _mlp(dim: int, cfg: PredictorConfig) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = dim
    for _ in range(cfg.layers):
        layers += [nn.Linear(width, cfg.hidden), nn.ReLU()]
        width = cfg.hidden
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


def rmse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(pred) - np.asarray(target)) ** 2)))


def kendall_tau(pred: np.ndarray, target: np.ndarray) -> float:
    """Rank agreement in [-1, 1] (what a search cares about)."""
    from scipy.stats import kendalltau  # here, not at the top: scipy.stats takes ~0.7 s to import, and
    # every pool worker and CLI call imports this module

    tau = kendalltau(pred, target).statistic
    return float(tau) if np.isfinite(tau) else 0.0


class AccuracyPredictor:
    """Predicts validation accuracy in [0, 1] of archs of ``spec``."""

    def __init__(self, spec: SpaceSpec, config: PredictorConfig | None = None, *, mean: float = 0.0,
                 std: float = 1.0, metrics: dict | None = None, supernet_sha256: str | None = None) -> None:
        self.spec = spec
        self.supernet_sha256 = supernet_sha256  # the checkpoint whose measured accuracies it learned
        self.config = config or PredictorConfig()
        self.encoder = ArchEncoder(spec)
        torch.manual_seed(self.config.seed)
        self.net = _mlp(self.encoder.dim, self.config)
        self.mean, self.std = mean, std
        self.metrics = dict(metrics or {})

    @classmethod
    def fit(cls, spec: SpaceSpec, archs: list[Arch], accuracies: list[float],
            config: PredictorConfig | None = None, warm_start: AccuracyPredictor | None = None) -> AccuracyPredictor:
        """Train on (arch, accuracy) pairs (deterministic for ``config.seed``).

        ``warm_start``: start from another predictor's weights (same space up to classes and input
        channels, e.g. the bundled one), so a few samples of new data refine a learned ranking
        instead of learning one from nothing.

        Raises:
            DataError: fewer than 2 samples or mismatched lengths.
        """
        if len(archs) != len(accuracies) or len(archs) < 2:
            raise DataError(f"need at least 2 (arch, accuracy) pairs, got {len(archs)} archs and {len(accuracies)} values",
                            hint="collect more samples with edgenas.estimate.collect_samples")
        y = np.asarray(accuracies, dtype=np.float64)
        model = cls(spec, config, mean=float(y.mean()), std=float(y.std()) or 1.0)
        cfg = model.config
        if warm_start is not None:
            if warm_start.encoder.dim != model.encoder.dim or warm_start.config.hidden != cfg.hidden \
                    or warm_start.config.layers != cfg.layers:
                raise DataError("the warm-start predictor encodes another space or has another MLP shape")
            model.net.load_state_dict(warm_start.net.state_dict())
            model.metrics["warm_start"] = True
        x = torch.from_numpy(model.encoder.encode(list(archs)))
        t = torch.from_numpy(((y - model.mean) / model.std).astype(np.float32))[:, None]
        gen = torch.Generator().manual_seed(cfg.seed)
        opt = torch.optim.Adam(model.net.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
        model.net.train()
        with torch_threads(max(1, cfg.threads)):
            for _ in range(cfg.epochs):
                order = torch.randperm(len(x), generator=gen)
                for start in range(0, len(x), cfg.batch_size):
                    idx = order[start:start + cfg.batch_size]
                    loss = nn.functional.mse_loss(model.net(x[idx]), t[idx])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                sched.step()
        model.net.eval()
        model.metrics["train_rmse"] = rmse(model.predict(list(archs)), y)
        model.metrics["train_samples"] = len(archs)
        return model

    @torch.no_grad()
    def predict(self, archs: list[Arch]) -> np.ndarray:
        """Predicted accuracies, ``(len(archs),)`` float64."""
        if not archs:
            return np.zeros(0)
        x = torch.from_numpy(self.encoder.encode(list(archs)))
        with torch_threads(max(1, self.config.threads)):
            return self.net(x)[:, 0].double().numpy() * self.std + self.mean

    def __call__(self, archs: list[Arch]) -> np.ndarray:
        return self.predict(archs)

    def evaluate(self, archs: list[Arch], accuracies: list[float]) -> dict[str, float]:
        """RMSE and Kendall tau on held-out pairs (also stored in ``metrics`` and saved)."""
        pred = self.predict(list(archs))
        out = {"rmse": rmse(pred, np.asarray(accuracies)), "kendall_tau": kendall_tau(pred, np.asarray(accuracies)),
               "samples": len(archs)}
        self.metrics.update({f"heldout_{k}": v for k, v in out.items()})
        return out

    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / (WEIGHTS + ".tmp")
        save_file({k: v.detach().contiguous().clone() for k, v in self.net.state_dict().items()}, str(tmp))
        os.replace(tmp, d / WEIGHTS)
        meta = {"schema": 1, "space": json.loads(self.spec.to_json()), "config": asdict(self.config),
                "mean": self.mean, "std": self.std, "metrics": self.metrics, "supernet_sha256": self.supernet_sha256}
        tmp = d / (META + ".tmp")
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
        os.replace(tmp, d / META)
        return d

    @classmethod
    def load(cls, directory: str | Path) -> AccuracyPredictor:
        """Rebuild a saved predictor.

        Raises:
            CheckpointError: missing or mismatched files.
        """
        d = Path(directory)
        if not (d / META).is_file() or not (d / WEIGHTS).is_file():
            raise CheckpointError(f"no accuracy predictor in {d} ({META} or {WEIGHTS} missing)",
                                  hint="make one with `edgenas predictor collect --samples S` and `edgenas predictor "
                                       "fit --samples S --out DIR`, then pass --predictor DIR (or leave --predictor "
                                       "out for the bundled one)")
        try:
            meta = json.loads((d / META).read_text())
            spec = SpaceSpec.from_dict(meta["space"])
            model = cls(spec, PredictorConfig(**meta["config"]), mean=float(meta["mean"]), std=float(meta["std"]),
                        metrics=meta.get("metrics"), supernet_sha256=meta.get("supernet_sha256"))
            model.net.load_state_dict(load_file(str(d / WEIGHTS)))
        except (KeyError, TypeError, ValueError, RuntimeError, SafetensorError) as exc:  # ValueError: JSON, UTF-8, numbers
            raise CheckpointError(f"cannot load the predictor in {d}: {exc}",
                                  hint="fit it again with `edgenas predictor fit --samples S --out DIR`, or leave "
                                       "--predictor out for the bundled one") from exc
        model.net.eval()
        return model
