"""Progressive shrinking (Once-for-All): train the largest net, then make kernel, depth, expand
ratio and width elastic in turn, distilling from the largest net.

Resumable: after every epoch the weights, optimizer buffers and position are committed as one unit
(``manifest.py``), so a kill at any moment leaves the last epoch's checkpoint whole; ``train_supernet``
started on the same directory continues where it stopped. All randomness is derived from
``(seed, phase, epoch)``, so a resumed run draws exactly what an uninterrupted one would have,
and the same seed gives the same checkpoint bytes.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load as load_tensors

from .. import __version__
from ..data import DataSplits, data_record
from ..data.batches import draw_affine, warp
from ..errors import CheckpointError, UsageError
from ..space import Arch, BlockChoice, SpaceSpec, largest_arch, smallest_arch
from .allocator import keep_freed_memory
from .device import memory_format_for
from .checkpoint import (json_bytes, load_meta, load_supernet, load_weights_of, momentum_buffers, restore_momentum,
                         supernet_files, tensor_bytes, weights_bytes,
                         trained_epochs, weights_sha256)
from .manifest import META, RESUME_JSON, RESUME_TENSORS, commit, publish, read_role, role_path
from .evaluate import accuracy
from .data_parallel import SINGLE, GradientSum, Ranks, parameters_digest
from .prepare import prepare_subnet
from .sharding import Shard, check_divisible, local_batches, steps_in_epoch
from .subnet_training import cosine_lr, kd_loss
from .importance import sort_hidden_channels
from .ofa import OFASupernet
from .teacher import TEACHER_WEIGHTS, Teacher, load_teacher_net
from .transfer import transfer_record, transfer_weights

PHASE_KINDS = ("full", "kernel", "depth", "expand")


@dataclass(frozen=True)
class Phase:
    """One progressive-shrinking phase.

    Attributes:
        kind: which choices are elastic — ``full`` (only resolution), ``kernel`` (+ kernel),
            ``depth`` (+ depth), ``expand`` (everything, width included).
        epochs: passes over the training split.
        lr: peak learning rate (cosine decay to 0 within the phase).
        subnets_per_step: subnets sampled per batch, gradients accumulated (OFA uses 2-4).
        sandwich: in elastic phases with 3+ subnets per step, the first two are the largest and
            the smallest subnet of the phase (BigNAS's sandwich rule), so both ends of the space
            get a gradient every step instead of rarely being drawn. The kernel phase's smallest
            is the largest net with the smallest kernel in every block.
        kernel_end: in the depth and expand phases with 4+ subnets per step, the third draw uses
            the smallest kernel in every block: inheritance lost most on uniformly small kernels
            (``bench/kernel_sharing.py``), and random draws rarely make every kernel small.
        kernel_end_top: that draw is the *largest* subnet with the smallest kernel in every block
            instead of a random one. Hand-designed networks (all 3x3, expand 6, full depth) sit
            near it, and the subnets trained every step (the sandwich's smallest) keep the
            smallest gaps to from-scratch training while full-depth 3x3 ones trail by 1.2-1.3
            points (``bench/supernet_quality.py``). With 5+ subnets per step the fourth draw is
            the random all-smallest-kernel subnet ``kernel_end`` alone would give, so narrow
            all-3x3 subnets keep the gradient the top draw took from them.
        corner_draws: in the expand phase under the sandwich, two more draws a step: the largest
            blocks at the smallest depth (random kernels) and the smallest subnet at the step's
            resolution (none when that is the smallest resolution, which the sandwich's smallest
            already has). The quality bench's largest inherited gaps sit at those corners, which
            the other draws seldom reach: wide nets with two blocks a stage (r40 w1, 1.39 points
            against 0.24 for four blocks) and narrow nets at high resolution (r48 w0.5, 1.94),
            since the sandwich's smallest always runs at the smallest resolution.
        resolution_weights: relative odds of each of the space's resolutions (in its order) when
            a step draws its resolution; empty draws them uniformly. Shared weights serve small
            inputs worst (``bench/supernet_quality.py``: the largest gaps to from-scratch
            training are at 24 px), so a run may spend more steps there.
        width_weights: relative odds of each of the space's widths (in its order) for the
            expand phase's random draws; empty draws them uniformly. Under the sandwich the
            largest width is trained by two fixed draws a step and the smallest only at the
            smallest resolution, so narrow subnets at high resolution get about a quarter of the
            draws wide ones get: their gaps to from-scratch training are the largest.
    """

    kind: str
    epochs: int
    lr: float
    subnets_per_step: int = 1
    sandwich: bool = False
    kernel_end: bool = False
    resolution_weights: tuple[float, ...] = ()
    kernel_end_top: bool = False
    corner_draws: bool = False
    width_weights: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("resolution_weights", "width_weights"):
            weights = tuple(float(w) for w in getattr(self, name))  # JSON gives a list
            if weights and (not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0):
                raise UsageError(f"{name.replace('_', ' ')} must be non-negative numbers, not all 0, got {list(weights)}")
            object.__setattr__(self, name, weights)


KD_SOURCES = ("teacher", "top")

PHASE_LR = {"full": 0.1, "kernel": 0.03, "depth": 0.02, "expand": 0.02}
"""Peak learning rate per phase: later phases fine-tune shared weights, so they start lower."""


def default_phases(epochs: tuple[int, int, int, int], subnets: int = 1, sandwich: bool = False,
                   lr_scale: float = 1.0, resolution_weights: tuple[float, ...] = (),
                   kernel_end_top: bool = False, corner_draws: bool = False,
                   width_weights: tuple[float, ...] = ()) -> tuple[Phase, ...]:
    """The four progressive-shrinking phases with ``(full, kernel, depth, expand)`` epochs (0 skips one).

    ``lr_scale`` multiplies every peak learning rate: a larger batch takes a larger step.
    ``resolution_weights`` applies to every phase (the resolution is elastic in all);
    ``kernel_end_top`` to the phases with a kernel-end draw, ``corner_draws`` to the expand
    phase under the sandwich, ``width_weights`` to the expand phase (``Phase``)."""
    if lr_scale <= 0:
        raise UsageError(f"learning-rate scale must be positive, got {lr_scale}")
    elastic = ("kernel", "depth", "expand")
    return tuple(
        Phase(kind, n, PHASE_LR[kind] * lr_scale, subnets if kind in elastic else 1, sandwich and kind in elastic,
              sandwich and kind in ("depth", "expand"), tuple(resolution_weights),
              kernel_end_top and sandwich and kind in ("depth", "expand"),
              corner_draws and sandwich and kind == "expand", tuple(width_weights) if kind == "expand" else ())
        for kind, n in zip(PHASE_KINDS, epochs)
        if n > 0
    )


def check_choice_weights(spec: SpaceSpec, resolution_weights: tuple[float, ...] = (),
                         width_weights: tuple[float, ...] = ()) -> None:
    """A phase's weights must give one number per resolution (width) of ``spec``, or none."""
    for weights, kind, choices in ((resolution_weights, "resolution", spec.resolutions), (width_weights, "width", spec.widths)):
        if weights and len(weights) != len(choices):
            raise UsageError(f"{len(weights)} {kind} weights for the {len(choices)} {kind}s "
                             f"{list(choices)} of space {spec.name!r}")


@dataclass(frozen=True)
class TrainConfig:
    phases: tuple[Phase, ...] = (
        Phase("full", 4, 0.1),
        Phase("kernel", 1, 0.03),
        Phase("depth", 1, 0.02),
        Phase("expand", 1, 0.02),
    )
    batch_size: int = 128
    momentum: float = 0.9
    weight_decay: float = 4e-5
    label_smoothing: float = 0.1
    kd_ratio: float = 1.0
    kd_from: str = "teacher"
    """Soft targets of the elastic phases: ``"teacher"``, the frozen full net (the first phase's,
    or ``--teacher``'s); ``"top"``, the step's largest subnet in place (BigNAS), so the targets
    improve as the supernet does instead of staying those of a net it has outgrown."""
    seed: int = 0
    threads: int = 0  # 0: torch default
    max_steps_per_epoch: int = 0  # 0: the whole split (tests cap it)
    eval_images: int = 2000

    def __post_init__(self) -> None:
        if self.kd_from not in KD_SOURCES:
            raise UsageError(f"distillation source must be one of {', '.join(KD_SOURCES)}, got {self.kd_from!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        data = dict(data)
        data["phases"] = tuple(Phase(**p) for p in data["phases"])
        return cls(**data)


def same_config(stored: dict | None, config: TrainConfig) -> bool:
    """Whether a checkpoint's recorded config is ``config``. The record is read back through
    :class:`TrainConfig` first, so a field added since it was written (e.g. ``resolution_weights``)
    takes its default instead of making an old run look like one with other settings."""
    try:
        stored_config = TrainConfig.from_dict(stored) if isinstance(stored, dict) else None
    except (KeyError, TypeError, ValueError, UsageError):
        return False
    return stored_config is not None and stored_config.to_dict() == config.to_dict()


@dataclass
class Position:
    """Where training stands: the next phase and epoch to run."""

    phase: int = 0
    epoch: int = 0
    log: list[dict] = field(default_factory=list)


StepCallback = Callable[[str, int, int, float], None]
"""``(phase_kind, step, steps_in_epoch, loss)`` after every optimisation step."""


def sample_for_phase(spec: SpaceSpec, kind: str, rng: np.random.Generator,
                     resolution_weights: tuple[float, ...] = (), width_weights: tuple[float, ...] = ()) -> Arch:
    """Sample a subnet whose choices elastic in phase ``kind`` are random and the rest maximal.

    The resolution is elastic in every phase, as in Once-for-All; ``resolution_weights`` (one per
    resolution of ``spec``) skews its draw, ``width_weights`` the expand phase's width; empty
    weights draw uniformly (the same draws as a run recorded before the weights existed).
    """
    if kind not in PHASE_KINDS:
        raise ValueError(f"unknown phase {kind!r}")
    check_choice_weights(spec, resolution_weights, width_weights)

    def pick(values, weights=()):
        if not weights:
            return values[int(rng.integers(len(values)))]
        odds = np.asarray(weights, dtype=np.float64)
        return values[int(rng.choice(len(odds), p=odds / odds.sum()))]

    resolution = pick(spec.resolutions, resolution_weights)
    if kind == "full":
        top = largest_arch(spec)
        return Arch(resolution, top.width, top.stages)
    stages = []
    for sspec in spec.stages:
        depth = pick(sspec.depths) if kind in ("depth", "expand") else max(sspec.depths)
        stages.append(
            tuple(
                BlockChoice(pick(spec.kernels), pick(spec.expands) if kind == "expand" else max(spec.expands))
                for _ in range(depth)
            )
        )
    width = pick(spec.widths, width_weights) if kind == "expand" else max(spec.widths)
    return Arch(resolution, width, tuple(stages))


def subnets_for_step(spec: SpaceSpec, phase: Phase, rng: np.random.Generator) -> list[Arch]:
    """The subnets one optimisation step trains (random draws, plus both ends under the sandwich rule).

    They share one resolution per step, as Once-for-All draws one per batch, so the batch is
    augmented and the teacher run once for all of them; only the sandwich's smallest subnet
    keeps the smallest resolution.
    """
    archs = [sample_for_phase(spec, phase.kind, rng, phase.resolution_weights, phase.width_weights)
             for _ in range(phase.subnets_per_step)]
    archs = [replace(a, resolution=archs[0].resolution) for a in archs]
    top = replace(largest_arch(spec), resolution=archs[0].resolution)  # the largest at this step's resolution
    if phase.sandwich and phase.kind != "full" and phase.subnets_per_step >= 3:
        archs[0] = top
        if phase.kind == "expand":
            archs[1] = smallest_arch(spec)
        elif phase.kind == "depth":
            archs[1] = replace(top, stages=_min_depth(spec, top))
        else:
            archs[1] = _smallest_kernels(spec, top)
    if phase.kernel_end and phase.kind in ("depth", "expand") and phase.subnets_per_step >= 4:
        if phase.kernel_end_top and phase.subnets_per_step >= 5:
            archs[3] = _smallest_kernels(spec, archs[3])
        archs[2] = _smallest_kernels(spec, top if phase.kernel_end_top else archs[2])
    if phase.corner_draws and phase.sandwich and phase.kind == "expand" and phase.subnets_per_step >= 3:
        kernels = spec.kernels
        archs.append(replace(top, stages=tuple(tuple(BlockChoice(kernels[int(rng.integers(len(kernels)))], b.expand)
                                                     for b in stage) for stage in _min_depth(spec, top))))
        if top.resolution != archs[1].resolution:
            archs.append(replace(archs[1], resolution=top.resolution))
    return archs


def _min_depth(spec: SpaceSpec, top: Arch) -> tuple[tuple[BlockChoice, ...], ...]:
    """The largest blocks at the smallest depth: the smallest subnet of the depth phase."""
    return tuple(stage[: min(sspec.depths)] for stage, sspec in zip(top.stages, spec.stages))


def _smallest_kernels(spec: SpaceSpec, arch: Arch) -> Arch:
    """``arch`` with the smallest kernel in every block."""
    k = min(spec.kernels)
    return replace(arch, stages=tuple(tuple(BlockChoice(k, b.expand) for b in stage) for stage in arch.stages))


def _param_groups(net: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in net.named_parameters():
        (no_decay if p.ndim <= 1 else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


class _Resume:
    """Reads and commits the training state (checkpoint, optimizer buffers, position) of a run."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def started(self) -> bool:
        """True once an epoch's state is committed (a fresh run has none)."""
        return role_path(self.directory, RESUME_JSON) is not None

    def load(self, net: OFASupernet, config: TrainConfig) -> tuple[Position, dict[str, torch.Tensor]]:
        raw = read_role(self.directory, RESUME_JSON)
        if raw is None:
            return Position(), {}
        state = json.loads(raw)
        if not same_config(state["config"], config):
            raise CheckpointError(
                f"{self.directory} holds a run with different settings",
                hint="use a new --out directory, or the same settings to resume",
            )
        load_weights_of(net, self.directory)
        buffers = read_role(self.directory, RESUME_TENSORS)
        return Position(state["phase"], state["epoch"], state["log"]), load_tensors(buffers) if buffers else {}

    def save(self, net: OFASupernet, optimizer: torch.optim.Optimizer, config: TrainConfig, pos: Position, meta: dict,
             teacher: bytes | None = None) -> None:
        """Commit the epoch just trained (and ``teacher``'s weights file, when it was just frozen)."""
        # At a phase boundary the next phase starts a fresh optimizer: keep no momentum.
        buffers = {} if pos.epoch == 0 else momentum_buffers(net, optimizer)
        changes: dict[str, bytes | None] = {
            **supernet_files(net, meta),
            RESUME_TENSORS: tensor_bytes(buffers) if buffers else None,
            RESUME_JSON: json_bytes({"config": config.to_dict(), "phase": pos.phase, "epoch": pos.epoch, "log": pos.log}),
        }
        if teacher is not None:
            changes[TEACHER_WEIGHTS] = teacher
        commit(self.directory, changes)


def train_step(net: OFASupernet, teacher: Teacher | None, optimizer: torch.optim.Optimizer, x: torch.Tensor,
               y: torch.Tensor, archs: list[Arch], aug: torch.Generator, config: TrainConfig,
               memory_format: torch.memory_format = torch.contiguous_format, *, shards: list[Shard] | None = None,
               reduce: Callable[[torch.Tensor], torch.Tensor] | None = None, flip: bool = True) -> torch.Tensor:
    """One optimisation step: gradients of every subnet in ``archs`` on the batch, accumulated,
    then one update. The batch is augmented once per resolution among ``archs`` and distilled
    from the teacher's output at that resolution. Returns the mean loss (on the device, not
    synchronised).

    ``shards`` (default: all of ``x`` in one) place ``x``'s rows in a global batch: each is its
    own forward and backward pass, its loss weighted by its share of the global batch. Every
    shard's augmentation is its rows of the maps drawn for the whole global batch, so the
    generator advances alike on every rank and each image gets the same map wherever it is
    trained. ``reduce`` sums the gradients and the loss over the ranks before the update.
    ``flip`` False leaves the horizontal mirror out of the augmentation (data whose columns have
    a direction, such as log-mel frequencies: ``DataSplits.mirror_safe``)."""
    shards = shards or [Shard(0, len(x), len(x))]
    first = shards[0].start
    optimizer.zero_grad(set_to_none=True)
    step_loss = torch.zeros((), device=x.device)
    inputs: dict[int, list[torch.Tensor]] = {}
    soft: dict[int, list[torch.Tensor | None]] = {}  # soft targets per resolution, one per shard
    in_place = config.kd_from == "top" and config.kd_ratio > 0 and len(archs) > 1
    top = largest_arch(net.spec)
    for arch in archs:
        r = arch.resolution
        if r not in inputs:
            theta = draw_affine(shards[0].total, aug, flip=flip)
            inputs[r] = [warp(x[shard.start - first : shard.stop - first], theta[shard.start : shard.stop], r)
                         .contiguous(memory_format=memory_format) for shard in shards]
            if not in_place:
                soft[r] = [teacher(xb) if teacher is not None and config.kd_ratio > 0 else None for xb in inputs[r]]
        is_top = in_place and (arch.width, arch.stages) == (top.width, top.stages)
        if in_place and r not in soft and not is_top:  # no top at this resolution yet: its outputs, no gradient
            net.set_active(replace(top, resolution=r))
            with torch.no_grad():
                soft[r] = [net(xb) for xb in inputs[r]]
        net.set_active(arch)
        for i, (shard, xb) in enumerate(zip(shards, inputs[r])):
            logits = net(xb)
            yb = y[shard.start - first : shard.stop - first]
            loss = F.cross_entropy(logits, yb, label_smoothing=config.label_smoothing)
            if is_top:  # the teacher itself learns from the labels alone
                soft.setdefault(r, [None] * len(shards))[i] = logits.detach()
            elif soft[r][i] is not None:
                loss = loss + config.kd_ratio * kd_loss(logits, soft[r][i])
            if shard.weight != 1.0:
                loss = loss * shard.weight
            loss.backward()
            step_loss += loss.detach() / len(archs)
    if reduce is not None:
        step_loss = reduce(step_loss)
    optimizer.step()
    return step_loss


def _meta_on_space(checkpoint: Path, spec: SpaceSpec) -> dict:
    """``checkpoint``'s description, refused unless it was trained on ``spec``."""
    meta = load_meta(checkpoint)
    if SpaceSpec.from_dict(meta["space"]) != spec:
        raise CheckpointError(f"{checkpoint} was trained on another space than {spec.name!r} with these classes")
    return meta


def _start_from(init_from: Path, spec: SpaceSpec, net: OFASupernet, resume: _Resume, pos: Position) -> dict:
    """Load ``init_from``'s weights and teacher into a fresh run; return its description."""
    meta = _meta_on_space(init_from, spec)
    if not resume.started():  # a resumed run already holds newer weights
        load_weights_of(net, init_from)
        teacher = read_role(Path(init_from), TEACHER_WEIGHTS) or weights_bytes(init_from)
        commit(resume.directory, {TEACHER_WEIGHTS: teacher})
        pos.log = list(meta.get("log", []))
    return {k: v for k, v in meta.items() if k not in ("space", "log")}


def _take_teacher(teacher_from: Path, spec: SpaceSpec, resume: _Resume) -> dict:
    """Make ``teacher_from``'s full net this run's distillation teacher; return its description."""
    meta = _meta_on_space(teacher_from, spec)
    if not resume.started():  # a resumed run already holds its teacher
        commit(resume.directory, {TEACHER_WEIGHTS: weights_bytes(teacher_from)})
    return {"from": str(teacher_from), "sha256": weights_sha256(teacher_from), "epochs": trained_epochs(meta)}


def finished_run(out_dir: Path, config: TrainConfig, data: DataSplits) -> bool:
    """True when ``out_dir`` already holds this very run, finished (training it again would only
    overwrite it). A run there on other data, or a finished one with other settings, is refused,
    not resumed or overwritten; an unfinished run with other settings is refused on resume.
    A finished run whose publishing (``manifest.publish``) a crash interrupted is published here."""
    out_dir = Path(out_dir)
    if role_path(out_dir, META) is None:
        return False
    meta = load_meta(out_dir)
    finished = bool(meta.get("complete")) and not _Resume(out_dir).started()
    if meta.get("data_fingerprint") not in (None, data.fingerprint):
        raise CheckpointError(f"{out_dir} holds {'a finished' if finished else 'an unfinished'} run on other data "
                              f"than {data.source or data.name!r}", hint="use the same --data, or a new --out directory")
    if not finished:
        return False
    if not same_config(meta.get("config"), config):
        raise CheckpointError(f"{out_dir} holds a finished run with other settings",
                              hint="use a new --out directory (or --init-from it to train on)")
    publish(out_dir)
    return True


def _open_run(out_dir: Path, config: TrainConfig, data: DataSplits, spec: SpaceSpec, net: OFASupernet,
              init_from: Path | None, teacher_from: Path | None, transfer_from: Path | None,
              ) -> tuple[Position, dict[str, torch.Tensor], dict, OFASupernet | None]:
    """Read where the run in ``out_dir`` stands (or what it starts from) into ``net``: the one part
    of starting that touches checkpoints, so rank 0 alone runs it.

    Returns:
        The position, the optimizer's momentum buffers by parameter name, the description every
        checkpoint of the run starts from, and the frozen distillation teacher (None until the
        full phase has made one).
    """
    if init_from is not None and transfer_from is not None:
        raise UsageError("give --init-from (same data, more epochs) or --transfer-from (other data), not both")
    out_dir.mkdir(parents=True, exist_ok=True)
    resume = _Resume(out_dir)
    pos, momentum = resume.load(net, config)
    parent = _start_from(init_from, spec, net, resume, pos) if init_from is not None else None
    transfer = None
    if transfer_from is not None:
        transfer = transfer_record(transfer_from, spec) if resume.started() else transfer_weights(transfer_from, net)
        transfer.pop("space", None)
    teacher_record = _take_teacher(teacher_from, spec, resume) if teacher_from is not None else None
    meta_base = {**data_record(data), "classes": list(data.classes), "seed": config.seed, "config": config.to_dict()}
    if parent is not None:
        meta_base["parent"] = parent
    if teacher_record is not None:
        meta_base["teacher"] = teacher_record
    if transfer is not None:
        meta_base["transfer"] = transfer
    return pos, momentum, meta_base, load_teacher_net(out_dir, spec)


def _run_settings(config: TrainConfig, data: DataSplits, spec: SpaceSpec, micro_batches: int, **paths: Path | None,
                  ) -> dict[str, str]:
    """What every rank of a run must agree on before it trains."""
    return {"config": json.dumps(config.to_dict(), sort_keys=True), "data": data.fingerprint, "space": spec.to_json(),
            "micro_batches": str(micro_batches), "edgenas": __version__, "torch": torch.__version__,
            **{name: str(path) for name, path in paths.items()}}


def _validate(net: OFASupernet, data: DataSplits, spec: SpaceSpec, config: TrainConfig) -> dict[str, float]:
    """Validation accuracy of the largest and smallest subnet, each recalibrated."""
    val = data.val.subset(np.arange(min(config.eval_images, len(data.val))))
    scores = {}
    for label, arch in (("largest", largest_arch(spec)), ("smallest", smallest_arch(spec))):
        # Shared BN statistics mix all subnets: judge each as it will be used, recalibrated.
        subnet = prepare_subnet(net, arch, data, calib_images=config.eval_images)
        scores[f"val_acc_{label}"] = accuracy(subnet, val, arch.resolution)
    return scores


def train_supernet(
    data: DataSplits,
    spec: SpaceSpec,
    out_dir: Path,
    config: TrainConfig = TrainConfig(),
    *,
    on_step: StepCallback | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    device: str = "cpu",
    init_from: Path | None = None,
    teacher_from: Path | None = None,
    transfer_from: Path | None = None,
    ranks: Ranks = SINGLE,
    micro_batches: int = 1,
) -> OFASupernet:
    """Train (or resume training) a supernet on ``data`` into ``out_dir``.

    ``init_from`` starts from another checkpoint's weights (and its distillation teacher) instead
    of a random init — to lengthen a finished schedule, e.g. more elastic-phase epochs. Its
    description is kept under ``parent`` in the new checkpoint, so the whole history stays known.

    ``transfer_from`` starts from a supernet trained on other data (other classes, other input
    channels; same space): its weights where they fit, a fresh classifier, no teacher
    (:mod:`edgenas.supernet.transfer`). The schedule is a fresh run's, full phase first.

    ``teacher_from`` distils every phase from another checkpoint's full net (e.g. one trained
    longer than this run's full phase) instead of the full net as this run's full phase left it:
    students cannot learn much past their teacher.

    ``device`` is not part of the configuration: a run started on a GPU can be resumed on a CPU.
    The same seed gives the same checkpoint bytes on the same device; GPU kernels differ in the
    last bits from CPU ones, so bytes match across devices only approximately.

    ``ranks`` makes this process one rank of a data-parallel run (``data_parallel.py``; every rank
    calls this with the same arguments inside ``process_group``): each trains on its rows of every
    global batch of ``config.batch_size``, gradients are summed over the ranks, and rank 0 alone
    reads and writes ``out_dir``. ``micro_batches`` splits each rank's rows into that many forward
    and backward passes (gradient accumulation). Batch norm normalises over one such part, so runs
    with the same ``ranks.world_size × micro_batches`` train the same weights up to float rounding,
    and neither is part of the configuration: a run may resume with other numbers of ranks.

    Returns:
        The trained supernet (eval mode). ``out_dir`` holds ``supernet.safetensors``,
        ``supernet.json`` and ``teacher.safetensors``; the resume state and the manifest go once
        the last phase completes. A finished run of the same settings and data is loaded, not
        trained again (``finished_run``).

    Raises:
        UsageError: a global batch that does not split over ``world_size × micro_batches``, or
            ranks started with different settings.
    """
    out_dir = Path(out_dir)
    for phase in config.phases:
        check_choice_weights(spec, phase.resolution_weights, phase.width_weights)
    ranks.check_group()
    check_divisible(config.batch_size, ranks.world_size, micro_batches)
    ranks.agree("settings", _run_settings(config, data, spec, micro_batches, out=out_dir, init_from=init_from,
                                          teacher_from=teacher_from, transfer_from=transfer_from))
    if ranks.from_main(lambda: finished_run(out_dir, config, data)):
        return ranks.from_main(lambda: load_supernet(out_dir)[0])
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    net = OFASupernet(spec)
    main_teacher: list[OFASupernet | None] = [None]

    def open_on_main() -> tuple[Position, dict[str, torch.Tensor], dict, dict[str, torch.Tensor], dict | None]:
        pos, momentum, meta_base, frozen = _open_run(out_dir, config, data, spec, net, init_from, teacher_from,
                                                     transfer_from)
        main_teacher[0] = frozen
        return pos, momentum, meta_base, net.state_dict(), None if frozen is None else frozen.state_dict()

    pos, momentum, meta_base, state, teacher_state = ranks.from_main(open_on_main)
    frozen = main_teacher[0]
    if not ranks.main:  # rank 0's weights and teacher, so no rank but 0 needs to see out_dir
        net.load_state_dict(state)
        if teacher_state is not None:
            frozen = OFASupernet(spec)
            frozen.load_state_dict(teacher_state)
    del state, teacher_state
    fmt = memory_format_for(device)
    if torch.device(device).type == "cpu":
        keep_freed_memory()
    net.to(device, memory_format=fmt)
    teacher: Teacher | None = None
    if frozen is not None and config.kd_from == "teacher":
        teacher = Teacher(frozen.to(device), data, calib_images=config.eval_images, memory_format=fmt)
    resume = _Resume(out_dir)
    top = largest_arch(spec)
    parts = ranks.world_size * micro_batches
    frozen_teacher: bytes | None = None  # the teacher's weights file, committed with the epoch that froze it
    reduce = GradientSum(list(net.parameters()), ranks.world_size) if ranks.distributed else None

    while pos.phase < len(config.phases):
        phase = config.phases[pos.phase]
        if phase.kind == "expand" and pos.epoch == 0:
            sort_hidden_channels(net)
        optimizer = torch.optim.SGD(
            _param_groups(net, config.weight_decay), lr=phase.lr, momentum=config.momentum, nesterov=True
        )
        if momentum:
            restore_momentum(net, optimizer, momentum)
            momentum = {}
        steps_per_epoch = steps_in_epoch(len(data.train), config.batch_size, parts)
        if config.max_steps_per_epoch:
            steps_per_epoch = min(steps_per_epoch, config.max_steps_per_epoch)
        total_steps = steps_per_epoch * phase.epochs

        while pos.epoch < phase.epochs:
            started = time.time()
            epoch_seed = [config.seed, pos.phase, pos.epoch]
            rng = np.random.default_rng(epoch_seed)
            shuffle = torch.Generator().manual_seed(int(rng.integers(2**62)))
            aug = torch.Generator().manual_seed(int(rng.integers(2**62)))
            net.train()
            losses: list[torch.Tensor] = []
            batches = local_batches(data.train, config.batch_size, shuffle_generator=shuffle, rank=ranks.rank,
                                    ranks=ranks.world_size, micro_batches=micro_batches, device=device)
            for step, (x, y, shards) in enumerate(batches):
                if step >= steps_per_epoch:
                    break
                global_step = pos.epoch * steps_per_epoch + step
                lr = cosine_lr(phase.lr, global_step, total_steps)
                for group in optimizer.param_groups:
                    group["lr"] = lr
                step_loss = train_step(net, teacher, optimizer, x, y, subnets_for_step(spec, phase, rng), aug, config, fmt,
                                       shards=shards, reduce=reduce, flip=data.mirror_safe)
                losses.append(step_loss)
                # Reading the loss waits for the device: only every few steps, so a GPU keeps busy.
                if on_step and (step % 20 == 0 or step + 1 == steps_per_epoch):
                    on_step(phase.kind, step + 1, steps_per_epoch, float(step_loss))
            if reduce is not None:
                _check_in_step(ranks, net, reduce, phase.kind, pos.epoch)

            def epoch_record() -> dict:
                record = {
                    "phase": phase.kind,
                    "epoch": pos.epoch,
                    "loss": float(torch.stack(losses).mean()) if losses else float("nan"),
                    "seconds": round(time.time() - started, 1),
                }
                if parts > 1:
                    record["ranks"] = ranks.world_size
                    if micro_batches > 1:
                        record["micro_batches"] = micro_batches
                return {**record, **_validate(net, data, spec, config)}

            record = ranks.from_main(epoch_record)
            pos.log.append(record)
            pos.epoch += 1
            if pos.epoch == phase.epochs:
                pos.phase, pos.epoch = pos.phase + 1, 0
                if phase.kind == "full" and frozen is None:
                    frozen_teacher = tensor_bytes(net.state_dict()) if ranks.main else None
                    if config.kd_from == "teacher":
                        teacher = Teacher(net, data, calib_images=config.eval_images, memory_format=fmt)
            if ranks.main:
                resume.save(net, optimizer, config, pos, {**meta_base, "log": pos.log, "complete": False}, frozen_teacher)
            ranks.barrier()  # the epoch is committed before any rank goes on
            frozen_teacher = None
            if on_epoch:
                on_epoch(record)
            if pos.epoch == 0:
                break  # phase finished: next phase builds its own optimizer

    net.set_active(top)
    if ranks.main:
        commit(out_dir, {**supernet_files(net, {**meta_base, "log": pos.log, "complete": True}),
                         RESUME_JSON: None, RESUME_TENSORS: None})
        publish(out_dir)
    ranks.barrier()
    net.eval()
    return net


def _check_in_step(ranks: Ranks, net: OFASupernet, reduce: GradientSum, phase: str, epoch: int) -> None:
    """Refuse to commit an epoch unless every rank trained the same subnets and holds the same weights.

    Raises:
        UsageError: on every rank, when the ranks drifted apart (different code or settings).
    """
    if int(reduce.disagreements):
        raise UsageError(f"{phase} epoch {epoch}: in {int(reduce.disagreements)} steps the ranks trained different "
                         "subnets (the gradients of different parameters)",
                         hint="run the same edgenas version with the same settings on every rank")
    ranks.agree(f"the weights after {phase} epoch {epoch}", {"sha256": parameters_digest(net)})
