"""The bundled predictor's held-out samples: the subnets bench/estimators.py ranks, and whose
from-scratch ground truth bench/scratch_baselines.py can train elsewhere (a GPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgenas.estimate import read_samples
from edgenas.space import Arch

PREDICTOR_DIR = Path(__file__).resolve().parent.parent / "edgenas" / "assets" / "predictor" / "fashion-mnist"


def heldout_split(samples, holdout: float = 0.2, seed: int = 0):
    """(train, held-out) exactly as ``edgenas predictor fit`` splits the samples."""
    ordered = sorted({s.arch: s for s in samples}.values(), key=lambda s: str(s.arch))
    order = np.random.default_rng(seed).permutation(len(ordered))
    n_test = int(round(holdout * len(ordered)))
    return [ordered[i] for i in order[n_test:]], [ordered[i] for i in order[:n_test]]


def heldout_archs() -> list[Arch]:
    """The held-out subnets in estimators.py's order (its ground truth takes the first ones)."""
    samples = [s for f in sorted(PREDICTOR_DIR.glob("samples-*.jsonl")) for s in read_samples(f)]
    return [s.arch for s in heldout_split(samples)[1]]
