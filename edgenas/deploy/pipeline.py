"""A model in, a deployable artifact directory out; then build, run or flash that directory.

``edgenas compile`` writes, and ``edgenas run``/``flash`` read, one directory::

    OUT/model.tflite      the int8 model (the input file as given, or our export of the subnet)
    OUT/model.onnx        the float subnet (subnets only)
    OUT/memory.json       predicted memory (planner arena, lower bound, model flash) and, per board
                          once built, the figures measured on the linked ELF and the device
    OUT/src/              model.c, model.h, the plan (src/memory.json) and runtime/, a snapshot of
                          runtime_c: everything needed to build the model into another project
    OUT/firmware/<board>/ firmware.elf/.bin/.map for each board built

Firmware is built from the artifact's own runtime snapshot, so an artifact keeps building the way
it was compiled. The planner's arena must equal the linked ``en_arena``: a mismatch is an error,
not a warning, because search and cost models trust the planner's number.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..boards import Board
from ..errors import BoardError, DataError, ModelFormatError, ToolchainError, UsageError
from ..paths import RUNTIME_C_DIR
from .compile import compile_graph
from .ir import Graph
from .reference import run_reference

if TYPE_CHECKING:
    from ..targets.cortex_m import Firmware
    from ..targets.measurement import Measurement

MEMORY_JSON = "memory.json"
SCHEMA = 1
RUNTIME_SNAPSHOT = "runtime"
DEFAULT_CALIB_IMAGES = 512

SRC_README = """# Generated model sources

`model.c`/`model.h` are the model (weights as `const` arrays in flash, one static arena, a
straight-line `en_model_invoke(const int8_t *in, int8_t *out)`); `runtime/` holds the int8
kernels they call. Build for the host, for example:

    cc -std=c99 -O2 -Iruntime/include -Iruntime/src -c model.c runtime/src/ref/*.c \\
       runtime/src/common/*.c runtime/src/profile_none.c

On a Cortex-M core with the DSP extension, use `runtime/src/arm/X.c` in place of `runtime/src/ref/X.c`
(same symbols); on one with Helium (MVE, e.g. Cortex-M55) also `runtime/src/mve/X.c` in place of
either, plus the other `.c` files of `runtime/src/mve/`. `memory.json` here is the memory plan:
every buffer's offset and lifetime.
"""


@dataclass(frozen=True)
class Artifact:
    """A compiled artifact directory, as described by its ``memory.json``."""

    root: Path
    source: dict
    name: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    arena_bytes: int
    lower_bound_bytes: int
    weights_bytes: int
    layers: tuple[dict, ...] = field(repr=False)

    @property
    def src_dir(self) -> Path:
        return self.root / "src"

    @property
    def tflite(self) -> Path:
        return self.root / "model.tflite"

    @property
    def memory_json(self) -> Path:
        return self.root / MEMORY_JSON

    @property
    def runtime_dir(self) -> Path:
        """The runtime snapshot (falls back to the repository's for artifacts that lack one)."""
        snap = self.src_dir / RUNTIME_SNAPSHOT
        return snap if (snap / "src").is_dir() else RUNTIME_C_DIR

    @property
    def input_bytes(self) -> int:
        return int(np.prod(self.input_shape))


# --------------------------------------------------------------------------------- compile


def _tensor_info(graph: Graph, name: str) -> dict:
    t = graph.tensor(name)
    assert t.quant is not None
    return {"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
            "scale": float(t.quant.scale[0]), "zero_point": int(t.quant.zero_point[0])}


def _from_subnet(directory: Path, out: Path, data: str | None, calib_images: int, eval_images: int
                 ) -> tuple[Graph, bytes, dict]:
    """Quantize a saved subnet; write its ONNX export. Returns graph, .tflite bytes, source record."""
    from ..data import ImageSet, load_dataset
    from ..supernet import accuracy, load_subnet
    from .onnx_export import export_onnx
    from .quantize import quantize_images, quantize_subnet
    from .tflite_writer import write_tflite

    subnet, meta = load_subnet(directory)
    provenance = meta.get("provenance") or {}
    data_name = data or provenance.get("data") or "fashion-mnist"
    splits = load_dataset(data_name, seed=int(provenance.get("seed", 0)))
    if splits.in_channels != subnet.spec.in_channels:
        raise DataError(f"calibration data {data_name!r} has {splits.in_channels} channel(s), the subnet "
                        f"takes {subnet.spec.in_channels}", hint="pass --data with the dataset the subnet was trained on")
    graph = quantize_subnet(subnet, splits.train, count=calib_images)
    export_onnx(subnet, out / "model.onnx")
    source = {"kind": "subnet", "path": str(directory), "arch": str(subnet.arch), "space": subnet.spec.name,
              "calibration": {"data": data_name, "split": "train", "images": min(calib_images, len(splits.train))}}
    if eval_images > 0:
        n = min(eval_images, len(splits.test))
        test = ImageSet(splits.test.x[:n], splits.test.y[:n])
        logits = run_reference(graph, quantize_images(test.x, subnet.arch.resolution))
        source["accuracy"] = {
            "data": data_name, "split": "test", "images": n,
            "float": accuracy(subnet, test, subnet.arch.resolution),
            "int8": float(np.mean(logits.reshape(n, -1).argmax(1) == test.y)),
        }
    return graph, write_tflite(graph, description=f"edgenas {subnet.arch}"), source


def compile_model(
    model: str | Path,
    out_dir: str | Path,
    *,
    data: str | None = None,
    calib_images: int = DEFAULT_CALIB_IMAGES,
    eval_images: int = 0,
    force: bool = False,
    fc_wide_max_weights: int = 0,
) -> Artifact:
    """Compile a subnet directory (``edgenas subnet``) or an int8 ``.tflite`` into ``out_dir``.

    Args:
        model: a subnet directory or a ``.tflite`` file.
        out_dir: the artifact directory (created; files of an earlier compile are replaced, but
            ``src/``, ``firmware/`` or ``model.onnx`` that no compile wrote only with ``force``).
        data: calibration dataset for a subnet (default: the one in its provenance, else
            fashion-mnist); ignored for ``.tflite`` models, which carry their quantization.
        calib_images: training images that set the activation ranges.
        eval_images: if > 0, also measure float and int8 test accuracy on that many test images.
        fc_wide_max_weights: FC layers of at most this many weights store them as int16 (faster
            on the DSP build, one more flash byte per weight); 0 keeps them int8.

    Raises:
        UsageError: ``model`` is neither a subnet directory nor a ``.tflite`` file.
        ModelFormatError / UnsupportedOpError: the model cannot be read or compiled.
    """
    from ..supernet import is_subnet_dir
    from .tflite_reader import read_tflite  # loads the tflite-micro schema

    model, out = Path(model), Path(out_dir)
    if not model.exists():
        raise UsageError(f"model {model} does not exist", hint="pass a .tflite file or a directory from `edgenas subnet`")
    replaced = [p for p in (out / "src", out / "firmware", out / "model.onnx") if p.exists()]
    if replaced and not (out / MEMORY_JSON).is_file() and not force:
        raise UsageError(f"{out} holds {', '.join(p.name for p in replaced)} that no earlier compile wrote "
                         f"({MEMORY_JSON} missing); compiling would replace them",
                         hint="pass another --out, or --force to replace them")
    out.mkdir(parents=True, exist_ok=True)
    for stale in replaced:
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    if model.is_dir():
        if not is_subnet_dir(model):
            raise UsageError(f"{model} is a directory but not a subnet directory (subnet.json missing)",
                             hint="create one with `edgenas subnet --arch ... --out DIR`, or pass a .tflite file")
        graph, tflite_bytes, source = _from_subnet(model, out, data, calib_images, eval_images)
    elif model.suffix.lower() == ".tflite":
        tflite_bytes = model.read_bytes()
        graph = read_tflite(tflite_bytes)
        source = {"kind": "tflite", "path": str(model)}
    else:
        raise UsageError(f"cannot compile {model}: expected a .tflite file or a subnet directory",
                         hint="int8 TFLite models need the .tflite suffix")
    (out / "model.tflite").write_bytes(tflite_bytes)
    result = compile_graph(graph, out / "src", fc_wide_max_weights=fc_wide_max_weights)
    runtime = out / "src" / RUNTIME_SNAPSHOT
    for part in ("include", "src"):
        shutil.copytree(RUNTIME_C_DIR / part, runtime / part, ignore=shutil.ignore_patterns("__pycache__", "*.o"))
    (out / "src" / "README.md").write_text(SRC_README, encoding="utf-8")
    record = {
        "schema": SCHEMA,
        "source": source,
        "model": {"name": graph.name if source["kind"] == "subnet" or graph.name not in ("", "main") else model.stem,
                  "input": _tensor_info(graph, graph.inputs[0]),
                  "output": _tensor_info(graph, graph.outputs[0]), "tflite_bytes": len(tflite_bytes)},
        "predicted": {
            "arena_bytes": result.arena_bytes,
            "lower_bound_bytes": result.plan.lower_bound_bytes,
            "weights_bytes": result.flash_bytes,
            "num_layers": result.num_layers,
            "note": "weights_bytes: the model's constant arrays (en_w_*) in flash; arena_bytes: the one "
                    "static activation arena (en_arena); lower_bound_bytes: most bytes live at any step",
        },
        "layers": result.layers,
        "measured": {},
    }
    _write_json(out / MEMORY_JSON, record)
    return load_artifact(out)


def _write_json(path: Path, record: dict) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _read_record(root: Path) -> dict:
    path = Path(root) / MEMORY_JSON
    if not path.is_file():
        raise UsageError(f"{root} is not a compiled artifact ({MEMORY_JSON} missing)",
                         hint="compile the model first: edgenas compile MODEL --out DIR")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise ModelFormatError(f"cannot read {path}: {e}", hint="compile the model again") from e
    if record.get("schema") != SCHEMA or "predicted" not in record:
        raise ModelFormatError(f"{path} is not an edgenas artifact record (schema {record.get('schema')!r})",
                               hint="compile the model again with this edgenas version")
    return record


def load_artifact(root: str | Path) -> Artifact:
    """Read an artifact directory written by :func:`compile_model`.

    Raises:
        UsageError: ``root`` holds no ``memory.json``.
        ModelFormatError: the record is unreadable or from another schema.
    """
    root = Path(root)
    record = _read_record(root)
    pred, model = record["predicted"], record["model"]
    return Artifact(
        root=root, source=record["source"], name=model["name"],
        input_shape=tuple(model["input"]["shape"]), output_shape=tuple(model["output"]["shape"]),
        arena_bytes=pred["arena_bytes"], lower_bound_bytes=pred["lower_bound_bytes"],
        weights_bytes=pred["weights_bytes"], layers=tuple(record["layers"]),
    )


# ------------------------------------------------------------------------------- inputs


def ramp_input(shape: Sequence[int]) -> np.ndarray:
    """The benchmark input: byte ``i`` = ``(i * 37) mod 256`` as int8, in NHWC order."""
    count = int(np.prod(shape))
    return ((np.arange(count) * 37) % 256).astype(np.uint8).view(np.int8).reshape(tuple(shape))


def make_inputs(shape: Sequence[int], count: int, seed: int = 0) -> np.ndarray:
    """``count`` int8 inputs ``(count, *shape[1:])``: the ramp first, then uniform random (seeded)."""
    if count < 1:
        raise UsageError(f"--inputs {count}: need at least one input")
    rnd = np.random.default_rng(seed).integers(-128, 128, size=(count - 1, *shape[1:]), dtype=np.int8)
    return np.concatenate([ramp_input((1, *shape[1:])), rnd])


def read_inputs(path: str | Path, shape: Sequence[int]) -> np.ndarray:
    """Inputs from a file: ``.npy`` int8 (any shape holding whole inputs) or raw int8 bytes.

    Raises:
        DataError: missing file, wrong dtype, or a size that is not a whole number of inputs.
    """
    path, per = Path(path), int(np.prod(shape))
    if not path.is_file():
        raise DataError(f"input file {path} does not exist", hint="pass a .npy (int8) or raw .bin file")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read {path}: {e}", hint="save inputs with numpy.save(path, int8_array)") from e
        if arr.dtype != np.int8:
            raise DataError(f"{path} holds {arr.dtype}, the model takes int8",
                            hint="quantise first: q = round(x / scale) + zero_point, as int8")
        flat = arr.reshape(-1)
    else:
        flat = np.frombuffer(path.read_bytes(), dtype=np.int8)
    if flat.size == 0 or flat.size % per:
        raise DataError(f"{path} holds {flat.size} bytes, not a whole number of {per}-byte inputs {tuple(shape)}",
                        hint="inputs are int8 NHWC, concatenated")
    return flat.reshape(-1, *shape[1:]).copy()


# ------------------------------------------------------------------------ build, run, flash


@dataclass(frozen=True)
class Build:
    """A firmware built from an artifact and its measured memory (also saved in memory.json)."""

    artifact: Artifact
    firmware: Firmware
    memory: dict


@dataclass(frozen=True)
class RunReport:
    """Results of running inputs on a board; counts are in ``unit`` (instructions or cycles)."""

    build: Build
    outputs: np.ndarray
    measurements: tuple[Measurement, ...] = ()

    @property
    def unit(self) -> str:
        return self.measurements[0].unit

    def to_dict(self) -> dict:
        a = self.build.artifact
        layers = [{"index": lay["index"], "kind": lay["kind"], "op": lay["op"],
                   "count": [m.per_layer[lay["index"]] for m in self.measurements]} for lay in a.layers]
        return {
            "board": self.build.firmware.board.name,
            "model": a.name,
            "unit": self.unit,
            "runs": [{"output": np.frombuffer(m.output, np.int8).tolist(), "total": m.total_count,
                      "stack_bytes": m.stack_bytes, "arena_touched_bytes": m.arena_touched_bytes}
                     for m in self.measurements],
            "layers": layers,
            "memory": self.build.memory,
        }


def _cortex_m(board: Board):  # noqa: ANN202 (module)
    if board.driver != "cortex_m":
        raise BoardError(f"board {board.name} uses target driver {board.driver!r}, which cannot build firmware",
                         hint="pick a Cortex-M board (edgenas boards)")
    from ..targets.cortex_m import driver

    return driver


def _record_measured(artifact: Artifact, board: Board, entry: dict) -> None:
    record = _read_record(artifact.root)
    record.setdefault("measured", {})[board.name] = entry
    _write_json(artifact.memory_json, record)


def build_artifact(root: str | Path, board: Board, *, opt: str = "-O2", stack_bytes: int | None = None) -> Build:
    """Build firmware for ``board`` from the artifact and record its ELF memory in memory.json.

    Measured: flash (the image span: code + read-only data + weights + .data initialisers),
    weights (the model's constant arrays, also inside flash), code (flash without weights),
    RAM (.data + .bss, arena included, + the stack reserve) and the linked arena.

    Raises:
        MemoryOverflowError: the image does not fit (names the region and the bytes over).
        ToolchainError: a build failure, or a linked arena that differs from the planned one.
    """
    from ..targets.cortex_m.linker import DEFAULT_STACK_BYTES

    artifact = load_artifact(root)
    driver = _cortex_m(board)
    stack = stack_bytes or DEFAULT_STACK_BYTES
    fw = driver.build(artifact.src_dir, board, artifact.root / "firmware" / board.name, opt=opt,
                      stack_bytes=stack, runtime_dir=artifact.runtime_dir)
    from ..targets.cortex_m import elf_memory

    elf = elf_memory(fw.elf)
    if elf["arena_bytes"] != artifact.arena_bytes:
        raise ToolchainError(
            f"linked en_arena is {elf['arena_bytes']} bytes but the planner predicted {artifact.arena_bytes}",
            hint="the generated sources and memory.json disagree: compile the model again")
    if elf["weights_bytes"] != artifact.weights_bytes:
        raise ToolchainError(
            f"linked weights are {elf['weights_bytes']} bytes but codegen counted {artifact.weights_bytes}",
            hint="the generated sources and memory.json disagree: compile the model again")
    memory = {
        "opt": opt,
        "flash_bytes": elf["flash_bytes"],
        "weights_bytes": elf["weights_bytes"],
        "code_bytes": elf["flash_bytes"] - elf["weights_bytes"],
        "text_bytes": elf["code_bytes"],
        "rodata_bytes": elf["rodata_bytes"],
        "ram_bytes": elf["ram_bytes"],
        "data_bytes": elf["data_bytes"],
        "bss_bytes": elf["bss_bytes"],
        "stack_reserve_bytes": elf["stack_reserve_bytes"],
        "arena_bytes": elf["arena_bytes"],
        "arena_equals_plan": True,
        "board_flash_bytes": board.flash.size_bytes,
        "board_ram_bytes": board.ram.size_bytes,
    }
    _record_measured(artifact, board, memory)
    return Build(artifact, fw, memory)


def run_artifact(
    root: str | Path,
    board: Board,
    inputs: np.ndarray,
    *,
    opt: str = "-O2",
    port: str | None = None,
    probe_uid: str | None = None,
    on_built: Callable[[Build], None] | None = None,
) -> RunReport:
    """Build, (flash a real board,) run every input on the device and record the measured stack
    and arena use.

    Emulated boards run in QEMU, which is stopped on return, error or Ctrl-C; real boards are
    flashed with pyOCD and reached on ``port`` (found by USB VID/PID when omitted).

    Args:
        inputs: int8 ``(N, *input_shape[1:])``.
    """
    artifact = load_artifact(root)
    x = np.asarray(inputs)
    if x.dtype != np.int8 or x.shape[1:] != artifact.input_shape[1:]:
        raise DataError(f"inputs must be int8 (N, {', '.join(map(str, artifact.input_shape[1:]))}), "
                        f"got {x.dtype} {x.shape}", hint="see --inputs/--input")
    build = build_artifact(root, board, opt=opt)
    if on_built is not None:
        on_built(build)
    driver = _cortex_m(board)
    if not board.emulated:
        driver.flash(build.firmware, probe_uid=probe_uid)
    measurements = tuple(driver.run(build.firmware, [xi.tobytes() for xi in x], port=port))
    # The per-layer median over the inputs travels with the memory figures, so a report can set
    # measured time beside planned memory without re-running the board.
    # arena_touched_bytes: the most of the arena any input really used (painted arena), beside
    # the planned and linked arena_bytes; an overrun never gets here (ArenaOverrunError).
    memory = {**build.memory, "stack_bytes": max(m.stack_bytes for m in measurements),
              "arena_touched_bytes": max(m.arena_touched_bytes or 0 for m in measurements),
              "count_unit": measurements[0].unit,
              "layer_counts": [int(np.median(c)) for c in zip(*(m.per_layer for m in measurements))]}
    _record_measured(artifact, board, memory)
    outputs = np.stack([np.frombuffer(m.output, np.int8) for m in measurements]).reshape(
        len(measurements), *artifact.output_shape[1:])
    return RunReport(Build(artifact, build.firmware, memory), outputs, measurements)


def flash_artifact(root: str | Path, board: Board, *, opt: str = "-O2", probe_uid: str | None = None) -> Build:
    """Build firmware for a real ``board`` and write it with pyOCD (nothing is run)."""
    if board.emulated:
        raise BoardError(f"board {board.name} is emulated: there is nothing to flash",
                         hint=f"use `edgenas run --board {board.name} DIR` to run it in QEMU")
    build = build_artifact(root, board, opt=opt)
    _cortex_m(board).flash(build.firmware, probe_uid=probe_uid)
    return build
