"""``edgenas extract``: the best subnet for a budget, compiled and verified on the board (a Cortex-M
board's firmware, or a phone's or ARM64 Linux board's runner artifact)."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from .common import (DataOpt, JsonOpt, OtherDataOpt, QuietOpt, RayAddressOpt, TaskTimeoutOpt, WorkersOpt, app, handle_errors, out_folder,
                     stderr, stdout, table_file)


def _latency_limit(text: str, board, table: Optional[Path]) -> float:  # noqa: ANN001 (Board)
    """``--latency`` in the unit of the latency table the search will use: a time only for a
    table in ms, a count (``5M``) for one in instructions or cycles."""
    from ..cost.latency_table import LatencyTable
    from ..extract.pipeline import default_latency_table
    from .commands_search import parse_constraint

    table_path = table or default_latency_table(board)
    if table_path is None:
        raise UsageError(f"--latency needs a latency table, and none is bundled for board {board.name}",
                         hint=f"measure one with `edgenas profile --board {board.name} --table T.json`, then --table T.json")
    return parse_constraint(f"latency={text}", LatencyTable.load(table_path).unit)[1]


def _chosen_board(target: Optional[str], board: Optional[str]):  # noqa: ANN202 (Board | DeviceProfile)
    """The board of ``--target``/``--board``: a core's default board, a board by name, or a device
    target's profile (``--target android [--board pixel-cpu]``, as `edgenas profile` takes them)."""
    from ..boards import board_for_target, get_board
    from ..profile.targets import DEFAULT_DEVICE, device_profile

    if target in DEFAULT_DEVICE:
        return device_profile(target, board)
    if (target is None) == (board is None):
        raise UsageError("give exactly one of --target or --board",
                         hint="e.g. --target cortex-m7, --board mps2-an500, or --target android")
    return get_board(board) if board else board_for_target(target)


def _check_device_options(chosen, serial: Optional[str], runner: Optional[Path], ssh: Optional[str]) -> None:  # noqa: ANN001
    """--serial/--runner are for phones, --ssh for ARM64 Linux boards: refused elsewhere, not ignored."""
    driver = getattr(chosen, "driver", "")
    for flag, value, wanted in (("--serial", serial, "android"), ("--runner", runner, "android"),
                                ("--ssh", ssh, "linux_arm64")):
        if value is not None and driver != wanted:
            raise UsageError(f"{flag} is for {wanted.replace('_', '-')} boards, and {chosen.name} is not one",
                             hint=f"drop {flag}, or pick such a board (`edgenas boards`)")


def _limits(chosen, ram: Optional[str], flash: Optional[str], latency: Optional[str], macs: Optional[str],  # noqa: ANN001
            params: Optional[str], table: Optional[Path]) -> dict[str, float]:
    """The budget by metric. A Cortex-M board's own memory bounds the search even when no budget is
    given: a subnet that cannot link is no answer (it would fail only at link time). A phone or a
    Linux board has no such bound."""
    from ..extract.devices import is_device
    from ..units import parse_bytes, parse_count

    limits: dict[str, float] = {}
    if ram:
        limits["sram_bytes"] = parse_bytes(ram)
    if flash:
        limits["flash_bytes"] = parse_bytes(flash)
    if latency:
        limits["latency"] = _latency_limit(latency, chosen, table)
    if not is_device(chosen):
        limits.setdefault("sram_bytes", float(chosen.ram.size_bytes))
        limits.setdefault("flash_bytes", float(chosen.flash.size_bytes))
    if macs:
        limits["macs"] = parse_count(macs)
    if params:
        limits["params"] = parse_count(params)
    return limits


@app.command()
@handle_errors
def extract(
    target: Annotated[Optional[str], typer.Option(help="core, e.g. cortex-m7 (its default board), or android / linux-arm64")] = None,
    board: Annotated[Optional[str], typer.Option(help="board name (a real board is flashed and verified over serial; with "
                                                       "--target android/linux-arm64 a profile such as pixel-cpu)")] = None,
    ram: Annotated[Optional[str], typer.Option(help="RAM budget, e.g. 256KB, 0.5MiB")] = None,
    flash: Annotated[Optional[str], typer.Option(help="flash budget, e.g. 1MB")] = None,
    latency: Annotated[Optional[str], typer.Option(help="latency budget in the table's unit: 50ms, or 5M instructions")] = None,
    macs: Annotated[Optional[str], typer.Option(help="MACs budget, e.g. 5M")] = None,
    params: Annotated[Optional[str], typer.Option(help="parameter budget, e.g. 200K")] = None,
    out: Annotated[Path, typer.Option(help="output directory")] = Path("out/extract"),
    seed: Annotated[int, typer.Option(help="search seed (same seed, same subnet and firmware)")] = 0,
    fitness: Annotated[str, typer.Option(help="predictor (fast) or measured (validation accuracy)")] = "predictor",
    generations: Annotated[Optional[int], typer.Option(
        help="evolution generations (default: 100 scored by the predictor, 30 measured)")] = None,
    supernet: Annotated[Optional[Path], typer.Option(help="supernet checkpoint (default: bundled)")] = None,
    predictor: Annotated[Optional[Path], typer.Option(help="accuracy predictor (default: bundled)")] = None,
    table: Annotated[Optional[Path], typer.Option(help="latency table (default: bundled for the board; android/linux-arm64: "
                                                       "latency/<board>.json as edgenas profile writes it)")] = None,
    eval_images: Annotated[int, typer.Option(help="test images for the accuracy report (0: all 10,000)")] = 1000,
    verify_inputs: Annotated[int, typer.Option(help="inputs run on the board and checked against the host build")] = 4,
    finetune_epochs: Annotated[int, typer.Option(help="train the chosen subnet N more epochs before int8 (distilled from the largest; minutes per epoch on a CPU)")] = 0,
    opt: Annotated[str, typer.Option(help="firmware optimisation: -O2 or -Os")] = "-O2",
    work: Annotated[Path, typer.Option(help="with --data other than the bundled supernet's: where it is adapted first (cached, resumable)")] = Path("out/adapt"),
    adapt_steps: Annotated[int, typer.Option(help="adapting: optimizer steps over the four training phases")] = 2100,
    adapt_samples: Annotated[int, typer.Option(help="adapting: subnets measured for the accuracy predictor")] = 150,
    baseline_epochs: Annotated[int, typer.Option(help="epochs of the small-CNN guard rail beside a logistic regression (-1: no baselines)")] = 3,
    warm_start: Annotated[Optional[Path], typer.Option(help="an earlier search or extract --out folder: its best archs seed this search")] = None,
    serial: Annotated[Optional[str], typer.Option(help="adb serial of the phone (android; default: the only one attached)")] = None,
    runner: Annotated[Optional[Path], typer.Option(help="LiteRT benchmark_model binary on this PC (android)")] = None,
    ssh: Annotated[Optional[str], typer.Option(help="USER@HOST of the board (linux-arm64 over ssh)")] = None,
    data: DataOpt = None,
    other_data: OtherDataOpt = False,
    workers: WorkersOpt = None,
    ray_address: RayAddressOpt = None,
    task_timeout: TaskTimeoutOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Search the bundled supernet for the most accurate subnet that fits, and deploy it.

    With --fitness measured and --workers N, each generation's candidates are measured on N Ray
    workers; the search and everything after it are the same as a serial run's."""
    from ..distributed import open_pool
    from ..extract import ExtractRequest, extract as run_extract
    from ..extract.devices import is_device, require_device_table
    from ..search.warm_start import trials_file

    chosen = _chosen_board(target, board)
    if fitness not in ("predictor", "measured"):
        raise UsageError(f"--fitness {fitness!r} is not predictor or measured")
    if fitness != "measured" and ((workers or 1) > 1 or ray_address):
        raise UsageError("--workers/--ray-address parallelise --fitness measured only",
                         hint="the predictor scores a whole generation in milliseconds; drop --workers")
    if adapt_steps < 4 or adapt_samples < 12:
        raise UsageError(f"--adapt-steps must be at least 4 and --adapt-samples at least 12, got {adapt_steps}, {adapt_samples}")
    if baseline_epochs < -1:
        raise UsageError(f"--baseline-epochs must be -1 (none) or more, got {baseline_epochs}")
    if finetune_epochs < 0:
        raise UsageError(f"--finetune-epochs must be 0 or more, got {finetune_epochs}")
    for name, value in (("--seed", seed), ("--generations", generations or 0), ("--eval-images", eval_images),
                        ("--verify-inputs", verify_inputs)):
        if value < 0:  # a negative seed was a numpy traceback; -1 images ran a whole extract on 9,999
            raise UsageError(f"{name} must be 0 or more, got {value}")
    if warm_start is not None:
        trials_file(warm_start)  # fail before any work when it holds no earlier search
    out_folder(out)
    out_folder(work, "--work")
    table_file(table)
    _check_device_options(chosen, serial, runner, ssh)
    if is_device(chosen):
        table = require_device_table(chosen, table)
    limits = _limits(chosen, ram, flash, latency, macs, params, table)
    pool = open_pool(workers, ray_address, task_timeout_s=task_timeout)
    if pool.note:
        stderr.print(pool.note, highlight=False)
    request = ExtractRequest(
        board=chosen, limits=limits, out_dir=out, supernet_dir=supernet, predictor_dir=predictor, latency_table=table,
        fitness=fitness, seed=seed, generations=generations, verify_inputs=verify_inputs, eval_images=eval_images,
        finetune_epochs=finetune_epochs, opt=opt, data=data, other_data=other_data, baseline_epochs=baseline_epochs,
        work_dir=work, adapt_steps=adapt_steps, adapt_samples=adapt_samples, warm_start=warm_start,
        serial=serial, runner=runner, ssh=ssh, pool=pool,
    )
    with pool, stderr.status("extract") if not quiet else nullcontext() as status:

        def step(message: str) -> None:
            if status is not None:
                status.update(message)
            if not quiet:
                stderr.log(message)

        report = run_extract(request, step)
    if report.verification.get("status") == "skipped":
        stderr.print(f"[yellow]warning:[/] {report.verification['detail']}", highlight=False)
    if as_json:
        stdout.print_json(json.dumps(report.to_dict(), default=str))
    else:
        stdout.print((out / "report.md").read_text(), markup=False, highlight=False)
        stdout.print(f"artifacts in {out}")
        stdout.print(f"report: {out / 'report.html'}", highlight=False)

