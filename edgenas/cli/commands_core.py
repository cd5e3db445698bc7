"""Commands for the space, supernet training and subnet extraction."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..errors import UsageError
from .common import (DataOpt, JsonOpt, OtherDataOpt, QuietOpt, SpaceOpt, app, handle_errors, out_folder, progress_bar,
                     stderr, stdout)


def _parse_epochs(text: str, *, continuing: bool = False) -> tuple[int, int, int, int]:
    """``N`` (full-net epochs; later phases get a quarter each, at least 1) or ``a,b,c,d``.

    A fresh run needs full-net epochs; one continuing from a checkpoint may skip any phase.
    """
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise UsageError(f"--epochs {text!r} is not a number or a list", hint="e.g. --epochs 8 or --epochs 8,2,2,2") from None
    if len(parts) == 1:
        n = parts[0]
        parts = [n, max(1, n // 4), max(1, n // 4), max(1, n // 4)]
    if len(parts) != 4 or min(parts) < 0 or sum(parts) < 1:
        raise UsageError(f"--epochs {text!r}: need 1 or 4 non-negative counts (full, kernel, depth, expand)")
    if parts[0] < 1 and not continuing:
        raise UsageError(f"--epochs {text!r}: a fresh run starts with full-net epochs", hint="or pass --init-from DIR")
    return tuple(parts)  # type: ignore[return-value]


def _parse_weights(option: str, text: str, example: str) -> tuple[float, ...]:
    """``--resolution-weights`` / ``--width-weights``: comma-separated non-negative numbers, or '' (uniform)."""
    if not text.strip():
        return ()
    try:
        weights = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"{option} {text!r} is not a list of numbers", hint=f"e.g. {option} {example}") from None
    if not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
        raise UsageError(f"{option} {text!r}: need non-negative numbers, not all 0")
    return weights


@app.command()
@handle_errors
def space(
    name: SpaceOpt = "mcu-mbv2",
    channels: Annotated[int, typer.Option(help="input image channels")] = 1,
    classes: Annotated[int, typer.Option(help="number of classes")] = 10,
    as_json: JsonOpt = False,
) -> None:
    """Print a search space and its exact number of architectures."""
    from ..space import count_archs, get_space, largest_arch, smallest_arch

    spec = get_space(name, in_channels=channels, num_classes=classes)
    size = count_archs(spec)
    if as_json:
        stdout.print_json(json.dumps({"space": json.loads(spec.to_json()), "size": size}))
        return
    table = Table(title=f"search space {spec.name}: {size:,} architectures ({size:.3e})")
    table.add_column("part")
    table.add_column("choices")
    table.add_row("input", f"{spec.in_channels} channel(s), resolution {list(spec.resolutions)}")
    table.add_row("width multiplier", str(list(spec.widths)))
    table.add_row("stem", f"3x3 conv stride {spec.stem_stride}, {spec.stem_channels} ch")
    table.add_row("first block", f"dw3x3 + pw, {spec.first_channels} ch")
    for i, stage in enumerate(spec.stages):
        table.add_row(
            f"stage {i + 1}",
            f"{stage.channels} ch, stride {stage.stride}, depth {list(stage.depths)}, "
            f"kernel {list(spec.kernels)}, expand {list(spec.expands)} per block",
        )
    table.add_row("head", f"1x1 conv {spec.head_channels} ch → pool → {spec.num_classes} classes")
    table.add_row("largest", str(largest_arch(spec)))
    table.add_row("smallest", str(smallest_arch(spec)))
    stdout.print(table)


def _transfer_source(value: str | None) -> Path | None:
    """``bundled`` names the bundled supernet; anything else is a checkpoint folder."""
    if value is None:
        return None
    from ..supernet.bundled import bundled_supernet_dir

    return bundled_supernet_dir() if value == "bundled" else Path(value)


@app.command()
@handle_errors
def train(
    data: Annotated[str, typer.Option(help="fashion-mnist, synthetic, a .npz, or an image folder ROOT/<class>/*.png")] = "fashion-mnist",
    out: Annotated[Path, typer.Option(help="checkpoint directory (resumes if it holds an unfinished run)")] = Path("runs/supernet"),
    epochs: Annotated[str, typer.Option(help="full-net epochs N, or per phase 'full,kernel,depth,expand'")] = "4,1,1,1",
    space_name: SpaceOpt = "mcu-mbv2",
    batch_size: Annotated[int, typer.Option(help="images per step")] = 128,
    subnets: Annotated[int, typer.Option(help="subnets trained per step in the kernel/depth/expand phases")] = 1,
    sandwich: Annotated[bool, typer.Option(help="with 3+ subnets per step, always train the phase's largest and smallest (4+: also an all-smallest-kernel draw)")] = False,
    lr_scale: Annotated[float, typer.Option(help="multiply every phase's peak learning rate (e.g. 4 for a batch 8x larger)")] = 1.0,
    resolution_weights: Annotated[
        str, typer.Option(help="relative odds of the space's resolutions when a step draws one, e.g. '4,3,2,1,1' (default: uniform)")
    ] = "",
    width_weights: Annotated[
        str, typer.Option(help="relative odds of the space's widths in the expand phase's random draws, e.g. '3,2,1' (default: uniform)")
    ] = "",
    kernel_end_top: Annotated[
        bool, typer.Option(help="with --sandwich and 4+ subnets, the all-smallest-kernel draw is the largest subnet, not a random one (5+: both)")
    ] = False,
    corner_draws: Annotated[
        bool, typer.Option(help="with --sandwich, the expand phase also trains the largest blocks at the smallest depth and the smallest subnet at the step's resolution")
    ] = False,
    seed: Annotated[int, typer.Option(help="seed for everything random but the data split")] = 0,
    data_seed: Annotated[
        Optional[int], typer.Option(help="seed of the validation split (default: 0, or the --init-from run's)")
    ] = None,
    threads: Annotated[int, typer.Option(help="CPU threads (0: torch default)")] = 0,
    device: Annotated[str, typer.Option(help="auto (a GPU when torch sees one), cpu, cuda, cuda:N")] = "auto",
    init_from: Annotated[
        Optional[Path], typer.Option(help="start from this supernet checkpoint (e.g. to add elastic-phase epochs)")
    ] = None,
    teacher: Annotated[
        Optional[Path], typer.Option(help="distil from this supernet checkpoint's full net instead of this run's own")
    ] = None,
    kd_from: Annotated[
        str, typer.Option(help="soft targets of the elastic phases: 'teacher' (the frozen full net) or 'top' (each step's largest subnet, in place)")
    ] = "teacher",
    transfer_from: Annotated[
        Optional[str], typer.Option(help="start from a supernet trained on other data: 'bundled' or a checkpoint folder")
    ] = None,
    ddp: Annotated[bool, typer.Option(help="one rank of a data-parallel run started by torchrun (also taken when torchrun's variables are set); --batch-size is the global batch")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Train a Once-for-All supernet by progressive shrinking (resumable, also on another device)."""
    from ..data import data_seed as split_seed_of
    from ..data import load_dataset
    from ..space import get_space
    from ..supernet import TrainConfig, default_phases, load_meta, train_supernet
    from ..supernet.data_parallel import SINGLE, launched_by_torchrun, process_group, rank_device, ranks_from_env
    from ..supernet.device import resolve_device
    from ..supernet.sharding import check_divisible
    from ..supernet.train import check_choice_weights, finished_run

    for name, value, least in (("--batch-size", batch_size, 1), ("--subnets", subnets, 1), ("--threads", threads, 0),
                               ("--seed", seed, 0), ("--data-seed", 0 if data_seed is None else data_seed, 0)):
        if value < least:  # numpy seeds are unsigned: -1 was a traceback
            raise UsageError(f"{name} must be at least {least}, got {value}")
    if not math.isfinite(lr_scale) or lr_scale <= 0:  # nan and inf passed `<= 0` and trained a NaN supernet
        raise UsageError(f"--lr-scale must be a positive number, got {lr_scale}")
    out_folder(out)
    ranks = ranks_from_env() if ddp or launched_by_torchrun() else SINGLE
    check_divisible(batch_size, ranks.world_size)
    quiet = quiet or not ranks.main  # one progress display and log: rank 0's
    if data_seed is None:  # a continued run keeps its parent's validation split, which it never trained on
        data_seed = split_seed_of(load_meta(init_from)) if init_from is not None else 0
    splits = load_dataset(data, seed=data_seed)
    spec = get_space(space_name, in_channels=splits.in_channels, num_classes=splits.num_classes)
    res_weights = _parse_weights("--resolution-weights", resolution_weights, "4,3,2,1,1")
    wid_weights = _parse_weights("--width-weights", width_weights, "3,2,1")
    check_choice_weights(spec, res_weights, wid_weights)
    phases = default_phases(_parse_epochs(epochs, continuing=init_from is not None), subnets, sandwich, lr_scale, res_weights,
                            kernel_end_top, corner_draws, wid_weights)
    config = TrainConfig(phases=phases, batch_size=batch_size, seed=seed, threads=threads, kd_from=kd_from)
    if not ranks.distributed and finished_run(out, config, splits):  # ranks: rank 0 checks inside train_supernet
        stdout.print(f"{out} already holds this finished run: nothing to do")
        return
    device = rank_device(ranks, resolve_device(device))
    if ranks.main:
        shared = f", {ranks.world_size} ranks of {batch_size // ranks.world_size} images a step" if ranks.distributed else ""
        stderr.print(f"training {spec.name} on {splits.name} ({device}{shared}): "
                     f"{len(splits.train)} train / {len(splits.val)} val images")
    with process_group(ranks, device), progress_bar(quiet) as progress:
        task = progress.add_task("training", total=None, info="")

        def on_step(kind: str, step: int, steps: int, loss: float) -> None:
            progress.update(task, description=f"phase {kind}", completed=step, total=steps, info=f"loss {loss:.3f}")

        def on_epoch(record: dict) -> None:
            if not ranks.main:
                return
            stderr.print(
                f"{record['phase']} epoch {record['epoch']}: loss {record['loss']:.3f}, val acc largest "
                f"{record['val_acc_largest']:.4f} smallest {record['val_acc_smallest']:.4f} ({record['seconds']} s)"
            )

        train_supernet(splits, spec, out, config, on_step=on_step, on_epoch=on_epoch, device=device, init_from=init_from,
                       teacher_from=teacher, transfer_from=_transfer_source(transfer_from), ranks=ranks)
    if ranks.main:
        stdout.print(f"supernet written to {out}")


@app.command()
@handle_errors
def soup(
    checkpoints: Annotated[list[Path], typer.Argument(help="supernet checkpoints continued from one start (two or more)")],
    out: Annotated[Path, typer.Option(help="output checkpoint directory")],
) -> None:
    """Average supernets trained on from one checkpoint (a model soup), hidden channels matched first."""
    from ..supernet.soup import save_soup

    out_folder(out)
    command = " ".join(["edgenas soup", *map(str, checkpoints), "--out", str(out)])
    ingredients = save_soup(checkpoints, out, command)
    stdout.print_json(json.dumps({"out": str(out), "ingredients": [vars(i) for i in ingredients]}))


@app.command()
@handle_errors
def subnet(
    arch: Annotated[str, typer.Option(help="architecture string, or 'largest' / 'smallest'")],
    out: Annotated[Path, typer.Option(help="output directory (subnet.safetensors, subnet.json, model.onnx)")],
    supernet: Annotated[Optional[Path], typer.Option(help="supernet checkpoint directory (default: bundled)")] = None,
    data: DataOpt = None,
    other_data: OtherDataOpt = False,
    evaluate: Annotated[bool, typer.Option(help="report float test accuracy")] = True,
) -> None:
    """Extract one subnet (BN recalibrated), save it and export it to ONNX."""
    from ..data import load_recorded_dataset
    from ..deploy.onnx_export import export_onnx
    from ..space import Arch, largest_arch, smallest_arch
    from ..supernet import accuracy, load_supernet, prepare_subnet, save_subnet
    from ..supernet.bundled import bundled_supernet_dir

    out_folder(out)
    net, meta = load_supernet(supernet or bundled_supernet_dir())
    spec = net.spec
    chosen = {"largest": largest_arch(spec), "smallest": smallest_arch(spec)}.get(arch) or Arch.parse(arch)
    splits = load_recorded_dataset(meta, data, allow_other=other_data)
    sub = prepare_subnet(net, chosen.validate(spec), splits)
    result = {"arch": str(chosen), "out": str(out)}
    if evaluate:
        result["test_acc"] = accuracy(sub, splits.test, chosen.resolution)
    save_subnet(sub, out, {"supernet": str(supernet or "bundled"), "data": splits.source, "seed": splits.split_seed})
    export_onnx(sub, out / "model.onnx")
    stdout.print_json(json.dumps(result))
