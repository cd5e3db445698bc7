"""Training from scratch as an estimator, at several fidelities: early stopping and successive halving.

Fidelity is the number of training images an arch gets (a fixed, seeded subset of the training
split, so a larger budget sees a superset of a smaller one's images). One evaluation trains a
fresh ``Subnet`` with the from-scratch recipe (:func:`edgenas.supernet.train_from_scratch`) and
reports validation accuracy, BN statistics recalibrated first (a few dozen steps leave the running
averages far off). With ``patience`` it trains up to ``epochs`` epochs, stops when validation
accuracy has not improved for ``patience`` epochs, and scores the best epoch.

Successive halving (Hyperband's inner loop; Jamieson & Talwalkar 2016, Li et al. 2018) ranks a
*batch*: all ``n`` archs get ``min_budget``, the best ``⌊n/eta⌋`` go on with ``eta`` times the
budget, and so on until one is left or the budget would pass ``max_budget``. Every rung retrains
from scratch at its budget, so the cost is exactly ``Σ_rungs survivors × budget`` images::

    result = successive_halving(archs, ScratchEvaluator(spec, data, ScratchConfig()), min_budget=250, eta=3)
    result.scores[arch], result.fidelity[arch]   # accuracy at the highest budget reached, and that budget

Registered estimators: ``scratch`` (one fidelity, early stopping) and ``halving`` (the batch
version; its score is ``rung + accuracy``, so an arch promoted further always ranks higher).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from ..data import DataSplits
from ..distributed import Job, Pool, SerialPool, Watch, values_in_order
from ..errors import UsageError
from ..space import Arch, SpaceSpec
from ..supernet import Subnet, accuracy, recalibrate_bn, train_from_scratch
from ..torch_threads import torch_threads
from .registry import Estimator, EstimatorContext, register_estimator


@dataclass(frozen=True)
class ScratchConfig:
    """A short from-scratch training: data sizes, epochs, early stopping and the SGD recipe.

    ``train_images`` is the default budget; ``patience`` 0 trains all ``epochs`` and scores the end.
    The recipe is ``train_from_scratch``'s with a smaller batch and learning rate and no label
    smoothing, so a few hundred images still make dozens of stable steps.
    """

    train_images: int = 2000
    val_images: int = 1000
    epochs: int = 1
    patience: int = 0
    batch_size: int = 32
    lr: float = 0.05
    label_smoothing: float = 0.0
    calib_images: int = 500  # BN statistics are re-estimated on this many training images before scoring
    seed: int = 0
    threads: int = 0  # 0: leave torch's setting alone


@dataclass(frozen=True)
class ScratchResult:
    """Best validation accuracy, the epochs actually trained and the training images they used."""

    accuracy: float
    epochs: int
    best_epoch: int
    images: int


def train_subset(data: DataSplits, images: int, seed: int) -> DataSplits:
    """``data`` with its training split cut to the first ``images`` of a seeded permutation."""
    n = len(data.train)
    order = np.random.default_rng(seed).permutation(n)
    return dataclasses.replace(data, train=data.train.subset(np.sort(order[: min(images, n)])))


def scratch_accuracy(spec: SpaceSpec, arch: Arch, data: DataSplits, config: ScratchConfig | None = None,
                     *, train_images: int | None = None, device: str = "cpu") -> ScratchResult:
    """Train ``arch`` from scratch on ``train_images`` (default ``config.train_images``) and score it.

    Raises:
        UsageError: a non-positive image budget, epoch count or patience below 0.
    """
    cfg = config or ScratchConfig()
    budget = cfg.train_images if train_images is None else train_images
    if budget < 1 or cfg.epochs < 1 or cfg.patience < 0:
        raise UsageError(f"scratch training needs train_images >= 1, epochs >= 1, patience >= 0; got "
                         f"{budget}, {cfg.epochs}, {cfg.patience}")
    subset = train_subset(data, budget, cfg.seed)
    val = data.val.subset(np.arange(min(cfg.val_images, len(data.val))))
    history: list[float] = []

    def should_stop(epoch: int, model: Subnet) -> bool:
        if not cfg.patience and epoch < cfg.epochs - 1:
            return False  # no early stopping: only the final epoch is scored
        # A few dozen steps leave BN's running averages far from the weights' statistics.
        recalibrate_bn(model, subset.train, arch.resolution, images=cfg.calib_images)
        history.append(accuracy(model, val, arch.resolution))
        best = int(np.argmax(history))
        return bool(cfg.patience) and len(history) - 1 - best >= cfg.patience

    with torch_threads(cfg.threads):
        train_from_scratch(spec, arch, subset, epochs=cfg.epochs, lr=cfg.lr, batch_size=cfg.batch_size,
                           label_smoothing=cfg.label_smoothing, seed=cfg.seed, should_stop=should_stop, device=device)
    epochs = len(history) if cfg.patience else cfg.epochs
    best = int(np.argmax(history))
    best_epoch = best if cfg.patience else cfg.epochs - 1
    return ScratchResult(float(history[best]), epochs, best_epoch, epochs * len(subset.train))


def _scratch_task(state: tuple, payload: tuple[Arch, int]) -> ScratchResult:
    spec, data, config, device = state
    arch, budget = payload
    return scratch_accuracy(spec, arch, data, config, train_images=budget, device=device)


def scratch_job(spec: SpaceSpec, data: DataSplits, config: ScratchConfig, device: str = "cpu") -> Job:
    """The pool job training one ``(arch, budget)`` from scratch per task; each worker receives
    the data once."""
    return Job(_scratch_task, context=(spec, data, config, device))


class ScratchEvaluator:
    """``(archs, budget) → validation accuracies``: one rung of halving, trained on ``pool``.

    ``budget`` is the training subset size; each of ``config.epochs`` epochs passes over it once.
    """

    def __init__(self, spec: SpaceSpec, data: DataSplits, config: ScratchConfig | None = None, device: str = "cpu",
                 *, pool: Pool | None = None, watch: Watch | None = None):
        self.job = scratch_job(spec, data, config or ScratchConfig(), device)
        self.pool, self.watch = pool or SerialPool(), watch
        self.images_trained = 0  # what the training actually consumed, for budget checks

    def scores(self, archs: Sequence[Arch], budget: int) -> Iterator[float]:
        """Each arch's accuracy at ``budget`` training images, in order, as soon as it is known."""
        labels = [f"{a} @ {budget} images" for a in archs]
        for result in values_in_order(self.pool, self.job, [(a, budget) for a in archs], labels, watch=self.watch):
            self.images_trained += result.images
            yield result.accuracy

    def __call__(self, archs: Sequence[Arch], budget: int) -> list[float]:
        return list(self.scores(archs, budget))


@dataclass(frozen=True)
class Rung:
    """One round of successive halving: its budget and the archs evaluated at it, with scores."""

    budget: int
    archs: tuple[Arch, ...]
    scores: tuple[float, ...]

    @property
    def cost(self) -> int:
        return self.budget * len(self.archs)


@dataclass(frozen=True)
class HalvingResult:
    """Per arch: score at the highest fidelity it reached, that fidelity and its rung index."""

    rungs: tuple[Rung, ...]
    scores: dict[Arch, float] = field(default_factory=dict)
    fidelity: dict[Arch, int] = field(default_factory=dict)
    rung: dict[Arch, int] = field(default_factory=dict)

    @property
    def total_budget(self) -> int:
        return sum(r.cost for r in self.rungs)

    @property
    def best(self) -> Arch:
        last = self.rungs[-1]
        return last.archs[int(np.argmax(last.scores))]

    def rank_scores(self, archs: Sequence[Arch]) -> list[float]:
        """``rung + score`` for scores in [0, 1]: promoted archs rank above all they beat."""
        return [self.rung[a] + self.scores[a] for a in archs]


def halving_rungs(n: int, min_budget: int, eta: int, max_budget: int | None = None) -> list[tuple[int, int]]:
    """``(archs, budget)`` per rung for ``n`` archs: keep ``⌊n/eta⌋`` (at least 1), budget × eta.

    Raises:
        UsageError: ``eta < 2``, ``min_budget < 1`` or ``max_budget < min_budget``.
    """
    if eta < 2 or min_budget < 1 or (max_budget is not None and max_budget < min_budget):
        raise UsageError(f"successive halving needs eta >= 2 and 1 <= min_budget <= max_budget; got eta={eta}, "
                         f"min_budget={min_budget}, max_budget={max_budget}")
    plan = []
    budget = min_budget
    while n >= 1:
        plan.append((n, budget))
        if n == 1 or (max_budget is not None and budget * eta > max_budget):
            break
        n, budget = max(1, n // eta), budget * eta
    return plan


def successive_halving(archs: Sequence[Arch], evaluate: Callable[[Sequence[Arch], int], Sequence[float]], *,
                       min_budget: int, eta: int = 3, max_budget: int | None = None) -> HalvingResult:
    """Rank ``archs`` by successive halving; ``evaluate(archs, budget)`` returns one higher-is-better
    score per arch (a whole rung at once, so its archs can train in parallel).

    Ties at a cut keep the arch listed first, so the result is deterministic.
    """
    unique = list(dict.fromkeys(archs))
    if not unique:
        return HalvingResult(rungs=())
    alive = unique
    rungs: list[Rung] = []
    scores: dict[Arch, float] = {}
    fidelity: dict[Arch, int] = {}
    rung_of: dict[Arch, int] = {}
    plan = halving_rungs(len(unique), min_budget, eta, max_budget)
    for index, (count, budget) in enumerate(plan):
        alive = alive[:count]
        values = tuple(float(v) for v in evaluate(alive, budget))
        if len(values) != len(alive):
            raise UsageError(f"the halving evaluation returned {len(values)} scores for {len(alive)} archs")
        rungs.append(Rung(budget, tuple(alive), values))
        for a, v in zip(alive, values):
            scores[a], fidelity[a], rung_of[a] = v, budget, index
        order = sorted(range(len(alive)), key=lambda i: -values[i])  # stable: earlier arch wins a tie
        alive = [alive[i] for i in order]
    return HalvingResult(tuple(rungs), scores, fidelity, rung_of)


@dataclass(frozen=True)
class HalvingConfig:
    """Successive halving over training-image budgets (``min_budget`` × eta^rung, capped)."""

    min_budget: int = 250
    eta: int = 3
    max_budget: int | None = None


def _evaluator(context: EstimatorContext, cfg: ScratchConfig) -> Callable[[], ScratchEvaluator]:
    """The estimator's one evaluator, made on first use (when the pool's progress watch is set):
    one job for the whole search, so a Ray pool keeps its workers set up between batches."""
    return cache(lambda: ScratchEvaluator(context.spec, context.data(), cfg, pool=context.pool, watch=context.watch))


@register_estimator("scratch")
def _scratch(context: EstimatorContext) -> Estimator:
    cfg = ScratchConfig(epochs=3, patience=1, seed=context.seed)
    evaluator = _evaluator(context, cfg)

    def score(archs: list[Arch]) -> Iterator[float]:
        return evaluator().scores(archs, cfg.train_images)

    return score


@register_estimator("halving")
def _halving(context: EstimatorContext) -> Estimator:
    cfg, halving = ScratchConfig(seed=context.seed), HalvingConfig()
    evaluator = _evaluator(context, cfg)

    def score(archs: list[Arch]) -> list[float]:
        result = successive_halving(archs, evaluator(), min_budget=halving.min_budget, eta=halving.eta,
                                    max_budget=halving.max_budget)
        return result.rank_scores(archs)

    return score


def budget_for(n: int, min_budget: int, eta: int, max_budget: int | None = None) -> int:
    """Total budget (training images) successive halving spends on ``n`` archs."""
    return sum(count * budget for count, budget in halving_rungs(n, min_budget, eta, max_budget))

