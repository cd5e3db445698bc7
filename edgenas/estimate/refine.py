"""Refine the accuracy predictor where the search looks: measure the archs it would pick, refit.

A predictor fitted on uniform draws is least certain where a search ends up, among the best archs
that fit a budget: few of its samples lie there, and its smoothing pulls the extremes in (the
bundled one rated the largest subnet below picks it beats). Each round searches every budget with
the current predictor, measures (inherited weights, BN recalibrated, as ``predictor collect``)
the search's best feasible archs, random one-choice neighbours of its pick and the budget's
corner (the pick grown while it fits, and neighbours of it), then refits on every sample.
It stops when a round's picks are the previous round's, or after ``rounds``.

The output folder is a predictor folder like the bundled one (its samples, the refitted predictor)
plus ``refine.json``, the rounds so far: run again, a refine resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..cost.model import CostModel
from ..data import DataSplits
from ..distributed import Pool
from ..errors import UsageError
from ..search import Constraints, run_search
from ..search.run import PREDICTOR_GENERATIONS
from ..space import Arch, neighbour_archs
from ..supernet import OFASupernet
from ..supernet.checkpoint import weights_sha256
from .dataset import AccuracySample, collect_samples, measurement_settings, read_samples
from .fit import fit_predictor
from .predictor import AccuracyPredictor

LOG = "refine.json"
SAMPLES_GLOB = "samples-*.jsonl"


@dataclass(frozen=True)
class Budget:
    """One budget the picks must be good for: a name for the log, its cost model and limits."""

    name: str
    cost: CostModel
    constraints: Constraints


@dataclass(frozen=True)
class RefineConfig:
    """How much each round measures per budget (before archs measured earlier are dropped)."""

    rounds: int = 3
    """refits at most"""
    top: int = 8
    """the search's best feasible archs (the pick first)"""
    neighbours: int = 4
    """random feasible one-choice neighbours of the pick"""
    corner: int = 3
    """the pick grown to the budget's corner (:func:`grown`) is measured with this many of its neighbours (-1: not at all)"""
    generations: int = PREDICTOR_GENERATIONS
    """of each search (extract's own with the predictor, so a round finds what extract would)"""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.top < 1 or self.neighbours < 0 or self.corner < -1 or self.generations < 1:
            raise UsageError(f"refine needs rounds, top and generations of at least 1, neighbours of 0 or more and "
                             f"corner of -1 or more, got {self.rounds}, {self.top}, {self.generations}, "
                             f"{self.neighbours}, {self.corner}")


@dataclass
class RefineRound:
    """One round: per budget its pick and predicted accuracy, what was measured and how wrong the
    round's predictor was on it (the refit's out-of-sample check, where it matters)."""

    round: int
    picks: dict[str, str]
    predicted: dict[str, float]
    measured: int = 0
    rmse_points: float | None = None
    bias_points: float | None = None
    """mean of predicted minus measured over the new samples (positive: it over-rated them)"""
    pick_measured: dict[str, float] = field(default_factory=dict)
    final: bool = False
    """the picks of the last refit (held, or ``rounds`` refits done): searched, not measured"""
    held: bool = False
    """final because the picks were the previous round's"""


Progress = Callable[[str], None]
"""A milestone of the refinement (searching, measuring N archs, refitting): worth a log line."""

SampleProgress = Callable[[int, int, int], None]
"""``(round, done, total)`` after each arch of a round is measured: a status line, not a log line."""


def _feasible(budget: Budget, archs: Sequence[Arch]) -> list[Arch]:
    return [a for a in archs if budget.constraints.feasible(budget.cost.metrics(a))]


def grown(budget: Budget, arch: Arch) -> Arch:
    """``arch`` grown one choice at a time, each time to the feasible neighbour with the most MACs,
    until none has more: the budget's corner in the pick's direction (where the largest subnet
    fits, the largest subnet)."""
    macs = budget.cost.metrics(arch).macs
    while True:
        bigger = [(budget.cost.metrics(a).macs, str(a), a) for a in _feasible(budget, neighbour_archs(budget.cost.spec, arch))]
        best = max(bigger, default=None, key=lambda t: t[:2])
        if best is None or best[0] <= macs:
            return arch
        macs, _, arch = best


def round_candidates(budget: Budget, predictor: AccuracyPredictor, config: RefineConfig, round_index: int,
                     ) -> tuple[Arch, float, list[Arch]]:
    """``budget``'s pick under ``predictor``, its predicted accuracy, and the archs to measure
    (pick and best first, then neighbours, then the corner), deduplicated, in a fixed order."""
    result = run_search(budget.cost, predictor, budget.constraints, generations=config.generations,
                        seed=config.seed)
    ranked = sorted(((f, a) for a, f, ok in result.trials if ok), key=lambda t: (-t[0], t[1]))
    best = [result.arch] + [Arch.parse(a) for _, a in ranked]
    rng = np.random.default_rng([config.seed, round_index, zlib.crc32(budget.name.encode())])
    todo = list(dict.fromkeys(best))[: config.top]
    around = _feasible(budget, neighbour_archs(budget.cost.spec, result.arch))
    todo += [around[i] for i in rng.permutation(len(around))[: config.neighbours]]
    if config.corner >= 0:
        corner = grown(budget, result.arch)
        near = _feasible(budget, neighbour_archs(budget.cost.spec, corner))
        todo += [corner] + [near[i] for i in rng.permutation(len(near))[: config.corner]]
    return result.arch, float(result.fitness), list(dict.fromkeys(todo))


def _samples(folder: Path) -> dict[Arch, AccuracySample]:
    return {s.arch: s for f in sorted(folder.glob(SAMPLES_GLOB)) for s in read_samples(f)}


def _start(out: Path, base: Path, supernet_dir: Path) -> None:
    """Copy ``base``'s samples and predictor into ``out`` once, so ``out`` stands alone."""
    if (out / LOG).is_file():
        return
    if not any(base.glob(SAMPLES_GLOB)):
        raise UsageError(f"no samples-*.jsonl beside the predictor in {base}",
                         hint="refine a predictor folder that keeps its samples (the bundled one does)")
    learned = AccuracyPredictor.load(base).supernet_sha256
    if learned is not None and learned != weights_sha256(supernet_dir):
        raise UsageError(f"the predictor in {base} learned another supernet's accuracies than {supernet_dir}'s",
                         hint="refine the predictor that goes with the supernet (--predictor, --supernet)")
    out.mkdir(parents=True, exist_ok=True)
    for f in sorted(base.glob(SAMPLES_GLOB)) + [base / "predictor.json", base / "predictor.safetensors"]:
        shutil.copyfile(f, out / f.name)
    _write_log(out, [])


def _write_log(out: Path, rounds: list[RefineRound]) -> None:
    tmp = out / (LOG + ".tmp")
    tmp.write_text(json.dumps({"rounds": [asdict(r) for r in rounds]}, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, out / LOG)


def read_log(out: Path) -> list[RefineRound]:
    """The rounds a refine into ``out`` has finished."""
    path = Path(out) / LOG
    if not path.is_file():
        return []
    return [RefineRound(**r) for r in json.loads(path.read_text())["rounds"]]


def refine_predictor(net: OFASupernet, data: DataSplits, supernet_dir: Path, base: Path, out: Path,
                     budgets: Sequence[Budget], config: RefineConfig = RefineConfig(), *,
                     pool: Pool | None = None, threads: int | None = None,
                     progress: Progress | None = None, on_sample: SampleProgress | None = None) -> list[RefineRound]:
    """Refine the predictor in ``base`` (with its samples) into ``out``; returns every round.

    Samples are measured as ``base``'s were (their calibration and validation image counts).

    Raises:
        UsageError: ``base`` keeps no samples, or samples measured in more than one way.
    """
    if not budgets:
        raise UsageError("refine needs at least one budget", hint="e.g. --ram 64KB --ram 128KB")
    say = progress or (lambda _msg: None)
    out = Path(out)
    _start(out, Path(base), Path(supernet_dir))
    settings = measurement_settings(_samples(out).values())
    if len(settings) != 1:
        raise UsageError(f"the samples in {out} were measured in {len(settings)} ways: {sorted(settings)}",
                         hint="refine a predictor whose samples were measured one way")
    calib_images, val_images = settings.pop()
    rounds = read_log(out)
    if rounds and rounds[-1].final and not rounds[-1].held and len(rounds) - 1 < config.rounds:
        rounds.pop()  # stopped by an earlier, smaller --rounds: go on refitting
    while not (rounds and rounds[-1].final):
        index = len(rounds) + 1
        predictor, samples = AccuracyPredictor.load(out), _samples(out)
        picks, predicted, todo = {}, {}, []
        for budget in budgets:
            say(f"round {index}: searching {budget.name}")
            pick, fit, archs = round_candidates(budget, predictor, config, index)
            picks[budget.name], predicted[budget.name] = str(pick), round(fit, 5)
            todo += archs
        record = RefineRound(index, picks, predicted)
        record.held = bool(rounds) and picks == rounds[-1].picks
        if record.held or len(rounds) == config.rounds:
            record.final = True  # the last refit's picks: kept for the log, nothing measured
            say(f"round {index}: " + ("the picks held" if record.held else f"{config.rounds} refits done"))
        else:
            todo = [a for a in dict.fromkeys(todo) if a not in samples]
            say(f"round {index}: measuring {len(todo)} archs")
            new = collect_samples(net, data, out / f"samples-refine{index:02d}.jsonl", archs=todo,
                                  calib_images=calib_images, val_images=val_images, pool=pool, threads=threads,
                                  progress=(lambda done, total, _s: on_sample(index, done, total)) if on_sample else None)
            record.measured = len(new)
            if new:
                errors = predictor.predict([s.arch for s in new]) - np.array([s.accuracy for s in new])
                record.rmse_points = round(float(np.sqrt(np.mean(errors ** 2))) * 100, 3)
                record.bias_points = round(float(np.mean(errors)) * 100, 3)
            samples.update((s.arch, s) for s in new)
            say(f"round {index}: refitting on {len(samples)} samples")
            fit_predictor(out, supernet_dir, out, holdout=0.0, seed=config.seed)
        record.pick_measured = {name: samples[Arch.parse(a)].accuracy for name, a in picks.items()
                                if Arch.parse(a) in samples}
        rounds.append(record)
        _write_log(out, rounds)
    return rounds
