"""``edgenas compile``, ``run`` and ``flash``: model → artifact directory → firmware on a board."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.table import Table

from ..errors import DeviceError, UsageError
from .common import JsonOpt, app, handle_errors, out_folder, stderr, stdout

BoardOpt = Annotated[Optional[str], typer.Option("--board", help="board name (edgenas boards) or a board .toml file")]
TargetOpt = Annotated[Optional[str], typer.Option("--target", help="a core (cortex-m7, cortex-m4, cortex-m55): its default board")]
OptOpt = Annotated[str, typer.Option("--opt", help="compiler optimisation: -O2 (speed) or -Os (size), also -O0/-O1/-O3/-Og")]
DirArg = Annotated[Path, typer.Argument(help="artifact directory written by `edgenas compile`")]


def _board(board: str | None, target: str | None):  # noqa: ANN202 (Board)
    """The board from ``--board`` (a name or a .toml file) or ``--target`` (core or board name)."""
    from ..boards import board_for_target, get_board, load_board_file

    if (board is None) == (target is None):
        raise UsageError("give exactly one of --board and --target",
                         hint="e.g. --board mps2-an500, or --target cortex-m7 for that core's default board")
    if board is not None and board.endswith(".toml"):
        path = Path(board)
        if not path.is_file():
            raise UsageError(f"board file {path} does not exist", hint="pass a board name or an existing .toml profile")
        return load_board_file(path, source=f"file ({path})")
    return get_board(board) if board is not None else board_for_target(target)  # type: ignore[arg-type]


def _opt(opt: str) -> str:
    return opt if opt.startswith("-") else f"-{opt}"


@app.command("compile")
@handle_errors
def compile_(
    model: Annotated[Path, typer.Argument(help="int8 .tflite file, or a subnet directory from `edgenas subnet`")],
    out: Annotated[Path, typer.Option("--out", help="artifact directory to write")],
    data: Annotated[Optional[str], typer.Option(help="calibration data for a subnet (default: its training data)")] = None,
    calib_images: Annotated[int, typer.Option(help="training images that set activation ranges")] = 512,
    eval_images: Annotated[int, typer.Option(help="also report float vs int8 test accuracy on this many images")] = 0,
    force: Annotated[bool, typer.Option(help="replace src/, firmware/ and model.onnx in --out even if no compile wrote them")] = False,
    fc_wide: Annotated[int, typer.Option(min=0, help="store fully-connected layers of at most N weights as int16: "
                                         "fewer instructions on Cortex-M4/M7, one more flash byte per weight")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Compile a model to C: src/ (model.c, model.h, runtime), model.tflite, model.onnx, memory.json."""
    from ..deploy.pipeline import MEMORY_JSON, compile_model

    theirs = sorted(p.name for p in out.iterdir()) if out_folder(out).is_dir() else []
    if theirs and not (out / MEMORY_JSON).is_file() and not force:  # a user's model.tflite was overwritten
        shown = ", ".join(theirs[:5]) + (f" and {len(theirs) - 5} more" if len(theirs) > 5 else "")
        raise UsageError(f"--out {out} holds files no earlier compile wrote ({shown}); compiling writes "
                         f"model.tflite, {MEMORY_JSON} and src/ there, replacing any of those names",
                         hint="pass a new or empty --out, or --force to write into this folder")
    art = compile_model(model, out, data=data, calib_images=calib_images, eval_images=eval_images, force=force,
                        fc_wide_max_weights=fc_wide)
    files = sorted(str(p.relative_to(out)) for p in out.iterdir())
    result = {
        "out": str(out), "model": art.name, "source": art.source["kind"], "files": files,
        "input_shape": list(art.input_shape), "output_shape": list(art.output_shape),
        "arena_bytes": art.arena_bytes, "lower_bound_bytes": art.lower_bound_bytes,
        "weights_bytes": art.weights_bytes, "num_layers": len(art.layers),
    }
    if "accuracy" in art.source:
        result["accuracy"] = art.source["accuracy"]
    if as_json:
        stdout.print_json(json.dumps(result))
        return
    table = Table(title=f"compiled {art.name} → {out}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    table.add_row("input → output", f"int8 {list(art.input_shape)} → int8 {list(art.output_shape)}")
    table.add_row("layers", str(len(art.layers)))
    table.add_row("arena (planned)", f"{art.arena_bytes:,} B (lower bound {art.lower_bound_bytes:,} B)")
    table.add_row("weights (flash)", f"{art.weights_bytes:,} B")
    if "accuracy" in art.source:
        acc = art.source["accuracy"]
        table.add_row("test accuracy", f"float {acc['float']:.4f}, int8 {acc['int8']:.4f} ({acc['images']} images)")
    table.add_row("files", ", ".join(files))
    stdout.print(table)


def _inputs(art, count: int, input_file: Optional[Path], seed: int) -> np.ndarray:  # noqa: ANN001
    from ..deploy.pipeline import make_inputs, read_inputs

    if input_file is not None:
        return read_inputs(input_file, art.input_shape)
    return make_inputs(art.input_shape, count, seed)


def _layer_macs(art) -> dict[str, int]:  # noqa: ANN001 (Artifact)
    """MACs per op name of the artifact's compiled model, so a slow op shows as many instructions per MAC."""
    from ..deploy import read_tflite
    from ..report import compiled_macs

    return compiled_macs(read_tflite(art.tflite))


def _render_run(report, checked: bool) -> None:  # noqa: ANN001 (RunReport)
    unit = report.unit
    mem = report.build.memory
    for i, (m, y) in enumerate(zip(report.measurements, report.outputs)):
        flat = y.reshape(-1)
        stdout.print(f"input {i}: {m.total_count:,} {unit}, stack {m.stack_bytes:,} B, "
                     f"argmax {int(flat.argmax())}, output {flat.tolist()}", highlight=False)
    first = report.measurements[0]
    macs = _layer_macs(report.build.artifact)
    table = Table(title=f"per-layer {unit} (input 0) on {report.build.firmware.board.name}")
    for col in ("#", "kind", "op", unit, "%", "MACs", f"{unit}/MAC"):  # the op name gives way on a narrow terminal
        table.add_column(col, justify="left" if col in ("kind", "op") else "right", no_wrap=col != "op",
                         overflow="ellipsis" if col == "op" else "fold")
    for lay in report.build.artifact.layers:
        count, mac = first.per_layer[lay["index"]], macs.get(lay["op"], 0)
        kind = lay["kind"] + (" + add" if lay.get("fused_add") else "")
        table.add_row(str(lay["index"]), kind, lay["op"], f"{count:,}", f"{100 * count / max(1, first.total_count):.1f}",
                      f"{mac:,}" if mac else "", f"{count / mac:.2f}" if mac else "")
    total_macs = sum(macs.values())
    table.add_row("", "total", "", f"{first.total_count:,}", "100.0", f"{total_macs:,}",
                  f"{first.total_count / total_macs:.2f}" if total_macs else "")
    stdout.print(table)
    art = report.build.artifact
    stdout.print(
        f"flash {mem['flash_bytes']:,} B (weights {mem['weights_bytes']:,} B, code {mem['code_bytes']:,} B) · "
        f"RAM {mem['ram_bytes']:,} B (arena {mem['arena_bytes']:,} B = planned {art.arena_bytes:,} B, "
        f"stack reserve {mem['stack_reserve_bytes']:,} B) · stack used {mem['stack_bytes']:,} B · "
        f"arena touched {mem.get('arena_touched_bytes', 0):,} B",
        highlight=False,
    )
    if checked:
        stdout.print("outputs match the int8 reference (TFLite Micro semantics)")


@app.command("run")
@handle_errors
def run(
    directory: DirArg,
    board: BoardOpt = None,
    target: TargetOpt = None,
    opt: OptOpt = "-O2",
    inputs: Annotated[int, typer.Option("--inputs", help="number of inputs: the (i*37) mod 256 ramp, then seeded random")] = 1,
    input_file: Annotated[Optional[Path], typer.Option("--input", help="inputs from a .npy (int8) or raw .bin file")] = None,
    seed: Annotated[int, typer.Option(help="seed of the random inputs")] = 0,
    check: Annotated[bool, typer.Option("--check/--no-check", help="compare outputs with the int8 reference interpreter")] = False,
    port: Annotated[Optional[str], typer.Option(help="serial port of a real board (default: found by USB id)")] = None,
    probe: Annotated[Optional[str], typer.Option(help="debug probe UID for pyOCD (real boards)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the firmware, run inputs on the board (QEMU for emulated ones) and print the results."""
    from ..deploy.pipeline import load_artifact, run_artifact

    if input_file is not None and inputs != 1:
        raise UsageError("give --inputs N or --input FILE, not both")
    chosen = _board(board, target)
    art = load_artifact(directory)
    x = _inputs(art, inputs, input_file, seed)
    where = "QEMU" if chosen.emulated else (port or "its USB serial port")
    stderr.print(f"building firmware for {chosen.name} ({_opt(opt)}) and running {len(x)} input(s) on {where}")
    report = run_artifact(directory, chosen, x, opt=_opt(opt), port=port, probe_uid=probe)
    if check:
        from ..deploy import read_tflite, run_reference

        want = run_reference(read_tflite(art.tflite), x).reshape(report.outputs.shape)
        bad = [i for i in range(len(x)) if not np.array_equal(want[i], report.outputs[i])]
        if bad:
            raise DeviceError(f"device outputs differ from the int8 reference on input(s) {bad}",
                              hint="a kernel or the link is wrong: run the host build (build_host) to locate it")
    if as_json:
        stdout.print_json(json.dumps({**report.to_dict(), "checked": check}))
        return
    _render_run(report, check)


@app.command("flash")
@handle_errors
def flash(
    directory: DirArg,
    board: BoardOpt = None,
    target: TargetOpt = None,
    opt: OptOpt = "-O2",
    probe: Annotated[Optional[str], typer.Option(help="debug probe UID for pyOCD")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Build the firmware for a real board and flash it with pyOCD (runs nothing)."""
    from ..deploy.pipeline import flash_artifact

    chosen = _board(board, target)
    build = flash_artifact(directory, chosen, opt=_opt(opt), probe_uid=probe)
    result = {"board": chosen.name, "firmware": str(build.firmware.bin), "memory": build.memory}
    if as_json:
        stdout.print_json(json.dumps(result))
        return
    stdout.print(f"flashed {build.firmware.bin} to {chosen.name}: flash {build.memory['flash_bytes']:,} B, "
                 f"RAM {build.memory['ram_bytes']:,} B", highlight=False)
