"""``edgenas profile``: build or extend a target's latency table, and validate it end to end."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import JsonOpt, QuietOpt, SpaceOpt, TaskTimeoutOpt, app, handle_errors, progress_bar, stderr, stdout, table_file, worker_lines


def plan_text(full: int, have: int, todo: int, batch: int, workers: int) -> str:
    """What a profile run will do: the full table's size, what is in it, and the builds this run takes."""
    builds = math.ceil(todo / batch) if batch else 0
    text = f"a full table has {full:,} entries; {have:,} measured, {full - have:,} missing"
    if todo == 0:
        return text + ": nothing to measure"
    where = f" on {workers} workers" if workers > 1 else ""
    return text + f"; this run measures {todo:,} in {builds:,} batch{'es' if builds != 1 else ''} of up to {batch}{where}"


class Eta:
    """The time left, told once the first batch is in (batches take alike long on one target)."""

    def __init__(self, todo: int, batch: int, workers: int, clock=time.monotonic) -> None:  # noqa: ANN001
        self.todo, self.batch, self.workers, self.clock = todo, max(1, batch), max(1, workers), clock
        self.start = clock()
        self.told = False

    def after(self, done: int) -> str | None:
        """The estimate, the first time ``done`` entries (of this run) are measured; else None."""
        if self.told or done <= 0 or done >= self.todo:
            return None
        self.told = True
        elapsed = self.clock() - self.start
        per_batch = elapsed / math.ceil(done / self.batch)
        left = per_batch * math.ceil(math.ceil((self.todo - done) / self.batch) / self.workers)
        return (f"first batch in {format_duration(elapsed)}: about {format_duration(left)} more "
                f"for the {self.todo - done:,} entries left (rerun the same command to resume if stopped)")


def format_duration(seconds: float) -> str:
    """``42 s``, ``12 min``, ``3.5 h``."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


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
    task_timeout: TaskTimeoutOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Build or extend a latency table for a target (resumable), optionally validating it.

    With --workers N (emulated Cortex-M boards only) the table's firmware batches, then the
    --validate subnets, are built and run on N emulated boards at once; this process alone writes
    the table, after each batch."""
    from ..distributed import open_pool
    from ..errors import UsageError
    from ..profile import build_table, get_profiler, validate
    from ..profile.run import open_table
    from ..profile.targets import written_table_path
    from ..space.signature import space_signatures
    from ..scratch import scratch_dir
    from ..space import get_space

    table_file(table_path)
    spec = get_space(space_name, in_channels=channels, num_classes=classes)
    kwargs = {"port": port} if port else {}
    kwargs |= {k: v for k, v in (("serial", serial), ("runner", runner and str(runner)), ("ssh", ssh)) if v}
    with scratch_dir("profile") as tmp:
        prof = get_profiler(target, board=board, backend=backend, rpc=rpc, aarch64=aarch64, spec=spec,
                            work_dir=Path(tmp), **kwargs)
    per_board = target.startswith("cortex") or target in ("linux-arm64", "android")
    path = table_path or written_table_path(prof.board if per_board else target, spec.name)
    if getattr(prof, "emulated", False):
        stderr.print(f"[yellow]warning:[/] {prof.board} is emulated (qemu-user): the table {path} checks the ARM64 "
                     "path, but its times are the emulator's and say nothing about a Pi's or a phone's speed")
    parallel = (workers or 1) > 1 or ray_address
    if parallel and not getattr(getattr(prof, "board_obj", None), "emulated", False):
        raise UsageError(f"--workers/--ray-address profile emulated Cortex-M boards only, not {prof.board}",
                         hint="timings of a real board or of this CPU are measured one at a time; drop --workers")
    keys = [sig.key for sig in space_signatures(spec)]
    existing = open_table(prof, spec, path)
    todo = len(existing.missing(keys))
    todo = min(todo, max(0, budget)) if budget is not None else todo
    with open_pool(workers, ray_address, task_timeout_s=task_timeout) as pool, progress_bar(quiet) as bar:
        if pool.note:
            stderr.print(pool.note, highlight=False)
        if not quiet:
            stderr.print(f"{path}: " + plan_text(len(set(keys)), len(existing), todo, prof.batch_size, pool.workers),
                         highlight=False)
        task = bar.add_task(f"profile {target}", total=None, info="")
        eta = Eta(todo, prof.batch_size, pool.workers)

        def progress(done: int, total: int, info: str) -> None:
            bar.update(task, completed=done, total=total, info=info)
            note = eta.after(done)
            if note and not quiet:
                stderr.print(note, highlight=False)

        watch = None if pool.workers == 1 else worker_lines(bar)
        table = build_table(prof, spec, path, budget=budget, progress=progress, pool=pool, watch=watch)
        report = None
        if validate_n:
            vtask = bar.add_task("validate", total=validate_n, info="")
            report = validate(prof, table, path, validate_n, seed=seed, pool=pool,
                              progress=lambda d, n, i: bar.update(vtask, completed=d, total=n, info=i), watch=watch)
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
