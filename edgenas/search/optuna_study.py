"""What the Optuna-backed strategies (``bayes``, ``nsga2``) share: an arch as an Optuna trial's
categorical params, batched ask/tell bookkeeping, constraint values, screening and resume.

Params are fixed-size (:mod:`edgenas.search.decisions`): every block slot up to a stage's largest
depth always has a kernel and an expand param, and slots beyond the chosen depth are inactive.
Conditional params (asking slot params only when the depth reaches them) would give TPE a dynamic
search space, where multivariate TPE, the GP sampler and NSGA-II crossover all fall back to
sampling those params independently; a fixed space keeps them joint, at the price of a few params
that carry no signal.

Constraints use ``Trial.set_constraint("violation", v)`` with the loop's ``Score.violation`` (sum
of relative excesses; a positive placeholder of 1.0 when a score is infeasible without an amount).
Optuna 5 deprecates the samplers' ``constraints_func`` in favour of this call; both feed the same
constrained TPE / GP / NSGA-II code.

Screening: with the loop's ``repair`` at hand, a proposal that breaks the budget costs no
evaluation. It is told to the study at once as a PRUNED trial with violation 1.0 (so the sampler
learns where the infeasible region is), and its repaired version (greedy shrinking to the nearest
feasible arch, as evolution does) is enqueued and asked as the next trial, which is what the
loop gets. Random search and evolution use the same free cost check. TPE ranks infeasible trials
last; NSGA-II keeps only completed ones, so for it the repaired child simply replaces the
infeasible one; the GP sampler ignores pruned trials, so ``bayes`` turns screening off for it by
default and lets its constraint model learn from the evaluated violations.
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.trial import Trial, TrialState

from ..space import Arch, SpaceSpec
from .decisions import decisions, from_params, to_params
from .strategy import Repair, Score

optuna.logging.set_verbosity(logging.WARNING)  # a strategy never prints (STYLE.md 3.6)

SCREENED_VIOLATION = 1.0
"""Constraint value told for a screened (or infeasible but unquantified) proposal."""


def distributions(spec: SpaceSpec) -> dict[str, CategoricalDistribution]:
    return {d.name: CategoricalDistribution(list(d.choices)) for d in decisions(spec)}


def quiet(make: Callable[[], Any]) -> Any:
    """Build an Optuna object without its experimental/deprecation warnings (multivariate TPE, etc.)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make()


def constraint_value(score: Score) -> float:
    if score.feasible:
        return 0.0
    return float(score.violation) if score.violation > 0 else SCREENED_VIOLATION


class StudyDriver:
    """Batched ask/tell of ``study`` over ``spec`` with optional screening through ``repair``.

    Args:
        values_of: the values told for a score (one per study direction).
        screen: redraw proposals that ``repair`` would change (see the module docstring).
        max_redraws: redraws per returned arch (screened or repeated proposals); past it the last
            proposal is returned as it is (then evaluated, or served from the loop's cache).
        max_repeats: of those, at most this many for repeated proposals (None: ``max_redraws``). A
            converged NSGA-II in a small space proposes mostly repeats; each redraw is a study
            trial, and the sampler's cost per trial grows with the study, so redrawing them all
            made a 1000-evaluation run take minutes (bench/strategies.py).
    """

    def __init__(self, spec: SpaceSpec, study: optuna.Study, values_of: Callable[[Score], Sequence[float]], *,
                 repair: Repair | None, screen: bool, max_redraws: int, rng: np.random.Generator,
                 max_repeats: int | None = None) -> None:
        self.spec = spec
        self.study = study
        self.values_of = values_of
        self.repair = repair
        self.screen = screen and repair is not None
        self.max_redraws = max_redraws
        self.max_repeats = max_redraws if max_repeats is None else max_repeats
        self.rng = rng
        self.dists = distributions(spec)
        self.pending: dict[Arch, list[Trial]] = defaultdict(list)
        self.known: dict[Arch, tuple[list[float], float]] = {}  # told archs: values, violation
        self.screened = 0
        self.repeats = 0

    def _ask_one(self) -> tuple[Trial, Arch]:
        trial = self.study.ask(self.dists)
        return trial, from_params(self.spec, trial.params)

    def ask(self, n: int) -> list[Arch]:
        """``n`` proposals; infeasible ones are screened (replaced by their repair) and archs told
        before are completed at once with their known values and redrawn, at most ``max_redraws``
        times per proposal (a converged sampler would otherwise cost a loop round per repeat)."""
        out = []
        for _ in range(n):
            trial, arch = self._ask_one()
            repeats = 0
            for _ in range(self.max_redraws):
                if arch in self.known:
                    if repeats >= self.max_repeats:
                        break
                    repeats += 1
                    values, violation = self.known[arch]
                    self._complete(trial, values, violation)
                    self.repeats += 1
                elif self.screen:
                    fixed = self.repair(arch, self.rng)  # type: ignore[misc]
                    if fixed == arch:  # repair returns a feasible arch unchanged
                        break
                    trial.set_constraint("violation", SCREENED_VIOLATION)
                    self.study.tell(trial, state=TrialState.PRUNED)
                    self.screened += 1
                    if fixed is not None:
                        self.study.enqueue_trial(to_params(self.spec, fixed), skip_if_exists=False)
                else:
                    break
                trial, arch = self._ask_one()
            self.pending[arch].append(trial)
            out.append(arch)
        return out

    def _complete(self, trial: Trial, values: list[float], violation: float) -> None:
        trial.set_constraint("violation", violation)
        self.study.tell(trial, values if len(values) > 1 else values[0])

    def tell(self, archs: list[Arch], scores: list[Score]) -> None:
        """Complete the pending trial of each arch; an arch this driver did not propose (a resume,
        another strategy's arch) is enqueued with its params first, so Optuna records it all the same."""
        for arch, score in zip(archs, scores):
            queue = self.pending.get(arch)
            if queue:
                trial = queue.pop(0)
                if not queue:
                    del self.pending[arch]
            else:
                self.study.enqueue_trial(to_params(self.spec, arch), skip_if_exists=False)
                trial = self.study.ask(self.dists)
            values = [float(v) for v in self.values_of(score)]
            violation = constraint_value(score)
            self._complete(trial, values, violation)
            self.known[arch] = (values, violation)

    def abandon_pending(self) -> None:
        """Fail trials that were asked but never told (so constant-liar TPE forgets them)."""
        for queue in self.pending.values():
            for trial in queue:
                self.study.tell(trial, state=TrialState.FAIL)
        self.pending.clear()
