"""Fit the accuracy predictor on collected samples, keeping a held-out share to report its quality."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..space import SpaceSpec
from ..supernet import load_meta
from ..supernet.checkpoint import weights_sha256
from .dataset import measurement_settings, read_samples
from .predictor import AccuracyPredictor, PredictorConfig


def fit_predictor(samples: Path, supernet_dir: Path, out: Path, *, holdout: float = 0.2, seed: int = 0,
                  warm_start: Path | None = None) -> dict:
    """Fit on ``samples/samples-*.jsonl`` (measured on ``supernet_dir``), save to ``out``;
    ``warm_start`` names a predictor to start from (see :meth:`AccuracyPredictor.fit`).

    Returns:
        ``{"train": n, "heldout": n, "rmse": x, "kendall_tau": x}`` (no quality keys without a holdout).

    Raises:
        UsageError: fewer than 10 samples, or samples measured with different settings.
    """
    files = sorted(Path(samples).glob("samples-*.jsonl"))
    records = {s.arch: s for f in files for s in read_samples(f)}
    if len(records) < 10:
        raise UsageError(f"only {len(records)} samples in {samples}", hint="run `edgenas predictor collect` first")
    settings = measurement_settings(records.values())
    if len(settings) > 1:
        raise UsageError(f"the samples in {samples} were measured with different (calibration, validation) image "
                         f"counts: {sorted(settings)}", hint="fit on samples measured one way; re-collect the others")
    spec = SpaceSpec.from_dict(load_meta(supernet_dir)["space"])
    ordered = sorted(records.values(), key=lambda s: str(s.arch))
    order = np.random.default_rng(seed).permutation(len(ordered))
    n_test = int(round(holdout * len(ordered)))
    test = [ordered[i] for i in order[:n_test]]
    train = [ordered[i] for i in order[n_test:]]
    start = AccuracyPredictor.load(warm_start) if warm_start is not None else None
    model = AccuracyPredictor.fit(spec, [s.arch for s in train], [s.accuracy for s in train], PredictorConfig(seed=seed),
                                  warm_start=start)
    model.supernet_sha256 = weights_sha256(supernet_dir)
    quality = model.evaluate([s.arch for s in test], [s.accuracy for s in test]) if test else {}
    model.save(out)
    return {"train": len(train), "heldout": len(test), "warm_start": str(warm_start) if warm_start else None, **quality}
