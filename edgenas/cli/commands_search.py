"""``edgenas search``: any registered strategy, any estimator, objectives and constraints, resumable."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import InfeasibleBudgetError, UsageError
from ..units import parse_bytes, parse_count, parse_time_ms
from .common import (JsonOpt, QuietOpt, RayAddressOpt, TaskTimeoutOpt, WorkersOpt, app, handle_errors, out_folder, progress_bar, stderr,
                     stdout, worker_lines)

if TYPE_CHECKING:  # the command imports these when it runs, so `edgenas --help` stays quick
    from ..boards import Board
    from ..cost.latency_table import LatencyTable
    from ..estimate import EstimatorContext
    from ..search.loop import LoopProgress, LoopResult
    from ..space import Arch, SpaceSpec

_CONSTRAINT_KEYS = {
    "ram": "sram_bytes", "sram": "sram_bytes", "sram_bytes": "sram_bytes",
    "flash": "flash_bytes", "flash_bytes": "flash_bytes",
    "arena": "arena_bytes", "arena_bytes": "arena_bytes",
    "weights": "model_flash_bytes", "model_flash_bytes": "model_flash_bytes",
    "latency": "latency", "macs": "macs", "params": "params",
}
_TIME_SUFFIXES = ("us", "µs", "ms", "s", "sec")


def parse_constraint(text: str, latency_unit: str | None) -> tuple[str, float]:
    """``ram=256KB`` → ``("sram_bytes", 262144)``; ``latency=5M`` is a count in the table's unit,
    ``latency=50ms`` a time (only for a table measured in ms).

    Raises:
        UsageError: no ``=``, unknown key, unreadable value, or a time for an instruction/cycle table.
    """
    key, sep, value = text.partition("=")
    key = key.strip().lower()
    if not sep or not value.strip():
        raise UsageError(f"--constraint {text!r} is not KEY=VALUE", hint="e.g. --constraint ram=256KB --constraint latency=5M")
    metric = _CONSTRAINT_KEYS.get(key)
    if metric is None:
        raise UsageError(f"unknown constraint {key!r} in --constraint {text!r}",
                         hint="keys: ram, flash, arena, weights, latency, macs, params")
    if metric.endswith("_bytes"):
        return metric, float(parse_bytes(value))
    if metric == "latency":
        is_time = value.strip().lower().endswith(_TIME_SUFFIXES) and not value.strip()[-1:].isdigit()
        if is_time:
            if latency_unit not in (None, "ms"):
                raise UsageError(f"--constraint {text!r} is a time but the latency table counts {latency_unit}",
                                 hint=f"give the limit in {latency_unit}, e.g. latency=5M")
            return metric, parse_time_ms(value)
        return metric, float(parse_count(value)) if latency_unit != "ms" else parse_time_ms(value)
    return metric, float(parse_count(value))


def _axis_label(objective: str, estimator: str, latency_unit: str | None) -> str:
    if objective == "accuracy":
        return f"accuracy ({estimator})"
    if objective == "latency":
        return f"latency ({latency_unit})"
    return objective


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1) + "\n")
    os.replace(tmp, path)


@dataclass
class _Inputs:
    """What the options resolve to before the search: the board, the supernet and its space, the
    latency table (None: no latency model) and the archs to evaluate first."""

    board: Board | None
    """None for a target that is not a board of the registry (host, phones, Linux boards): the
    search then counts the model alone, with no RAM or flash of a board around it."""
    supernet_dir: Path
    spec: SpaceSpec
    latency: LatencyTable | None
    table_path: Path | None
    warm_start: list[Arch]

    @property
    def latency_unit(self) -> str | None:
        return self.latency.unit if self.latency else None


def _check_options(target: str | None, board: str | None, budget: int, seed: int, batch: int | None) -> None:
    """Refuse option values the search would choke on, before anything is loaded."""
    if (target is None) == (board is None):
        raise UsageError("give exactly one of --target or --board", hint="e.g. --target cortex-m7 or --board mps2-an500")
    if budget < 1:
        raise UsageError(f"--budget must be at least 1, got {budget}")
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {seed}")  # numpy seeds are unsigned
    if batch is not None and batch < 1:
        raise UsageError(f"--batch must be at least 1, got {batch}")


def _load_inputs(target: str | None, board: str | None, supernet: Path | None, table: Path | None,
                 warm_start: Path | None) -> _Inputs:
    """Resolve the board, supernet, warm-start archs and latency table (extract's table checks, with
    a usage error: the table is a command-line value)."""
    from ..extract.pipeline import load_latency_table
    from ..search.warm_start import load_warm_start
    from ..space import SpaceSpec
    from ..supernet.bundled import bundled_supernet_dir
    from ..supernet.checkpoint import load_meta

    supernet_dir = (supernet or bundled_supernet_dir()).resolve()
    spec = SpaceSpec.from_dict(load_meta(supernet_dir)["space"])
    seeds = load_warm_start(warm_start, spec) if warm_start is not None else []
    chosen = _chosen_board(target, board)
    if chosen is None or _is_device(chosen):
        latency, table_path = _target_table(target, chosen, spec, table)  # type: ignore[arg-type]
    else:
        latency, table_path = load_latency_table(chosen, spec, table, error=UsageError)
    return _Inputs(chosen, supernet_dir, spec, latency, table_path, seeds)


def _is_device(board: object) -> bool:
    from ..extract.devices import is_device

    return is_device(board)


def _chosen_board(target: str | None, board: str | None) -> Board | None:
    """The board (or phone/Linux board profile) searched for; None for the host and a TVM RPC device,
    which no profile describes (the search then counts the model alone)."""
    from ..boards import board_for_target, get_board
    from ..profile.targets import DEVICE_DRIVER, OTHER_TARGETS, device_profile

    if board:
        return get_board(board)
    if target in DEVICE_DRIVER:
        return device_profile(target)
    return None if target in OTHER_TARGETS else board_for_target(target)


def _target_table(target: str | None, device: Board | None, spec: SpaceSpec,
                  given: Path | None) -> tuple[LatencyTable | None, Path | None]:
    """A device target's table (a search there needs one): a phone or Linux board's as extract
    finds and checks it; the host's or an RPC device's from ``given``, else where `edgenas profile`
    writes it."""
    from ..cost.latency_table import LatencyTable
    from ..extract.devices import check_device_table, require_device_table
    from ..extract.pipeline import load_latency_table
    from ..profile.targets import written_table_path

    if device is not None:
        path = require_device_table(device, given)  # type: ignore[arg-type]
        check_device_table(device, LatencyTable.load(path), path)  # type: ignore[arg-type]
        return load_latency_table(device, spec, path, error=UsageError)
    path = given or written_table_path(target)  # type: ignore[arg-type]
    if not path.is_file():
        raise UsageError(f"no latency table for {target}: searching there needs one measured on it",
                         hint=f"measure one with `edgenas profile --target {target} --table T.json`, "
                              "then pass --table T.json")
    return load_latency_table(None, spec, path, error=UsageError)  # type: ignore[arg-type]


def _settings(inputs: _Inputs, predictor: Path | None) -> dict[str, Any]:
    """The inputs a run in the store is tied to (rerunning with other ones is refused)."""
    return {"supernet": str(inputs.supernet_dir), "predictor": str(predictor.resolve()) if predictor else None,
            "latency_table": str(Path(inputs.table_path).resolve()) if inputs.table_path else None,
            **({"warm_start": [str(a) for a in inputs.warm_start]} if inputs.warm_start else {})}


def _plot(out: Path, result: LoopResult, strategy: str, estimator: str, latency_unit: str | None) -> bool:
    """Draw the feasible trials and the front into ``out/pareto.png``; False when none is feasible."""
    from ..search.loop import ACCURACY
    from ..search.pareto import plot_front

    feasible = [t for t in result.trials if t.feasible]
    if not feasible:
        return False
    position = {t.seq: i for i, t in enumerate(feasible)}
    plot_front([t.objectives for t in feasible], [position[t.seq] for t in result.front],
               [_axis_label(name, estimator, latency_unit) for name in result.objectives],
               out / "pareto.png",
               negate=[name == ACCURACY for name in result.objectives],
               title=f"{strategy}: {len(feasible)} feasible of {result.evaluated} evaluated, "
                     f"{len(result.front)} on the front")
    return True


def _shown_fitness(fitness: float, estimator: str) -> str:
    """A predictor's score as the clipped, labelled accuracy a person reads; a proxy's score raw."""
    from ..report.predicted import predicted_pct

    return predicted_pct(fitness) if estimator == "predictor" else f"{fitness:.4f}"


def _with_progress(quiet: bool, title: str, budget: int, estimator: str,
                   run: Callable[[LoopProgress], LoopResult], context: EstimatorContext | None = None) -> LoopResult:
    """``run(progress)`` under a progress bar of ``budget`` evaluations that shows the best fitness
    so far, and one line per worker when ``context`` evaluates on several."""
    with progress_bar(quiet) as bar:
        task = bar.add_task(title, total=budget, info="")
        if context is not None and context.pool.workers > 1:
            context.watch = worker_lines(bar)

        def on_progress(done: int, total: int | None, best: float) -> None:
            info = f"best {_shown_fitness(best, estimator)}" if best > float("-inf") else "no feasible yet"
            bar.update(task, completed=done, info=info)

        return run(on_progress)


def _write_results(out: Path, result: LoopResult, context: dict[str, Any], strategy: str, estimator: str) -> dict[str, Any]:
    """Write ``trials.json``, ``pareto.png`` (2+ objectives) and ``search.json``: the run's summary
    with ``context`` (settings, board, store, latency unit) merged in, which is returned."""
    _write_json(out / "trials.json", [t.to_dict() for t in result.trials])
    summary = {**result.to_dict(), **context}
    if len(result.objectives) >= 2 and _plot(out, result, strategy, estimator, context["latency_unit"]):
        summary["plot"] = "pareto.png"
    _write_json(out / "search.json", summary)
    return summary


def _print_best(result: LoopResult, estimator: str, out: Path) -> None:
    """The best arch, its figures and how the run went, as text on stdout."""
    best = result.best
    stdout.print(f"best arch   {best.arch}", soft_wrap=True, highlight=False)
    stdout.print(f"{estimator:<11} {_shown_fitness(best.fitness, estimator)}")
    for name in ("sram_bytes", "flash_bytes", "latency", "macs", "params"):
        if best.metrics.get(name) is not None:
            stdout.print(f"{name:<11} {best.metrics[name]:,}")
    stdout.print(f"evaluated   {result.evaluated} ({result.new} new, stop: {result.stop})")
    if result.hypervolume is not None:
        stdout.print(f"front       {len(result.front)} archs, hypervolume {result.hypervolume:.6g}")
    stdout.print(f"results in {out}")


@app.command()
@handle_errors
def search(
    strategy: Annotated[str, typer.Option(help="registered strategy: random, evolution, aging, rl, bayes, nsga2, ...")] = "evolution",
    objective: Annotated[Optional[list[str]], typer.Option(help="accuracy plus cost metrics to minimise (repeat): latency, ram, flash, macs, params")] = None,
    constraint: Annotated[Optional[list[str]], typer.Option(help="KEY=VALUE upper bound (repeat): ram=256KB, flash=1MB, latency=5M, macs=20M")] = None,
    budget: Annotated[int, typer.Option(help="distinct architectures to evaluate")] = 300,
    estimator: Annotated[str, typer.Option(help="accuracy estimator: predictor, inherited, or a registered proxy")] = "predictor",
    target: Annotated[Optional[str], typer.Option(help="core, e.g. cortex-m7 (its default board)")] = None,
    board: Annotated[Optional[str], typer.Option(help="board name")] = None,
    seed: Annotated[int, typer.Option(help="strategy seed (same seed, same search)")] = 0,
    store: Annotated[Optional[str], typer.Option(help="results store: path or sqlite:/// URL (default OUT/results.db)")] = None,
    run: Annotated[Optional[str], typer.Option(help="run name in the store (default: derived from the settings)")] = None,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out/search"),
    batch: Annotated[Optional[int], typer.Option(help="archs per ask (default: the strategy's)")] = None,
    supernet: Annotated[Optional[Path], typer.Option(help="supernet checkpoint (default: bundled)")] = None,
    predictor: Annotated[Optional[Path], typer.Option(help="accuracy predictor (default: bundled)")] = None,
    table: Annotated[Optional[Path], typer.Option(help="latency table (default: bundled for the board)")] = None,
    warm_start: Annotated[Optional[Path], typer.Option(help="an earlier search or extract --out folder: its best archs are evaluated first")] = None,
    workers: WorkersOpt = None,
    ray_address: RayAddressOpt = None,
    task_timeout: TaskTimeoutOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Search the supernet's space; every evaluation goes to the store, so rerunning resumes.

    With --workers N a slow estimator (inherited, scratch, halving) evaluates each batch of archs
    on N Ray workers; this process alone writes the store, in the order the strategy asked."""
    from ..cost import CostModel
    from ..distributed import open_pool
    from ..estimate import EstimatorContext, get_estimator
    from ..search import Constraints
    from ..search.loop import ACCURACY, search_loop

    _check_options(target, board, budget, seed, batch)
    out_folder(out)
    inputs = _load_inputs(target, board, supernet, table, warm_start)
    limits = dict(parse_constraint(c, inputs.latency_unit) for c in constraint or [])
    constraints = Constraints.of(limits)
    # A phone's or Linux board's memory has no firmware overhead to add: the model is counted alone.
    cost = CostModel(inputs.spec, None if _is_device(inputs.board) else inputs.board, inputs.latency)
    objectives = tuple(objective or [ACCURACY])
    # nsga2 sizes its study by the objective count (its config default is 2)
    config = {"objectives": len(objectives)} if strategy == "nsga2" else None
    out.mkdir(parents=True, exist_ok=True)
    location = store or str(out / "results.db")
    settings = _settings(inputs, predictor)

    with open_pool(workers, ray_address, task_timeout_s=task_timeout) as pool:
        if pool.note:
            stderr.print(pool.note, highlight=False)
        context = EstimatorContext(inputs.spec, seed=seed, supernet_dir=inputs.supernet_dir, predictor_dir=predictor,
                                   pool=pool)
        score = get_estimator(estimator, context)
        result = _with_progress(quiet, f"{strategy} search", budget, estimator, lambda progress: search_loop(
            cost, score, constraints, strategy=strategy, config=config, objectives=objectives, budget=budget,
            batch_size=batch, seed=seed, store=location, run=run, estimator_name=estimator, settings=settings,
            progress=progress, warm_start=inputs.warm_start,
        ), context)
    summary = _write_results(out, result, {**settings, "board": inputs.board.name if inputs.board else None, "store": location,
                                           "latency_unit": inputs.latency_unit}, strategy, estimator)
    if not quiet and result.new < result.evaluated:
        stderr.print(f"resumed run {result.run}: {result.evaluated - result.new} of {result.evaluated} "
                     "evaluations served from the store")
    if result.best is None:
        raise InfeasibleBudgetError(
            f"none of the {result.evaluated} archs evaluated met every constraint",
            hint="raise the budget, relax a constraint, or try --strategy evolution (it repairs infeasible archs)",
        )
    if as_json:
        stdout.print_json(json.dumps(summary, default=str))
        return
    _print_best(result, estimator, out)
