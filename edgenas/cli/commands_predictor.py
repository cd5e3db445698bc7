"""``edgenas predictor collect|fit``: measure (arch, accuracy) pairs and train the accuracy predictor."""

from __future__ import annotations

import json
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
