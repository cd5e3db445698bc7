"""The one search loop: ask → skip archs already scored → evaluate the rest → store → tell.

Any registered strategy is driven by name. Each new arch is scored once by the estimator (a batch
call) and the cost model, turned into a :class:`Score` (fitness = the estimator's score; feasible
and violation from the constraints; objectives all minimised, ``accuracy`` written as
``-fitness``), stored as a :class:`~edgenas.store.Trial`, and told back to the strategy. The budget
counts distinct archs evaluated in this run.

Resume: strategies are deterministic given their seed and the scores they are told, so resuming
is simply running the loop again with the same settings: the strategy replays the same proposals
and every arch already in the store is served from it instead of being evaluated. Nothing is
evaluated twice, nothing stored is lost, and the answer equals an uninterrupted run's. A batch is
committed in one transaction; an estimator that yields its scores one by one (a generator) has
them stored as they come, at least every ``FLUSH_S`` seconds and whenever the batch is interrupted
(Ctrl-C, SIGTERM, an error), so an interrupt loses no finished evaluation and a ``kill -9`` only
the last seconds.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cost.model import METRICS, CostModel, Metrics, Minimum
from ..errors import UsageError
from ..estimate.registry import Estimator, EstimatorContext, get_estimator
from ..space import Arch, largest_arch
from ..store import ResultsStore, RunInfo, Trial
from .constraints import Constraints, check_achievable
from .pareto import hypervolume, pareto_front
from .registry import get_strategy, list_strategies
from .repair import repair as repair_arch
from .strategy import Score

LoopProgress = Callable[[int, "int | None", float], None]
"""Called after each round with (distinct archs evaluated, budget or None, best feasible fitness)."""
RoundHook = Callable[[int, Any, int], None]
"""Called after each ``tell`` with (round index, the strategy, distinct archs evaluated so far)."""

ACCURACY = "accuracy"
OBJECTIVE_ALIASES = {"acc": ACCURACY, "ram": "sram_bytes", "sram": "sram_bytes", "flash": "flash_bytes",
                     "arena": "arena_bytes"}
"""Short names users type for objectives (``latency``, ``macs``, ``params`` are already metric names)."""

FLUSH_S = 1.0
"""Longest a streamed score waits in memory before it is stored (one SQLite commit per flush)."""

_STRATEGY_MODULES = {"random": "random_search", "evolution": "evolution", "aging": "aging", "rl": "rl",
                     "bayes": "bayes", "nsga2": "nsga2", "darts": "darts"}
"""Built-in strategy name → module of this package that registers it (imported on demand)."""


def load_strategies(names: Sequence[str] | None = None) -> list[str]:
    """Import the built-in strategy modules (all, or those for ``names``) so they register.

    A module not written yet is skipped; an import error inside a module that exists is raised.
    """
    wanted = _STRATEGY_MODULES if names is None else {n: _STRATEGY_MODULES[n] for n in names if n in _STRATEGY_MODULES}
    for module in wanted.values():
        full = f"{__package__}.{module}"
        try:
            importlib.import_module(full)
        except ModuleNotFoundError as exc:
            if exc.name != full:
                raise
    return list_strategies()


def objective_name(name: str) -> str:
    """Canonical objective: ``accuracy`` or a cost metric (aliases: ram, flash, arena).

    Raises:
        UsageError: anything else.
    """
    key = OBJECTIVE_ALIASES.get(name.strip().lower(), name.strip().lower())
    if key != ACCURACY and key not in METRICS:
        raise UsageError(f"unknown objective {name!r}",
                         hint=f"objectives: accuracy, ram, flash, arena, {', '.join(m for m in METRICS if m != 'sram_bytes')}")
    return key


def _objectives(names: Sequence[str], cost: CostModel) -> tuple[str, ...]:
    objs = tuple(objective_name(n) for n in names) or (ACCURACY,)
    if len(set(objs)) != len(objs):
        raise UsageError(f"objective given twice in {list(objs)}")
    if ACCURACY not in objs:
        raise UsageError(f"objectives {list(objs)} leave out accuracy",
                         hint="the estimator's accuracy is what every strategy maximises: add --objective accuracy")
    if "latency" in objs and cost.latency_table is None:
        raise UsageError("latency is an objective but the cost model has no latency table",
                         hint="give a latency table (`edgenas profile` builds one)")
    return objs


def _config_dict(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if is_dataclass(config) and not isinstance(config, type):
        return asdict(config)
    return dict(config)


def objective_values(objectives: Sequence[str], fitness: float, metrics: Metrics) -> tuple[float, ...]:
    """The minimised objective vector of one arch: ``-fitness`` for accuracy, metric values otherwise."""
    return tuple(-float(fitness) if name == ACCURACY else float(metrics.get(name)) for name in objectives)


def default_reference(objectives: Sequence[str], limits: Mapping[str, float], cost: CostModel) -> tuple[float, ...]:
    """Hypervolume reference that depends on the run's settings only, never on what it found:
    0 for ``-accuracy``, the limit of a constrained metric, else 1.1 x the largest subnet's value
    (cost metrics grow with every choice, so nothing in the space is worse than that by much)."""
    largest = cost.metrics(largest_arch(cost.spec))
    return tuple(0.0 if name == ACCURACY else float(limits[name]) if name in limits else 1.1 * float(largest.get(name))
                 for name in objectives)


@dataclass
class LoopResult:
    """What one search found.

    Attributes:
        best: the fittest feasible trial (ties: the first evaluated), None if none was feasible.
        trials: every distinct arch of the run in evaluation order (served from the store or new).
        front: feasible trials that are Pareto-optimal on the objectives (only with 2+ objectives).
        hypervolume: of the front against ``reference`` (2 or 3 objectives).
        evaluated: distinct archs in ``trials``; new: how many of them the estimator scored in this
            call (the rest came from the store); stop: ``budget``, ``rounds`` or ``exhausted``
            (the strategy proposed nothing new for ``max_idle_rounds`` rounds, or nothing at all).
    """

    run: str | None
    strategy: str
    seed: int
    estimator: str
    objectives: tuple[str, ...]
    constraints: dict[str, float]
    budget: int | None
    best: Trial | None
    trials: list[Trial]
    front: list[Trial]
    hypervolume: float | None
    reference: tuple[float, ...] | None
    minima: dict[str, Minimum]
    rounds: int
    evaluated: int
    new: int
    stop: str
    wall_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``search.json``: the answer and how it was found (trials go to ``trials.json``)."""
        return {
            "schema": 1,
            "run": self.run,
            "strategy": self.strategy,
            "seed": self.seed,
            "estimator": self.estimator,
            "objectives": list(self.objectives),
            "constraints": self.constraints,
            "budget": self.budget,
            "best": self.best.to_dict() if self.best else None,
            "arch": self.best.arch if self.best else None,
            "fitness": self.best.fitness if self.best else None,
            "front": [t.to_dict() for t in self.front],
            "hypervolume": self.hypervolume,
            "reference": list(self.reference) if self.reference is not None else None,
            "minima": {k: {"value": m.value, "arch": str(m.arch)} for k, m in self.minima.items()},
            "rounds": self.rounds,
            "evaluations": self.evaluated,
            "new_evaluations": self.new,
            "stop": self.stop,
            "wall_s": self.wall_s,
            **self.extra,
        }


def _scores(score_batch: Estimator, archs: list[Arch], label: str) -> Iterator[tuple[float, float]]:
    """``(score, seconds)`` per arch in order: a returned sequence at once (its time shared
    equally), a generator's scores one by one as it yields them.

    Raises:
        UsageError: the estimator gave more or fewer scores than archs.
    """
    tick = time.perf_counter()
    values = score_batch(archs)
    if hasattr(values, "__len__"):  # a list, tuple or array: scored all at once
        scores = [float(v) for v in values]
        _check_count(label, len(scores), len(archs))
        each_s = (time.perf_counter() - tick) / len(archs)
        yield from ((v, each_s) for v in scores)
        return
    count = 0
    for value in values:
        count += 1
        if count > len(archs):
            _check_count(label, count, len(archs))
        yield float(value), time.perf_counter() - tick
        tick = time.perf_counter()
    _check_count(label, count, len(archs))


def _check_count(label: str, got: int, wanted: int) -> None:
    if got != wanted:
        raise UsageError(f"estimator {label!r} returned {got} scores for {wanted} archs")


@dataclass
class _Pending:
    """Trials scored but not yet stored; ``flush`` stores them in one transaction."""

    save: Callable[[list[Trial]], None] | None
    trials: list[Trial] = field(default_factory=list)
    since: float = field(default_factory=time.monotonic)

    def add(self, trial: Trial) -> None:
        self.trials.append(trial)
        if time.monotonic() - self.since >= FLUSH_S:
            self.flush()

    def flush(self) -> None:
        if self.trials and self.save is not None:
            self.save(self.trials)
        self.trials, self.since = [], time.monotonic()


class _Scorer:
    """Scores archs not yet in the store and stores them as :class:`Trial` s, numbered in order."""

    def __init__(self, score_batch: Estimator, label: str, cost: CostModel, constraints: Constraints,
                 objectives: tuple[str, ...], stored: dict[str, Trial], save: Callable[[list[Trial]], None] | None):
        self.score_batch, self.label, self.cost, self.constraints = score_batch, label, cost, constraints
        self.objectives, self.stored, self.save = objectives, stored, save
        self.next_seq = max((t.seq for t in stored.values()), default=-1) + 1

    def score(self, archs: list[Arch]) -> int:
        """Score ``archs`` into ``stored``; return how many. What was scored is stored even when
        the batch is interrupted, so a rerun skips it."""
        if not archs:
            return 0
        pending, done = _Pending(self.save), 0
        try:
            for i, (value, score_s) in enumerate(_scores(self.score_batch, archs, self.label)):
                arch, tick = archs[i], time.perf_counter()
                m = self.cost.metrics(arch)
                trial = Trial(self.next_seq, str(arch), value, self.constraints.feasible(m),
                              self.constraints.violation(m), objective_values(self.objectives, value, m),
                              m.to_dict(), self.label, score_s + time.perf_counter() - tick, time.time())
                self.stored[trial.arch] = trial
                pending.add(trial)
                self.next_seq += 1
                done += 1
        finally:
            pending.flush()
        return done


def _feasible_seeds(archs: Sequence[Arch], repair: Callable[[Arch, np.random.Generator], Arch | None],
                    seed: int) -> list[Arch]:
    """The warm-start archs, each repaired when it breaks a constraint (dropped when it cannot be), without duplicates."""
    rng = np.random.default_rng([seed, 0x5EED])
    kept: dict[str, Arch] = {}
    for arch in archs:
        fixed = repair(arch, rng)
        if fixed is not None:
            kept.setdefault(str(fixed), fixed)
    return list(kept.values())


def _run_name(strategy: str, seed: int, settings: dict[str, Any]) -> str:
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{strategy}-seed{seed}-{digest}"


def search_loop(
    cost: CostModel,
    estimator: Estimator | str,
    constraints: Constraints | None = None,
    *,
    strategy: str = "evolution",
    config: Any = None,
    objectives: Sequence[str] = (ACCURACY,),
    budget: int | None = 300,
    max_rounds: int | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    store: ResultsStore | str | Path | None = None,
    run: str | None = None,
    estimator_name: str | None = None,
    settings: Mapping[str, Any] | None = None,
    reference: Sequence[float] | None = None,
    progress: LoopProgress | None = None,
    on_round: RoundHook | None = None,
    max_idle_rounds: int = 50,
    warm_start: Sequence[Arch] = (),
) -> LoopResult:
    """Search ``cost.spec`` with the strategy named ``strategy`` until the budget is spent.

    Args:
        cost: metrics of every arch (constraints, cost objectives, repair).
        estimator: batch scorer (higher is better) or a registered estimator name, built with
            ``EstimatorContext(cost.spec, seed)``.
        constraints: upper bounds; checked against the space's minima first (fail fast).
        strategy: a registered strategy name; built as ``factory(spec, config, seed=, repair=)``.
        config: the strategy's config (None: its defaults).
        objectives: ``accuracy`` plus any cost metrics, e.g. ``("accuracy", "latency")``.
        budget: distinct archs to evaluate (None: only ``max_rounds`` bounds the search).
        max_rounds: at most this many ask/tell rounds.
        batch_size: passed to ``ask(n)``; None lets the strategy choose.
        seed: the strategy's seed (and the estimator context's).
        store: a :class:`ResultsStore` or its location; None keeps trials in memory only.
        run: run name in the store; None derives one from the settings, so the same call resumes.
        estimator_name: label stored with each trial (default: the name, or the callable's name).
        settings: extra values that must match on resume (supernet, predictor, board paths...).
        reference: hypervolume reference point (default :func:`default_reference`).
        progress: called after each round.
        on_round: called after each ``tell`` (for per-round statistics).
        max_idle_rounds: with a budget, stop after this many rounds without a new arch.
        warm_start: archs of an earlier search (e.g. its best, :func:`load_warm_start`), evaluated
            and told to the strategy before its first ``ask``: an extra first round that counts
            towards the budget. Infeasible ones are repaired first (dropped when they cannot be).

    Raises:
        InfeasibleBudgetError: a constraint no arch of the space can meet.
        UsageError: unknown strategy, estimator or objective; no budget and no round limit.
        RunMismatchError: ``run`` is stored with other settings.
    """
    start = time.perf_counter()
    if budget is None and max_rounds is None:
        raise UsageError("the search needs a budget or a round limit", hint="give --budget N")
    if budget is not None and budget < 1:
        raise UsageError(f"the evaluation budget must be at least 1, got {budget}")
    constraints = constraints or Constraints()
    objs = _objectives(objectives, cost)
    limits = constraints.as_dict()
    minima = check_achievable(cost, constraints)

    if isinstance(estimator, str):
        label = estimator_name or estimator
        score_batch = get_estimator(estimator, EstimatorContext(cost.spec, seed=seed))
    else:
        label = estimator_name or getattr(estimator, "__name__", type(estimator).__name__)
        score_batch = estimator

    def violation(arch: Arch) -> float:
        return constraints.violation(cost.metrics(arch))

    def repair(arch: Arch, rng: np.random.Generator) -> Arch | None:
        return repair_arch(cost.spec, arch, violation, rng)

    load_strategies([strategy])
    try:
        factory = get_strategy(strategy)
    except UsageError:
        load_strategies()
        factory = get_strategy(strategy)

    own_store = store is not None and not isinstance(store, ResultsStore)
    db = ResultsStore(store) if own_store else store
    try:
        run_info: RunInfo | None = None
        stored: dict[str, Trial] = {}
        if db is not None:
            run_config = {
                "strategy_config": _config_dict(config), "estimator": label, "batch_size": batch_size,
                "board": cost.board.name if cost.board is not None else None,
                "latency_unit": getattr(cost.latency_table, "unit", None), **dict(settings or {}),
            }
            run_settings = {"strategy": strategy, "seed": seed, "space": cost.spec.name, "config": run_config,
                            "objectives": list(objs), "constraints": limits}
            run_info = db.open_run(run or _run_name(strategy, seed, run_settings), strategy=strategy, seed=seed,
                                   space=cost.spec.name, config=run_config, objectives=objs, constraints=limits)
            stored = {t.arch: t for t in db.trials(run_info)}
        save = (lambda trials: db.add_trials(run_info, trials)) if db is not None and run_info is not None else None
        scorer = _Scorer(score_batch, label, cost, constraints, objs, stored, save)

        # built after the run check: some strategies (darts) do real work when constructed
        search = factory(cost.spec, config, seed=seed, repair=repair)
        visited: dict[str, Trial] = {}
        best: Trial | None = None
        new_count, rounds, idle, stop = 0, 0, 0, "budget"
        seeds = _feasible_seeds(warm_start, repair, seed)
        round_limit = None if max_rounds is None else max_rounds + (1 if seeds else 0)
        while True:
            if budget is not None and len(visited) >= budget:
                stop = "budget"
                break
            if round_limit is not None and rounds >= round_limit:
                stop = "rounds"
                break
            archs, seeds = (seeds, []) if seeds else (list(search.ask(batch_size)), [])
            if not archs:
                stop = "exhausted"
                break
            keys = [str(a) for a in archs]
            by_key = dict(zip(keys, archs))
            fresh = [k for k in dict.fromkeys(keys) if k not in visited]
            if budget is not None:
                fresh = fresh[: budget - len(visited)]
            new_count += scorer.score([by_key[k] for k in fresh if k not in stored])
            for k in fresh:
                trial = stored[k]
                visited[k] = trial
                if trial.feasible and (best is None or trial.fitness > best.fitness):
                    best = trial
            told = [(a, visited[k]) for a, k in zip(archs, keys) if k in visited]
            search.tell([a for a, _ in told],
                        [Score(t.fitness, t.feasible, t.violation, tuple(t.objectives)) for _, t in told])
            if on_round is not None:
                on_round(rounds, search, len(visited))
            rounds += 1
            idle = 0 if fresh else idle + 1
            if progress is not None:
                progress(len(visited), budget, best.fitness if best else float("-inf"))
            if budget is not None and idle >= max_idle_rounds:
                stop = "exhausted"
                break
    finally:
        if own_store and db is not None:
            db.close()

    trials = list(visited.values())
    front: list[Trial] = []
    hv, ref = None, None
    if len(objs) >= 2:
        feasible = [t for t in trials if t.feasible]
        points = np.array([t.objectives for t in feasible], dtype=float).reshape(len(feasible), len(objs))
        front = [feasible[i] for i in pareto_front(points)]
        if len(objs) <= 3:
            ref = tuple(float(r) for r in reference) if reference is not None else default_reference(objs, limits, cost)
            hv = hypervolume(points, ref) if len(points) else 0.0
    return LoopResult(
        run=run_info.name if run_info else None, strategy=strategy, seed=seed, estimator=label, objectives=objs,
        constraints=limits, budget=budget, best=best, trials=trials, front=front, hypervolume=hv, reference=ref,
        minima=minima, rounds=rounds, evaluated=len(trials), new=new_count, stop=stop,
        wall_s=time.perf_counter() - start,
    )
