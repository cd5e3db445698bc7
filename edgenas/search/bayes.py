"""Bayesian optimisation with Optuna: TPE (default) or the Gaussian-process sampler, ask/tell.

Optuna does the modelling; this module maps archs to trials (fixed-size categorical params, see
:mod:`edgenas.search.optuna_study`), asks ``population`` trials at once and tells them back with
the fitness as the maximised value and ``Score.violation`` as the constraint. Batches: TPE uses
``constant_liar`` so trials asked together do not all land on the same point; the GP sampler
conditions on running trials by itself. Heuristic: no optimality guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna

from ..errors import UsageError
from ..space import Arch, SpaceSpec
from .optuna_study import StudyDriver, quiet
from .registry import register_strategy
from .strategy import Repair, Score, keep_best
from .strategy_config import coerce_config

SAMPLERS = ("tpe", "gp")


@dataclass(frozen=True)
class BayesConfig:
    """Sampler choice and batch size.

    Attributes:
        sampler: ``"tpe"`` or ``"gp"``.
        population: trials asked per ``ask()``.
        n_startup_trials: random trials before the model is used (Optuna's default is 10).
        multivariate: joint TPE over all params (Optuna marks it experimental; it handles the
            interactions between depth and slot params that independent TPE cannot).
        screen: redraw proposals the loop's ``repair`` rejects; None = on for TPE, off for GP.
        max_redraws: screening's give-up point per returned arch.
    """

    sampler: str = "tpe"
    population: int = 10
    n_startup_trials: int = 10
    multivariate: bool = True
    screen: bool | None = None
    max_redraws: int = 10


def _sampler(cfg: BayesConfig, seed: int) -> optuna.samplers.BaseSampler:
    if cfg.sampler == "tpe":
        return quiet(lambda: optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=cfg.n_startup_trials, multivariate=cfg.multivariate, constant_liar=True))
    if cfg.sampler == "gp":
        return quiet(lambda: optuna.samplers.GPSampler(seed=seed, n_startup_trials=cfg.n_startup_trials))
    raise UsageError(f"unknown Bayesian sampler {cfg.sampler!r}", hint=f"samplers: {', '.join(SAMPLERS)}")


@register_strategy("bayes")
class BayesSearch:
    """Constrained single-objective Optuna search over ``spec`` (maximises ``Score.fitness``).

    Args:
        spec: the space.
        config: :class:`BayesConfig` (or a dict / another config: matching fields are taken).
        seed: seeds the sampler and the screening repair.
        repair: the loop's repair, used only as a free feasibility test (screening).
    """

    def __init__(self, spec: SpaceSpec, config: Any = None, *, seed: int = 0, repair: Repair | None = None) -> None:
        self.spec = spec
        self.config = coerce_config(config, BayesConfig)
        self.seed = seed
        self.repair = repair
        self.population: list[tuple[Arch, float]] = []  # best feasible, best first
        self.generation = 0
        self.driver = self._driver(seed)

    def _driver(self, sampler_seed: int) -> StudyDriver:
        cfg = self.config
        study = quiet(lambda: optuna.create_study(direction="maximize", sampler=_sampler(cfg, sampler_seed)))
        screen = cfg.screen if cfg.screen is not None else cfg.sampler == "tpe"
        return StudyDriver(self.spec, study, lambda s: [s.fitness], repair=self.repair, screen=screen,
                           max_redraws=cfg.max_redraws, rng=np.random.default_rng(self.seed))

    @property
    def study(self) -> optuna.Study:
        return self.driver.study

    def ask(self, n: int | None = None) -> list[Arch]:
        return quiet(lambda: self.driver.ask(n or self.config.population))

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        quiet(lambda: self.driver.tell(archs, scores))
        self.population = keep_best(self.population, archs, scores, self.config.population)
        self.generation += 1

    @property
    def best(self) -> tuple[Arch, float] | None:
        return self.population[0] if self.population else None

