"""``edgenas profile``: build or extend a target's latency table, and validate it end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import JsonOpt, QuietOpt, SpaceOpt, app, handle_errors, progress_bar, stderr, stdout, worker_lines


@app.command()
@handle_errors
def profile(
    target: Annotated[str, typer.Option("--target", help="cortex-m7, cortex-m4, cortex-m55, host, linux-rpc, "
                                                         "linux-arm64 or android")],
    board: Annotated[Optional[str], typer.Option("--board", help="board profile (default: the core's; linux-arm64: "
                                                                 "qemu-arm64; android: android-arm64)")] = None,
    budget: Annotated[Optional[int], typer.Option("--budget", help="measure at most N new entries")] = None,
    table_path: Annotated[Optional[Path], typer.Option("--table", help="table JSON to build or extend")] = None,
    validate_n: Annotated[int, typer.Option("--validate", help="then measure N random subnets end to end")] = 0,
    backend: Annotated[Optional[str], typer.Option(help="host backend (default: the fastest)")] = None,
    rpc: Annotated[Optional[str], typer.Option(help="HOST:PORT of a TVM RPC server (linux-rpc)")] = None,
    aarch64: Annotated[bool, typer.Option(help="the RPC device is ARM64 Linux (cross-compile)")] = False,
    port: Annotated[Optional[str], typer.Option(help="serial port of a real board")] = None,
    serial: Annotated[Optional[str], typer.Option(help="adb serial of the phone (android)")] = None,
    runner: Annotated[Optional[Path], typer.Option(help="LiteRT benchmark_model binary on this PC (android)")] = None,
    ssh: Annotated[Optional[str], typer.Option(help="USER@HOST of the board (linux-arm64 over ssh)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the validation subnets")] = 0,
    space_name: SpaceOpt = "mcu-mbv2",
    channels: Annotated[int, typer.Option(help="input image channels")] = 1,
    classes: Annotated[int, typer.Option(help="number of classes")] = 10,
    workers: Annotated[Optional[int], typer.Option(
        help="emulated boards measuring at once, one QEMU per Ray worker (default: 1, serial)")] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        help="join a running Ray cluster (auto or HOST:PORT) whose nodes have the toolchain and QEMU")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build or extend a latency table for a target (resumable), optionally validating it.

    With --workers N (emulated Cortex-M boards only) the table's firmware batches are built and run
    on N emulated boards at once; this process alone writes the table, after each batch."""
    from ..distributed import open_pool
    from ..errors import UsageError
    from ..profile import build_table, get_profiler, validate
    from ..scratch import scratch_dir
    from ..space import get_space

    spec = get_space(space_name, in_channels=channels, num_classes=classes)
    kwargs = {"port": port} if port else {}
    kwargs |= {k: v for k, v in (("serial", serial), ("runner", runner and str(runner)), ("ssh", ssh)) if v}
    with scratch_dir("profile") as tmp:
        prof = get_profiler(target, board=board, backend=backend, rpc=rpc, aarch64=aarch64, spec=spec,
                            work_dir=Path(tmp), **kwargs)
    per_board = target.startswith("cortex") or target in ("linux-arm64", "android")
    path = table_path or Path("latency") / f"{prof.board if per_board else target}.json"
    if getattr(prof, "emulated", False):
        stderr.print(f"[yellow]warning:[/] {prof.board} is emulated (qemu-user): the table {path} checks the ARM64 "
                     "path, but its times are the emulator's and say nothing about a Pi's or a phone's speed")
    parallel = (workers or 1) > 1 or ray_address
    if parallel and not getattr(getattr(prof, "board_obj", None), "emulated", False):
        raise UsageError(f"--workers/--ray-address profile emulated Cortex-M boards only, not {prof.board}",
                         hint="timings of a real board or of this CPU are measured one at a time; drop --workers")
    with open_pool(workers, ray_address) as pool, progress_bar(quiet) as bar:
        if pool.note:
            stderr.print(pool.note, highlight=False)
        task = bar.add_task(f"profile {target}", total=None, info="")

        def progress(done: int, total: int, info: str) -> None:
            bar.update(task, completed=done, total=total, info=info)

        table = build_table(prof, spec, path, budget=budget, progress=progress, pool=pool,
                            watch=None if pool.workers == 1 else worker_lines(bar))
        report = None
        if validate_n:
            vtask = bar.add_task("validate", total=validate_n, info="")
            report = validate(prof, table, path, validate_n, seed=seed,
                              progress=lambda d, n, i: bar.update(vtask, completed=d, total=n, info=i))
    result = {"table": str(path), "target": table.target, "board": table.board, "backend": table.backend,
              "unit": table.unit, "entries": len(table)}
    if report is not None:
        result["validation"] = report.to_dict()
    if as_json:
        stdout.print_json(json.dumps(result))
        return
    t = Table(title=f"latency table {path}")
    t.add_column("field")
    t.add_column("value")
    for k in ("target", "board", "backend", "unit", "entries"):
        t.add_row(k, str(result[k]))
    if report is not None:
        for k, v in report.summary().items():
            t.add_row(f"validation {k}", f"{v:.3f}" if isinstance(v, float) else str(v))
    stdout.print(t)
