"""``edgenas extract``: from a budget to verified firmware in one call.

resolve board → load supernet, predictor, latency table → search → extract subnet → BN
recalibration → int8 quantization → compile → build firmware → run on the (emulated) board,
check its outputs bit-exact against the host build → write ``OUT/`` and a report. A phone or an
ARM64 Linux board (a device profile) gets its runner's artifact instead of firmware
(:mod:`.devices`).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..boards import Board, DeviceProfile
from ..cost import CostModel
from ..cost.latency_table import LatencyTable, TableError
from ..deploy.pipeline import compile_model, run_artifact
from ..distributed import Pool, SerialPool
from ..errors import DataError, DeviceError, EdgenasError, InfeasibleBudgetError, SpaceError
from ..space import DEFAULT_SPACE
from .devices import (
    Deployed,
    DeviceLink,
    check_device_table,
    deploy_to_device,
    device_table_path,
    is_device,
    open_device,
    require_device_table,
    target_name,
)

if TYPE_CHECKING:  # heavy modules, imported where used
    from ..data import DataSplits
    from ..estimate.registry import EstimatorContext
    from ..space import SpaceSpec
    from ..supernet import OFASupernet
    from .adapt import Adapted

Step = Callable[[str], None]
"""Called with a short description as each stage starts (for progress display)."""

PREDICTIONS_FILE = "int8_test_predictions.npy"
"""The host int8 build's predicted class per test image, in test-split order (int32 ``.npy``)."""


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, classes: int) -> list[list[int]]:
    """Counts ``[true][predicted]`` (``classes`` x ``classes``), as JSON-ready lists."""
    m = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(m, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return m.tolist()


def baseline_warnings(int8_acc: float, baselines: Sequence[Any]) -> list[str]:
    """One line per baseline that beats the extracted int8 model, with what to try."""
    return [
        f"the extracted int8 model ({100 * int8_acc:.2f} %) loses to the {b.name} ({100 * b.test_acc:.2f} %): "
        "train the supernet longer on this data (`edgenas train --init-from DIR`), collect more predictor "
        "samples, raise the budget, or fine-tune the subnet (`--finetune-epochs`)"
        for b in baselines if b.test_acc > int8_acc
    ]


def per_class_accuracy(predictions: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> dict[str, float | None]:
    """Accuracy per class name (None for a class with no test image): an average hides the one
    class a deployed model gets wrong."""
    return {
        name: float(np.mean(predictions[labels == c] == c)) if np.any(labels == c) else None
        for c, name in enumerate(classes)
    }


@dataclass(frozen=True)
class ExtractRequest:
    """Everything ``extract`` needs; ``None`` paths mean the bundled defaults.

    Attributes:
        limits: upper bounds by metric name (``sram_bytes``, ``flash_bytes``, ``latency``,
            ``macs``, ``params``) — see :mod:`edgenas.cost`.
        fitness: ``predictor`` (bundled accuracy predictor) or ``measured`` (validation accuracy
            of each candidate with inherited weights; slow but exact).
        verify_inputs: test images run on the board and compared with the host build.
        eval_images: test images for the float and int8 accuracy in the report (0 = all).
        finetune_epochs: train the extracted subnet this many more epochs before quantizing
            (distilled from the supernet's largest subnet; 0 keeps the inherited weights).
        data: the supernet's dataset (None: where its checkpoint recorded it); ``other_data``
            accepts data whose content differs from what the supernet was trained on.
        work_dir: where ``data`` that is not the bundled supernet's is adapted to first (cached
            per dataset content, resumable; :mod:`edgenas.extract.adapt`), unless a supernet is
            given or ``other_data`` asks to use the bundled one as it is. ``adapt_steps``
            optimizer steps over the four phases, ``adapt_samples`` subnets for the predictor.
        warm_start: an earlier ``search`` or ``extract`` output folder whose best archs seed the
            search (repaired to these limits when they break them).
        baseline_epochs: epochs of the small-CNN guard rail (a logistic regression always runs
            beside it; -1 skips both): the report warns when the subnet loses to either.
        serial, runner: an ``android`` board's adb serial and LiteRT ``benchmark_model`` on this
            PC; ``ssh``: a ``linux_arm64`` board's ``USER@HOST`` (see :mod:`.devices`).
        pool: where ``measured`` fitness evaluates candidates (None: here, serially); the caller
            opens and closes it.
    """

    board: Board | DeviceProfile
    limits: dict[str, float]
    out_dir: Path
    supernet_dir: Path | None = None
    predictor_dir: Path | None = None
    latency_table: Path | None = None
    fitness: str = "predictor"
    seed: int = 0
    generations: int | None = None
    verify_inputs: int = 4
    eval_images: int = 0
    finetune_epochs: int = 0
    opt: str = "-O2"
    port: str | None = None
    data: str | None = None
    other_data: bool = False
    baseline_epochs: int = 3
    work_dir: Path = Path("out/adapt")
    adapt_steps: int = 2100
    adapt_samples: int = 150
    warm_start: Path | None = None
    serial: str | None = None
    runner: Path | None = None
    ssh: str | None = None
    pool: Pool | None = None


@dataclass
class ExtractReport:
    """What ``extract`` chose and measured; ``to_dict`` is ``report.json``."""

    request: dict[str, Any]
    arch: str
    search: dict[str, Any]
    accuracy: dict[str, Any]
    predicted: dict[str, Any]
    measured: dict[str, Any]
    verified: bool
    timings_s: dict[str, float]
    files: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)
    explain: dict[str, Any] = field(default_factory=dict)
    verification: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "request": self.request,
            "arch": self.arch,
            "search": self.search,
            "accuracy": self.accuracy,
            "predicted": self.predicted,
            "measured": self.measured,
            "verified_bit_exact": self.verified,
            "verification": self.verification,
            "timings_s": self.timings_s,
            "files": self.files,
            "versions": self.versions,
            "explain": self.explain,
        }


def default_latency_table(board: Board | DeviceProfile, space: str = DEFAULT_SPACE) -> Path | None:
    """The bundled table of ``space`` measured on ``board``; else one measured on another board of
    the same core whose toolchain fingerprint is the same but for the board's name (an emulated
    clone of a profiled board: same core, compiler, flags, runtime, clock and emulator, so the same
    counts). A device profile's is the one `edgenas profile` wrote (:func:`.devices.device_table_path`)."""
    from ..profile import default_table_path

    if is_device(board):
        return device_table_path(board, space)
    path = default_table_path(board.core, board.name, space)
    if path.is_file():
        return path
    return shared_latency_table(board, sorted(path.parent.glob("*.json")), space)


def shared_latency_table(board: Board, candidates: Sequence[Path], space: str = DEFAULT_SPACE) -> Path | None:
    """The first of ``candidates`` of ``space`` measured for ``board``'s core with its fingerprint
    up to the board name."""
    from ..profile import get_profiler

    def without_board(fp: dict) -> dict:
        return {k: v for k, v in fp.items() if k != "board"}

    wanted = None
    for path in candidates:
        try:
            header = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if header.get("target") != board.core or header.get("unit") == "ms":
            continue
        if (header.get("space") or {}).get("name") != space:
            continue
        if wanted is None:
            try:
                wanted = without_board(get_profiler(board.core, board=board.name).fingerprint())
            except (TableError, DeviceError, OSError):
                return None
        if without_board(header.get("fingerprint", {})) == wanted:
            return path
    return None


def load_latency_table(board: Board, spec: SpaceSpec, given: Path | None = None, *,
                       error: type[EdgenasError] = SpaceError) -> tuple[LatencyTable | None, Path | None]:
    """The latency table a search of ``spec`` on ``board`` reads, and its path: ``given``, else the
    bundled one for the board and space. A table of the space measured for another number of
    input channels or classes answers with its stem and head entries rescaled
    (:mod:`edgenas.cost.table_reuse`). ``(None, None)`` when there is none, or when the bundled
    one was measured for another space (the search then has no latency model); ``extract`` and
    ``search`` share this one check.

    Raises:
        SpaceError (or ``error``): ``given`` was measured for another space than ``spec``.
        TableError: the table cannot be read.
    """
    from ..cost.table_reuse import table_for_spec

    path = given or default_latency_table(board, spec.name)
    table = LatencyTable.load(path) if path else None
    if table is None:
        return None, None
    reused = table_for_spec(table, spec)
    if reused is not None:
        return reused, path
    if given:
        raise error(f"latency table {path} was measured for space {table.spec.name!r}, the supernet is {spec.name!r}",
                    hint="build a table for this supernet with `edgenas profile`")
    return None, None


MEASURED_GENERATIONS = 30
"""Default generations when each new arch is scored by measuring it (seconds each)."""


def search_generations(request: ExtractRequest) -> int:
    """``request.generations``, else the default of its fitness: PREDICTOR_GENERATIONS when the
    predictor scores (cheap, and fewer leave the pick short of converged), MEASURED_GENERATIONS
    when every arch is measured."""
    from ..search.run import PREDICTOR_GENERATIONS

    if request.generations is not None:
        return request.generations
    return PREDICTOR_GENERATIONS if request.fitness == "predictor" else MEASURED_GENERATIONS


def _versions() -> dict[str, str]:
    import torch

    return {"edgenas": __version__, "torch": torch.__version__, "numpy": np.__version__}


@dataclass(frozen=True)
class _Chosen:
    """The supernet to search (None: the default bundled one), its adaptation record when one had
    to be made, and the splits already loaded while choosing (None when none were)."""

    supernet_dir: Path | None
    adapted: Any = None
    data: Any = None


def _choose_supernet(request: ExtractRequest, say: Step) -> _Chosen:
    """The given supernet; else the bundled one trained on ``request.data`` (matched by name,
    then by content); else one adapted to the data from the bundled supernet of its kind (images
    or keyword audio). The default bundled one when no data is named, or with ``other_data``."""
    from ..data import load_dataset
    from ..supernet.bundled import bundle_for, bundle_trained_on
    from .adapt import AdaptPlan, adapt

    if request.supernet_dir is not None:
        return _Chosen(request.supernet_dir)
    if request.data is None or request.other_data:
        return _Chosen(None)
    named = bundle_trained_on(request.data)  # a bundled dataset's own name: nothing to load or adapt
    if named is not None:
        return _Chosen(named)
    data = load_dataset(request.data)
    source, same = bundle_for(data)
    if same:
        return _Chosen(source, data=data)
    adapted = adapt(data, request.work_dir, AdaptPlan().scaled(request.adapt_steps, request.adapt_samples), say=say,
                    source=source)
    return _Chosen(adapted.supernet_dir, adapted, adapted.data)


def extract(request: ExtractRequest, step: Step | None = None) -> ExtractReport:
    """Run the whole path for ``request`` and write ``request.out_dir``, on a fixed number of torch
    threads (``DETERMINISTIC_THREADS``) so the same seed gives the same firmware on any machine.

    Raises:
        InfeasibleBudgetError: no subnet of the space meets the budget (before any search).
        DeviceError: the board's outputs differ from the host build (never reported as good).
    """
    from ..torch_threads import DETERMINISTIC_THREADS, torch_threads

    with torch_threads(DETERMINISTIC_THREADS):
        return _extract(request, step)


BUDGET_RETRIES = 2
"""Searches again, each under a limit lowered by what the linked image exceeded, before giving up."""

_LINKED = {"flash_bytes": "flash_bytes", "sram_bytes": "ram_bytes"}
"""Memory limit → the linked ELF's figure it bounds."""


def linked_excess(memory: dict[str, int], limits: dict[str, float]) -> dict[str, int]:
    """Bytes by which the linked firmware (``memory`` from its ELF) exceeds each memory limit;
    only the limits it exceeds."""
    return {k: int(memory[m] - limits[k]) for k, m in _LINKED.items()
            if k in limits and m in memory and memory[m] > limits[k]}


class _Laps:
    """Wall seconds of each stage, in the order they ran (the report's ``timings_s``)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, name: str) -> None:
        """Close stage ``name`` (a stage run again, after a budget retry, adds up)."""
        now = time.perf_counter()
        self.timings[name] = round(self.timings.get(name, 0.0) + now - self._clock, 3)
        self._clock = now


@dataclass
class _Inputs:
    """What the search and the deployment read: the supernet (adapted to the data when it had to
    be), its data splits, the latency table and the cost and estimator built on them."""

    supernet_dir: Path
    net: OFASupernet
    data: DataSplits
    table_path: Path | None
    cost: CostModel
    context: EstimatorContext
    adapted: Adapted | None
    link: DeviceLink | None = None


def _open_link(request: ExtractRequest, say: Step) -> DeviceLink | None:
    """A device profile's link and table path, settled before any work (None for a Cortex-M board)."""
    if not is_device(request.board):
        return None
    path = require_device_table(request.board, request.latency_table)
    check_device_table(request.board, LatencyTable.load(path), path)
    say(f"reaching {request.board.name}")
    link = open_device(request.board, serial=request.serial, runner=request.runner, ssh=request.ssh)
    if link.skipped:
        say(f"on-device verification will be skipped: {link.skipped}")
    return link


def _load_table(request: ExtractRequest, spec: SpaceSpec) -> tuple[LatencyTable | None, Path | None]:
    """The search's latency table (a device's must exist: :func:`_open_link` checked it)."""
    given = require_device_table(request.board, request.latency_table) if is_device(request.board) else None
    return load_latency_table(request.board, spec, given or request.latency_table)


def _load_inputs(request: ExtractRequest, say: Step, lap: _Laps) -> _Inputs:
    from ..data import load_recorded_dataset
    from ..estimate.registry import EstimatorContext
    from ..supernet import load_supernet
    from ..supernet.bundled import bundled_supernet_dir

    predictor_dir = request.predictor_dir
    link = _open_link(request, say)
    chosen = _choose_supernet(request, say)
    adapted = chosen.adapted
    if adapted is not None:
        predictor_dir = adapted.predictor_dir
        lap("adapt")
    say("loading supernet, predictor and latency table")
    supernet_dir = chosen.supernet_dir or bundled_supernet_dir()
    net, meta = load_supernet(supernet_dir)
    spec = net.spec
    # Splits loaded while choosing are the supernet's own when their hash is the recorded one (an
    # adapted supernet's, a bundle matched by content): no second load and hash (keyword audio's
    # features take a minute).
    data = chosen.data if chosen.data is not None and chosen.data.fingerprint == meta.get("data_fingerprint") \
        else load_recorded_dataset(meta, request.data, allow_other=request.other_data)
    table, table_path = _load_table(request, spec)
    context = EstimatorContext(spec, seed=int(meta.get("seed", 0)), supernet_dir=supernet_dir,
                               predictor_dir=predictor_dir, pool=request.pool or SerialPool(),
                               ).preload(supernet=(net, meta), data=data)
    lap("load")
    # A device's memory has no firmware overhead to add: its cost model counts the model alone.
    board = None if link is not None else request.board
    return _Inputs(supernet_dir, net, data, table_path, CostModel(spec, board, table), context, adapted, link)


def _float_subnet(request: ExtractRequest, inputs: _Inputs, arch: Any, test: Any, say: Step,
                  lap: _Laps) -> tuple[dict[str, Any], float]:
    """Extract ``arch`` (BN recalibrated; fine-tuned when asked), save it under ``subnet/``;
    return its accuracy record so far and its float test accuracy."""
    from ..supernet import accuracy, finetune_subnet, predict_classes, prepare_subnet, save_subnet

    say(f"extracting {arch} and recalibrating batch norm")
    net, data = inputs.net, inputs.data
    subnet = prepare_subnet(net, arch, data)
    accuracies: dict[str, Any] = {"test_images": len(test)}
    if request.finetune_epochs > 0:
        accuracies["float_inherited"] = accuracy(subnet, test, arch.resolution)
        epochs = request.finetune_epochs
        say(f"fine-tuning for {epochs} epochs (distilled from the largest subnet)")

        def on_step(epoch: int, done: int, steps: int) -> None:
            if done < steps and done % max(1, steps // 10) == 0:  # about every tenth of an epoch
                say(f"fine-tune epoch {epoch + 1}/{epochs}: step {done}/{steps}")

        finetune_subnet(net, subnet, arch, data, epochs=epochs, seed=request.seed, on_step=on_step,
                        on_epoch=lambda e, loss: say(f"fine-tune epoch {e + 1}/{epochs}: loss {loss:.3f}"))
        lap("finetune")
    float_predictions = predict_classes(subnet, test, arch.resolution).numpy()
    accuracies["float_per_class"] = per_class_accuracy(float_predictions, test.y, data.classes)
    save_subnet(subnet, Path(request.out_dir) / "subnet",
                {"supernet": str(inputs.supernet_dir), "data": data.source, "seed": data.split_seed})
    lap("extract")
    return accuracies, float(np.mean(float_predictions == test.y))


def _verify_on_board(request: ExtractRequest, host: Any, inputs: np.ndarray) -> Any:
    """Build the firmware, run ``inputs`` on the board and demand the host build's outputs."""
    run = run_artifact(Path(request.out_dir), request.board, inputs, opt=request.opt, port=request.port)
    expected = host.run(inputs)
    device = run.outputs.reshape(len(inputs), -1)
    if not np.array_equal(device, expected):
        raise DeviceError(
            f"{request.board.name} outputs differ from the host build on {int((device != expected).any(1).sum())} "
            f"of {len(inputs)} inputs",
            hint="this is a compiler or runtime bug: keep OUT/ and report it",
        )
    return run


def _deploy_cortex_m(request: ExtractRequest, host: Any, inputs: np.ndarray) -> Deployed:
    """Firmware built, run on the board and checked bit-exact; ``firmware.elf/.bin`` copied to ``OUT/``."""
    out = Path(request.out_dir)
    run = _verify_on_board(request, host, inputs)
    fw_dir = out / "firmware" / request.board.name
    for suffix in ("elf", "bin"):
        shutil.copyfile(fw_dir / f"firmware.{suffix}", out / f"firmware.{suffix}")
    counts = [m.total_count for m in run.measurements]
    measured = {**run.build.memory, "latency_unit": run.unit, "latency_counts": counts,
                "latency_median": float(np.median(counts))}
    return Deployed(measured, {"firmware_elf": "firmware.elf", "firmware_bin": "firmware.bin", "tflite": "model.tflite"},
                    {"status": "bit-exact", "detail": "Outputs on the board equal the host build bit for bit."},
                    memory=run.build.memory)


def keyword_root(data: DataSplits) -> Path | None:
    """The keyword folder ``data`` was loaded from (log-mel images of one-second clips), else None:
    such data gets firmware that takes raw audio (:mod:`edgenas.deploy.audio_model`)."""
    from ..data.kws.cache import is_keyword_folder

    if not data.source or data.test.x.shape[1:] != (49, 40, 1):
        return None
    root = Path(data.source)
    return root if is_keyword_folder(root) else None


def net_inputs_for(data: DataSplits, images: np.ndarray, resolution: int) -> np.ndarray:
    """The int8 inputs the deployed model sees for uint8 ``images``: for keyword data the exact
    integer resize the firmware runs after its front end (:mod:`edgenas.audio.glue`), else the
    float resize and rounding of :func:`edgenas.deploy.quantize.quantize_images`."""
    from ..audio.glue import net_inputs
    from ..deploy.quantize import quantize_images

    return net_inputs(images, resolution) if keyword_root(data) is not None else quantize_images(images, resolution)


def _deploy_keyword_firmware(request: ExtractRequest, root: Path, test_images: np.ndarray,
                             logits: np.ndarray) -> Deployed:
    """Firmware that listens to raw int16 audio hop by hop (C front end, integer resize, net).

    Checked twice, bit for bit, with the test clips streamed back to back: the firmware's C built
    for this machine, at the end of every scored test clip, gives ``logits`` (the Python front end,
    the same resize and the host build of the net, which the int8 accuracy comes from); the board,
    on the first ``verify_inputs`` clips, gives the same."""
    from ..audio import HOP_SAMPLES, SAMPLE_RATE_HZ, log_mel_u8
    from ..data.kws.features import test_clips
    from ..deploy.audio_model import AUDIO_SRC, STRIDE_HOPS, build_audio_host, run_audio_firmware, run_audio_host

    out = Path(request.out_dir)
    n = len(test_images)
    count = max(1, min(request.verify_inputs, n))
    clips = test_clips(root, range(n))
    if not np.array_equal(log_mel_u8(clips.audio[:count])[..., None], test_images[:count]):
        raise DataError(f"the test clips under {root} no longer give the test images the model was scored on",
                        hint="the folder changed during the run: run extract again")
    expected = logits.reshape(n, -1)
    run = run_audio_firmware(out, request.board, clips.audio[:count], opt=request.opt, port=request.port)
    host_audio = run_audio_host(build_audio_host(out / AUDIO_SRC), clips.audio)
    wrong = int((host_audio != expected).any(1).sum())
    if wrong:
        raise DeviceError(f"the keyword firmware's C built for this machine differs from the Python front end, resize "
                          f"and net on {wrong} of {n} test clips",
                          hint="the C front end or resize no longer matches edgenas.audio: keep OUT/ and report it")
    device = run.outputs.reshape(count, -1)
    if not np.array_equal(device, expected[:count]):
        raise DeviceError(
            f"{request.board.name} outputs from raw audio differ from the host build on "
            f"{int((device != expected[:count]).any(1).sum())} of {count} test clips",
            hint="this is a front-end, compiler or runtime bug: keep OUT/ and report it")
    for suffix in ("elf", "bin"):
        shutil.copyfile(getattr(run.firmware, suffix), out / f"firmware.{suffix}")
    hop_ms = 1000 * HOP_SAMPLES / SAMPLE_RATE_HZ
    measured = {**run.memory, "input": f"int16 audio streamed {HOP_SAMPLES} samples ({hop_ms:g} ms) a call, the net "
                                       f"running on the last second every {STRIDE_HOPS} calls",
                "latency_unit": run.unit, "latency_counts": list(run.net_counts),
                "latency_median": float(np.median(run.net_counts)),
                "layer_counts": list(run.layer_counts),
                "frontend": {"clips": list(clips.files[:count]), "frontend_counts": list(run.frontend_counts),
                             "frontend_median": float(np.median(run.frontend_counts)),
                             "resize_counts": list(run.resize_counts),
                             "resize_median": float(np.median(run.resize_counts)),
                             "clip_counts": list(run.total_counts),
                             "clip_median": float(np.median(run.total_counts)),
                             "duty_counts": list(run.duty_counts),
                             "duty_median": float(np.median(run.duty_counts)), "unit": run.unit}}
    return Deployed(measured, {"firmware_elf": "firmware.elf", "firmware_bin": "firmware.bin", "tflite": "model.tflite",
                               "audio_sources": f"{AUDIO_SRC}/"},
                    {"status": "bit-exact",
                     "detail": f"From raw audio streamed hop by hop (front end, resize, net), the board's outputs "
                               f"at the end of {count} test clips fed back to back equal the host build bit for bit, "
                               f"and the same C built for this machine equals the Python front end, resize and net "
                               f"on all {n} scored test clips."},
                    memory=run.memory)


def _predicted(metrics: dict[str, Any], audio_extra: dict[str, int]) -> dict[str, Any]:
    """The report's predictions: the cost model's for the net, plus for firmware that takes raw
    audio the bytes its audio path adds (``sram_bytes`` then predicts the whole linked RAM, as
    measured; ``net_sram_bytes`` keeps the net's own)."""
    if not audio_extra:
        return metrics
    return {**metrics, "net_sram_bytes": metrics["sram_bytes"], "audio_ram_bytes": audio_extra["sram_bytes"],
            "sram_bytes": metrics["sram_bytes"] + audio_extra["sram_bytes"]}


def _deploy(request: ExtractRequest, link: DeviceLink | None, host: Any, inputs: np.ndarray, say: Step) -> Deployed:
    """Run the compiled model on its target: firmware on a Cortex-M board, the runner's artifact on a device."""
    if link is None:
        say(f"building firmware and running it on {request.board.name}")
        return _deploy_cortex_m(request, host, inputs)
    say(f"on-device verification skipped: {link.skipped}" if link.skipped
        else f"building the runner's artifact and running it on {link.describe()}")
    return deploy_to_device(link, Path(request.out_dir), host, inputs)


def _extract(request: ExtractRequest, step: Step | None) -> ExtractReport:
    """:func:`extract`'s work, stage by stage (each stage's wall time goes into the report)."""
    from ..data import ImageSet
    from ..deploy import build_host
    from ..deploy.audio_model import audio_ram_extra_bytes
    from ..estimate.baselines import run_baselines
    from ..estimate.registry import get_estimator
    from ..report import ReportContext, write_html_report
    from ..report import explain as explain_choice
    from ..report.predicted import shown_accuracy
    from ..search import Constraints, run_search
    from ..search.warm_start import load_warm_start
    from .report import write_report

    say = step or (lambda _msg: None)
    out = Path(request.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lap = _Laps()
    inputs = _load_inputs(request, say, lap)
    spec, data, cost, context = inputs.net.spec, inputs.data, inputs.cost, inputs.context

    fitness = get_estimator("inherited" if request.fitness == "measured" else "predictor", context)
    seeds = load_warm_start(request.warm_start, spec) if request.warm_start is not None else ()
    n_eval = len(data.test) if request.eval_images <= 0 else min(request.eval_images, len(data.test))
    test = ImageSet(data.test.x[:n_eval], data.test.y[:n_eval])
    limits = dict(request.limits)
    # Keyword data on a Cortex-M board: the firmware takes raw audio a hop at a time, so its hop
    # buffer and stream state (previous hop, log-mel window) take RAM the cost model of the net
    # alone does not count (the per-call buffers borrow the net's arena; a net whose arena is too
    # small for them is caught by the linked-RAM check).
    audio_root = keyword_root(data) if inputs.link is None else None
    if audio_root is not None and "sram_bytes" in limits:
        limits["sram_bytes"] -= audio_ram_extra_bytes()
    for retry in range(BUDGET_RETRIES + 1):
        say("searching")
        result = run_search(cost, fitness, Constraints.of(limits), generations=search_generations(request),
                            seed=request.seed, out_dir=out / "search", warm_start=seeds,
                            polish_end=request.fitness != "measured")
        arch = result.arch
        lap("search")
        accuracies, float_acc = _float_subnet(request, inputs, arch, test, say, lap)

        say("quantizing to int8 and compiling")
        artifact = compile_model(out / "subnet", out)
        lap("compile")

        say("measuring int8 accuracy on the host build")
        host = build_host(artifact.src_dir)
        audio_extra = {"sram_bytes": audio_ram_extra_bytes(result.metrics.to_dict()["arena_bytes"])
                       } if audio_root is not None else {}
        x_test = net_inputs_for(data, test.x, arch.resolution)
        logits = host.run(x_test)
        predictions = logits.argmax(1)
        lap("int8_eval")

        if audio_root is not None:
            say(f"building firmware that takes raw audio and running it on {request.board.name}")
            deployed = _deploy_keyword_firmware(request, audio_root, test.x, logits)
        else:
            deployed = _deploy(request, inputs.link, host, x_test[: max(1, request.verify_inputs)], say)
        lap("device")
        memory = deployed.memory
        excess = linked_excess(memory, request.limits)
        if not excess:
            break
        if retry == BUDGET_RETRIES:
            raise InfeasibleBudgetError(
                f"the linked firmware still exceeds the budget after {retry} tighter searches: "
                + ", ".join(f"{k} by {v:,} bytes" for k, v in excess.items()),
                hint="recalibrate the firmware overhead (python -m edgenas.cost.calibrate) or raise the budget")
        # The cost model underestimated this image (e.g. a stale overhead calibration): never hand
        # over firmware that breaks the budget. Search again with each broken limit lowered by the
        # model's error on this image, so a subnet it errs on alike fits.
        predicted = result.metrics.to_dict()
        predicted = {k: v + audio_extra.get(k, 0) for k, v in predicted.items() if v is not None}
        for k in excess:
            limits[k] -= memory[_LINKED[k]] - predicted[k]
        say("the linked firmware exceeds " + ", ".join(f"{k} by {v:,} bytes" for k, v in excess.items())
            + ": searching again under a tighter budget")

    int8_acc = float(np.mean(predictions == test.y))
    # Saved so a per-image comparison with another model (paired test) needs no second host run.
    np.save(out / PREDICTIONS_FILE, predictions.astype(np.int32), allow_pickle=False)
    accuracies["int8_per_class"] = per_class_accuracy(predictions, test.y, data.classes)
    accuracies["classes"] = list(data.classes)
    accuracies["int8_confusion"] = confusion_matrix(predictions, test.y, len(data.classes))
    if keyword_root(data) is not None:
        accuracies["int8_inputs"] = ("log-mel image resized in integers (edgenas.audio.glue), as the firmware "
                                     "does after its front end")

    if request.baseline_epochs >= 0:
        say("training the guard-rail baselines (logistic regression, small CNN) on the same split")
        baselines = run_baselines(data, cnn_epochs=request.baseline_epochs, seed=request.seed)
        accuracies["baselines"] = [b.to_dict() for b in baselines]
        accuracies["warnings"] = baseline_warnings(int8_acc, baselines)
        lap("baselines")

    (out / "arch.json").write_text(json.dumps({"arch": str(arch), **arch.to_dict()}, indent=2) + "\n")
    report = ExtractReport(
        request={
            "board": request.board.name,
            "core": request.board.core,
            "target": target_name(request.board),
            "limits": request.limits,
            "fitness": request.fitness,
            "finetune_epochs": request.finetune_epochs,
            "seed": request.seed,
            "supernet": str(inputs.supernet_dir),
            "latency_table": str(inputs.table_path) if inputs.table_path else None,
            "predictor": str(context.predictor_path()),
            "adapted": inputs.adapted.record if inputs.adapted is not None else None,
        },
        arch=str(arch),
        search={
            # Shown to people clipped to [0, 1]; the search ranked by the raw score.
            "predicted_accuracy": shown_accuracy(result.fitness) if request.fitness == "predictor" else None,
            "predictor_score": result.fitness if request.fitness == "predictor" else None,
            "measured_val_accuracy": result.fitness if request.fitness == "measured" else None,
            "evaluations": result.evaluations,
            "generations": result.generations,
            "wall_s": round(result.wall_s, 3),
            "minima": result.minima,
            "budget_retries": retry,
            "searched_limits": limits,
        },
        accuracy={**accuracies, "float": float_acc, "int8": int8_acc},
        predicted=_predicted(result.metrics.to_dict(), audio_extra),
        measured=deployed.measured,
        verified=deployed.verified,
        verification=deployed.verification,
        timings_s=lap.timings,
        files={
            **deployed.files,
            "sources": "src/",
            "onnx": "model.onnx",
            "memory": "memory.json",
            "int8_test_predictions": PREDICTIONS_FILE,
            "subnet": "subnet/",
            "search": "search/",
        },
        versions=_versions(),
    )
    say("explaining the choice and writing the report")
    predictor = context.predictor()
    report.explain = explain_choice(spec, arch, predictor, cost, request.limits)
    report.files["report_html"] = "report.html"
    write_report(report, out)
    write_html_report(out, ReportContext(spec, cost, predictor, dict(request.limits)))
    lap("report")
    return report
