"""``edgenas predictor collect|fit|refine``: measure (arch, accuracy) pairs, train the accuracy predictor,
refine it where the search looks."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from .common import (DataOpt, OtherDataOpt, QuietOpt, RayAddressOpt, TaskTimeoutOpt, WorkersOpt, app, handle_errors, out_folder,
                     progress_bar, stderr, stdout, worker_lines)

predictor_app = typer.Typer(help="Accuracy predictor: collect samples, fit, evaluate.", no_args_is_help=True)
app.add_typer(predictor_app, name="predictor")

SupernetOpt = Annotated[Optional[Path], typer.Option(help="supernet checkpoint (default: bundled)")]
SamplesOpt = Annotated[Path, typer.Option(help="directory of samples-*.jsonl files")]


def _shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard {text!r} is not I/N", hint="e.g. --shard 0/2 and --shard 1/2 in two processes") from None
    if not 0 <= index < count:
        raise UsageError(f"--shard {text!r}: need 0 <= I < N")
    return index, count


@predictor_app.command("collect")
@handle_errors
def collect(
    samples: SamplesOpt = Path("runs/predictor"),
    supernet: SupernetOpt = None,
    count: Annotated[int, typer.Option(help="archs to measure (largest, smallest, then random)")] = 600,
    seed: Annotated[int, typer.Option(help="seed of the arch list")] = 0,
    shard: Annotated[str, typer.Option(help="measure every N-th arch starting at I (I/N), for parallel processes")] = "0/1",
    calib_images: Annotated[int, typer.Option(help="training images for BN recalibration")] = 1000,
    val_images: Annotated[int, typer.Option(help="validation images per arch (0: all)")] = 0,
    threads: Annotated[int, typer.Option(help="torch threads (of each worker)")] = 1,
    workers: WorkersOpt = None,
    ray_address: RayAddressOpt = None,
    task_timeout: TaskTimeoutOpt = None,
    data: DataOpt = None,
    other_data: OtherDataOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure validation accuracy (inherited weights, BN recalibrated) of archs; resumable.

    With --workers N the archs are measured on N Ray workers; this process alone writes the
    samples file, each result as it arrives, and the finished file is the same as a serial run's."""
    import torch

    from ..data import load_recorded_dataset
    from ..distributed import open_pool
    from ..estimate.dataset import arch_list, collect_samples
    from ..supernet import load_supernet
    from ..supernet.bundled import bundled_supernet_dir

    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    if seed < 0 or count < 1:
        raise UsageError(f"--seed must be 0 or more and --count at least 1, got {seed} and {count}")
    out_folder(samples, "--samples")
    torch.set_num_threads(threads)
    index, n = _shard(shard)
    with open_pool(workers, ray_address, task_timeout_s=task_timeout) as pool, progress_bar(quiet) as progress:
        if pool.note:
            stderr.print(pool.note, highlight=False)
        net, meta = load_supernet(supernet or bundled_supernet_dir())
        splits = load_recorded_dataset(meta, data, allow_other=other_data)
        archs = arch_list(net.spec, count, seed)[index::n]
        task = progress.add_task(f"measuring shard {index}/{n}", total=len(archs), info="")

        def on_sample(done: int, total: int, sample) -> None:
            progress.update(task, completed=done, info=f"acc {sample.accuracy:.4f}")

        collect_samples(
            net, splits, Path(samples) / f"samples-{index}of{n}.jsonl", archs=archs, calib_images=calib_images,
            val_images=val_images or None, progress=on_sample, pool=pool, threads=threads,
            watch=None if pool.workers == 1 else worker_lines(progress),
        )
    stdout.print(f"{len(archs)} samples in {samples}")


@predictor_app.command("fit")
@handle_errors
def fit(
    samples: SamplesOpt = Path("runs/predictor"),
    out: Annotated[Path, typer.Option(help="predictor directory")] = Path("runs/predictor/model"),
    supernet: SupernetOpt = None,
    holdout: Annotated[float, typer.Option(help="share of samples held out for RMSE / Kendall tau")] = 0.2,
    seed: Annotated[int, typer.Option(help="seed of the split and the MLP")] = 0,
) -> None:
    """Fit the MLP predictor (OFA recipe) on collected samples and report held-out quality."""
    from ..estimate.fit import fit_predictor
    from ..supernet.bundled import bundled_supernet_dir

    quality = fit_predictor(samples, supernet or bundled_supernet_dir(), out_folder(out), holdout=holdout, seed=seed)
    stdout.print_json(json.dumps({**quality, "out": str(out)}))


@predictor_app.command("refine")
@handle_errors
def refine(
    ram: Annotated[list[str], typer.Option(help="a RAM budget the picks must be good for; repeat for several, e.g. --ram 64KB --ram 128KB")],
    target: Annotated[Optional[str], typer.Option(help="core, e.g. cortex-m7 (its default board)")] = None,
    board: Annotated[Optional[str], typer.Option(help="board name")] = None,
    flash: Annotated[Optional[str], typer.Option(help="flash budget of every --ram (default: the board's flash)")] = None,
    out: Annotated[Path, typer.Option(help="the refined predictor's folder (resumes a refine it holds)")] = Path("runs/predictor-refined"),
    predictor: Annotated[Optional[Path], typer.Option(help="predictor folder with its samples-*.jsonl (default: bundled)")] = None,
    supernet: SupernetOpt = None,
    rounds: Annotated[int, typer.Option(help="refits at most (fewer when the picks hold)")] = 3,
    top: Annotated[int, typer.Option(help="per budget and round: the search's best archs measured")] = 8,
    neighbours: Annotated[int, typer.Option(help="per budget and round: random one-choice neighbours of the pick measured")] = 4,
    corner: Annotated[int, typer.Option(help="per budget and round: neighbours measured of the pick grown while it fits, the most MACs each step (-1: not even it)")] = 3,
    seed: Annotated[int, typer.Option(help="seed of the searches, the draws and the fits")] = 0,
    threads: Annotated[int, typer.Option(help="torch threads (of each worker)")] = 1,
    workers: WorkersOpt = None,
    ray_address: RayAddressOpt = None,
    task_timeout: TaskTimeoutOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Refine the accuracy predictor where extract's search ends up: search each budget, measure
    its best archs and their neighbourhood (inherited weights), refit; until the picks hold.

    Then `edgenas extract --predictor OUT` searches with it."""
    import torch

    from ..cost.model import CostModel
    from ..data import load_recorded_dataset
    from ..distributed import open_pool
    from ..estimate.refine import Budget, RefineConfig, refine_predictor
    from ..extract.devices import is_device
    from ..extract.pipeline import load_latency_table
    from ..paths import PREDICTORS_DIR
    from ..search import Constraints
    from ..supernet import load_supernet
    from ..supernet.bundled import bundled_supernet_dir
    from .commands_extract import _chosen_board, _limits

    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    if seed < 0:
        raise UsageError(f"--seed must be 0 or more, got {seed}")
    config = RefineConfig(rounds=rounds, top=top, neighbours=neighbours, corner=corner, seed=seed)
    chosen = _chosen_board(target, board)
    out_folder(out)
    torch.set_num_threads(threads)
    supernet_dir = supernet or bundled_supernet_dir()
    net, meta = load_supernet(supernet_dir)
    base = predictor or PREDICTORS_DIR / meta.get("dataset", "fashion-mnist")
    table, _ = load_latency_table(chosen, net.spec)
    cost = CostModel(net.spec, None if is_device(chosen) else chosen, table)
    budgets = [Budget(f"ram={r}", cost, Constraints.of(_limits(chosen, r, flash, None, None, None, None)))
               for r in dict.fromkeys(ram)]
    data = load_recorded_dataset(meta)
    with open_pool(workers, ray_address, task_timeout_s=task_timeout) as pool:
        if pool.note:
            stderr.print(pool.note, highlight=False)
        with stderr.status("refining the predictor") if not quiet else nullcontext() as status:

            def say(message: str) -> None:
                if status is not None:
                    status.update(message)
                    stderr.log(message)

            def counted(index: int, done: int, total: int) -> None:
                if status is not None:
                    status.update(f"round {index}: measured {done}/{total}")

            done = refine_predictor(net, data, supernet_dir, base, out, budgets, config, pool=pool,
                                    threads=threads, progress=say, on_sample=counted)
    for r in done:
        picks = "; ".join(f"{name}: {arch} (predicted {r.predicted[name]:.4f}"
                          + (f", measured {r.pick_measured[name]:.4f}" if name in r.pick_measured else "") + ")"
                          for name, arch in r.picks.items())
        error = f", its error on them {r.rmse_points} points rms, {r.bias_points:+} mean" if r.measured else ""
        stdout.print(f"round {r.round}: {r.measured} archs measured{error}{' (final)' if r.final else ''}; {picks}",
                     markup=False, highlight=False)
    stdout.print(f"refined predictor in {out}: edgenas extract --predictor {out} ...", highlight=False)
