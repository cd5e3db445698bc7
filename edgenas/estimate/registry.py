"""Accuracy estimators registered by name: each turns a batch of archs into scores (higher is better).

An estimator factory receives an :class:`EstimatorContext` (space, seed, and lazily loaded
supernet, data and predictor) and returns the batch scorer the search loop calls. Built in:
``predictor`` (the MLP predictor) and ``inherited`` (supernet weights + BN recalibration, measured
on the validation split); other modules register proxies and training-based estimators.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ..data import load_dataset, load_recorded_dataset
from ..distributed import Job, Pool, SerialPool, Watch, values_in_order
from ..errors import UsageError
from ..paths import PREDICTORS_DIR
from ..space import Arch, SpaceSpec
from ..supernet import load_supernet
from ..supernet.bundled import bundled_supernet_dir
from .dataset import measuring_job
from .predictor import AccuracyPredictor


Estimator = Callable[[list[Arch]], Sequence[float] | Iterator[float]]
"""Batch scorer: one score per arch, in order, higher is better (an accuracy, or a proxy's value).
A slow one-by-one scorer yields its scores (a generator): the search loop then stores each as it
comes, so an interrupt loses no finished evaluation."""


@dataclass
class EstimatorContext:
    """What an estimator may need, loaded on first use (a proxy never loads the predictor)."""

    spec: SpaceSpec
    seed: int = 0
    supernet_dir: Path | None = None
    predictor_dir: Path | None = None
    dataset: str | None = None  # None: the supernet's own dataset
    pool: Pool = field(default_factory=SerialPool)
    """Where slow estimators (measured accuracy, training from scratch) evaluate archs."""
    watch: Watch | None = None
    """Told what each worker of ``pool`` evaluates, whenever that changes."""
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def preload(self, *, supernet: tuple[Any, dict] | None = None, data: Any = None) -> EstimatorContext:
        """Share a ``(supernet, meta)`` pair and dataset the caller already loaded."""
        if supernet is not None:
            self._cache["supernet"] = supernet
        if data is not None:
            self._cache["data"] = data
        return self

    def supernet(self):
        """``(OFASupernet, meta)`` of ``supernet_dir`` (default: the bundled one)."""
        if "supernet" not in self._cache:
            self._cache["supernet"] = load_supernet(self.supernet_dir or bundled_supernet_dir())
        return self._cache["supernet"]

    def data(self):
        """The dataset splits (the supernet's dataset unless ``dataset`` names another)."""
        if "data" not in self._cache:
            if self.dataset is not None:  # the caller's choice (e.g. a proxy scored on other data)
                self._cache["data"] = load_dataset(self.dataset, seed=self.seed)
            else:  # the supernet's own split: another seed's validation images were trained on
                self._cache["data"] = load_recorded_dataset(self.supernet()[1])
        return self._cache["data"]

    def predictor_path(self) -> Path:
        """The given predictor, else the one bundled for the supernet's dataset."""
        return self.predictor_dir or PREDICTORS_DIR / self.supernet()[1].get("dataset", "fashion-mnist")

    def evaluate(self, job: Job, archs: Sequence[Arch]) -> Iterator[Any]:
        """``job`` run on each arch on :attr:`pool`, values in arch order as they complete."""
        return values_in_order(self.pool, job, archs, [str(a) for a in archs], watch=self.watch)

    def predictor(self):
        if "predictor" not in self._cache:
            self._cache["predictor"] = AccuracyPredictor.load(self.predictor_path())
        return self._cache["predictor"]


EstimatorFactory = Callable[[EstimatorContext], Estimator]
_ESTIMATORS: dict[str, EstimatorFactory] = {}


def register_estimator(name: str) -> Callable[[EstimatorFactory], EstimatorFactory]:
    def wrap(factory: EstimatorFactory) -> EstimatorFactory:
        _ESTIMATORS[name] = factory
        return factory

    return wrap


def list_estimators(pattern: str = "*") -> list[str]:
    return sorted(n for n in _ESTIMATORS if fnmatch.fnmatch(n, pattern))


def get_estimator(name: str, context: EstimatorContext) -> Estimator:
    """Build the estimator registered as ``name``.

    Raises:
        UsageError: unknown name (the hint lists the known ones).
    """
    try:
        factory = _ESTIMATORS[name]
    except KeyError:
        raise UsageError(f"unknown estimator {name!r}", hint=f"known: {', '.join(list_estimators())}") from None
    return factory(context)


@register_estimator("predictor")
def _predictor(context: EstimatorContext) -> Estimator:
    return context.predictor()


@register_estimator("inherited")
def _inherited(context: EstimatorContext) -> Estimator:
    # One job for the whole search, made on first use: a Ray pool keeps its workers set up for it.
    job = cache(lambda: measuring_job(context.supernet()[0], context.data(), calib_images=1000))

    def score(archs: list[Arch]) -> Iterator[float]:
        return context.evaluate(job(), archs)

    return score
