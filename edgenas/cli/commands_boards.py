"""``edgenas boards``: list the known board profiles (built-in, plugins, user files) or show one."""

from __future__ import annotations

import json
import re
from importlib import metadata
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from .common import JsonOpt, app, handle_errors, stderr, stdout

boards_app = typer.Typer(help="List board profiles, or show one (edgenas boards show NAME).", no_args_is_help=False)
app.add_typer(boards_app, name="boards")

_SOURCE = re.compile(r"^(?P<origin>[^ ]+) \((?P<path>.*)\)$")


def _origin(board) -> tuple[str, str, str]:  # noqa: ANN001 (Board)
    """(origin, version, file) of a board: ``builtin``/``plugin:NAME``/``user``, the providing
    distribution's version, and the profile file."""
    from .. import __version__
    from ..boards.hookspecs import ENTRY_POINT_GROUP

    m = _SOURCE.match(board.source)
    origin, path = (m.group("origin"), m.group("path")) if m else (board.source, "")
    if origin == "plugin:builtin":
        return "builtin", __version__, path
    if origin.startswith("plugin:"):
        name = origin.split(":", 1)[1]
        for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
            if ep.name == name and ep.dist is not None:
                return origin, ep.dist.version, path
        return origin, "", path
    return origin, "", path


def _summary(board) -> dict:  # noqa: ANN001 (Board or DeviceProfile)
    origin, version, path = _origin(board)
    if getattr(board, "kind", "") == "device":  # a phone or Linux board: no clock or memory map
        return {"name": board.name, "core": board.core, "emulated": board.emulated, "driver": board.driver,
                "connection": board.connection, "runner": board.runner.kind, "clock_hz": None,
                "flash_bytes": None, "ram_bytes": None, "source": origin, "version": version, "file": path}
    return {
        "name": board.name,
        "core": board.core,
        "emulated": board.emulated,
        "clock_hz": board.clock_hz,
        "flash_bytes": board.flash.size_bytes,
        "ram_bytes": board.ram.size_bytes,
        "source": origin,
        "version": version,
        "file": path,
    }


def _details(board) -> dict:  # noqa: ANN001 (Board)
    """Every profile field, JSON-friendly (addresses as hex strings)."""
    from ..boards import DEFAULT_BOARD_FOR_CORE

    def region(r) -> dict:  # noqa: ANN001
        return {"origin": f"{r.origin:#010x}", "size_bytes": r.size_bytes}

    if getattr(board, "kind", "") == "device":
        r = board.runner
        return {**_summary(board), "description": board.description, "abi": board.abi, "cflags": list(board.cflags),
                "runner": {"kind": r.kind, "path": r.path or None, "threads": r.threads,
                           "warmup_runs": r.warmup_runs, "runs": r.runs},
                "pin": list(board.pin) or "highest-numbered CPU", "host": board.host, "serial": board.serial,
                "device_dir": board.device_dir, "counter_unit": board.counter_unit}

    return {
        **_summary(board),
        "description": board.description,
        "driver": board.driver,
        "default_for_core": DEFAULT_BOARD_FOR_CORE.get(board.core) == board.name,
        "cflags": list(board.cflags),
        "features": {"fpu": board.fpu, "dsp": board.dsp, "mve": board.mve},
        "memory": {r.name: region(r) for r in board.regions},
        "uart": {"kind": board.uart.kind, "base": f"{board.uart.base:#010x}", "baud": board.uart.baud,
                 "clock_hz": board.uart.clock_hz},
        "timer": board.timer,
        "counter_unit": board.counter_unit,
        "flash_method": {"method": board.flash_method.method, "target": board.flash_method.target},
        "serial": {"kind": board.serial.kind, "vid": board.serial.vid, "pids": list(board.serial.pids)},
        "qemu_machine": board.qemu_machine,
    }


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, div in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n % div == 0:
            return f"{n // div:,} {unit}"
    return f"{n:,} B"


def _list(as_json: bool) -> None:
    from ..boards.registry import board_problems, list_boards

    rows = [_summary(b) for b in list_boards()]
    for problem in board_problems():
        hint = f" (hint: {problem.hint})" if problem.hint else ""
        stderr.print(f"[yellow]skipped:[/] {escape(str(problem) + hint)}", highlight=False, soft_wrap=True)
    if as_json:
        stdout.print_json(json.dumps(rows))
        return
    table = Table(title=f"{len(rows)} boards", box=box.SIMPLE_HEAD)
    for col in ("name", "core", "kind", "clock", "flash", "RAM", "source", "version"):
        table.add_column(col, no_wrap=True, min_width=len(col))
    for r in rows:
        kind = "QEMU" if r["emulated"] else r.get("connection", "real")  # a phone or Pi: adb, ssh
        table.add_row(r["name"], r["core"].removeprefix("cortex-"), kind,
                      f"{r['clock_hz'] / 1e6:g} MHz" if r["clock_hz"] else "-", _size(r["flash_bytes"]),
                      _size(r["ram_bytes"]),
                      r["source"], r["version"] or "-")
    stdout.print(table)


@boards_app.callback(invoke_without_command=True)
@handle_errors
def boards(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List board profiles: built-in, from plugins (entry point group edgenas.boards), and user files."""
    if ctx.invoked_subcommand is None:
        _list(as_json)


@boards_app.command("list")
@handle_errors
def list_(as_json: JsonOpt = False) -> None:
    """List board profiles with their source and version."""
    _list(as_json)


@boards_app.command("show")
@handle_errors
def show(
    name: Annotated[str, typer.Argument(help="board name, or a core such as cortex-m7 (its default board)")],
    as_json: JsonOpt = False,
) -> None:
    """Print one board profile."""
    from ..boards import board_for_target

    details = _details(board_for_target(name))
    if as_json:
        stdout.print_json(json.dumps(details))
        return
    table = Table(title=f"board {details['name']}", show_header=False)
    table.add_column("field")
    table.add_column("value")
    for key, value in details.items():
        if key == "memory":
            value = "; ".join(f"{k} @{r['origin']} {_size(r['size_bytes'])}" for k, r in value.items())
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, list):
            value = " ".join(map(str, value)) or "-"
        table.add_row(key, "-" if value is None else str(value))
    stdout.print(table)
