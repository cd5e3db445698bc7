"""(arch, validation accuracy) pairs measured with inherited supernet weights, for the predictor.

Each subnet is extracted from the supernet, its BN statistics recalibrated on training images,
and its top-1 accuracy measured on the validation split (never the test split). Records are
appended to a JSONL file as they are measured, so an interrupted collection resumes where it
stopped; the archs to measure are drawn up front from ``seed``, so a resumed run measures the
same list. Each record keeps how it was measured (calibration and validation image counts), so
a resume with other settings is refused instead of mixing two kinds of measurement.

The measurements can run on a pool of workers (:mod:`edgenas.distributed`); only this process
writes the file, each record as it arrives, and once every arch is measured the file is
rewritten in list order, so it is the same whatever the number of workers.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..data import DataSplits
from ..distributed import Job, Pool, SerialPool, Task, Watch
from ..errors import DataError
from ..space import Arch, largest_arch, sample_arch, smallest_arch
from ..supernet import OFASupernet, accuracy, prepare_subnet

Progress = Callable[[int, int, "AccuracySample"], None]
"""Called after each measurement with (done, total, the new sample)."""


@dataclass(frozen=True)
class AccuracySample:
    arch: Arch
    accuracy: float
    calib_images: int | None = None
    """BN recalibration images the measurement used (None: not recorded)."""
    val_images: int | None = None
    """Validation images it was measured on: the first this many of the split."""

    def to_json(self) -> str:
        rec = {"arch": str(self.arch), "accuracy": self.accuracy}
        if self.calib_images is not None:
            rec |= {"calib_images": self.calib_images, "val_images": self.val_images}
        return json.dumps(rec, sort_keys=True)


def arch_list(spec, count: int, seed: int) -> list[Arch]:
    """``count`` distinct archs: the largest and smallest, then uniform draws from ``seed``."""
    rng = np.random.default_rng(seed)
    archs = list(dict.fromkeys([largest_arch(spec), smallest_arch(spec)]))[:count]
    seen = set(archs)
    for _ in range(100 * count):
        if len(archs) >= count:
            break
        arch = sample_arch(spec, rng)
        if arch not in seen:
            seen.add(arch)
            archs.append(arch)
    return archs


def read_samples(path: str | Path) -> list[AccuracySample]:
    """Samples in a JSONL file (missing file: none). A torn last line (crash) is ignored.

    Raises:
        DataError: a malformed line other than the last.
    """
    p = Path(path)
    if not p.is_file():
        return []
    lines = p.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            out.append(AccuracySample(Arch.parse(rec["arch"]), float(rec["accuracy"]),
                                      rec.get("calib_images"), rec.get("val_images")))
        except (json.JSONDecodeError, KeyError, ValueError) as exc:
            if i == len(lines) - 1:
                break
            raise DataError(f"{p}:{i + 1} is not an accuracy record: {exc}", hint="delete the file to start over") from exc
    return out


def measure_accuracy(net: OFASupernet, arch: Arch, data: DataSplits, *, calib_images: int = 2000,
                     val_images: int | None = None) -> float:
    """Validation accuracy of ``arch`` with inherited weights and recalibrated BN."""
    subnet = prepare_subnet(net, arch, data, calib_images=calib_images)
    val = data.val.subset(np.arange(used_images(len(data.val), val_images)))
    return accuracy(subnet, val, arch.resolution)


def used_images(available: int, asked: int | None) -> int:
    """How many images a measurement that asks for ``asked`` (None: all) really uses."""
    return available if asked is None else min(asked, available)


def measurement_settings(samples: Iterable[AccuracySample]) -> set[tuple[int, int]]:
    """The (calibration, validation) image counts ``samples`` recorded; more than one means they
    mix two kinds of measurement."""
    return {(s.calib_images, s.val_images) for s in samples if s.calib_images is not None}


def _measuring_state(net: OFASupernet, data: DataSplits, calib_images: int, val_images: int | None,
                     threads: int | None) -> tuple:
    """A worker's state: the supernet and data it measures with, on ``threads`` torch threads."""
    if threads is not None:
        torch.set_num_threads(threads)
    return net, data, calib_images, val_images


def measuring_job(net: OFASupernet, data: DataSplits, *, calib_images: int, val_images: int | None = None,
                  threads: int | None = None) -> Job:
    """The pool job measuring one arch's inherited accuracy (:func:`measure_accuracy`) per task;
    each worker receives the supernet and data once."""
    return Job(_measure, _measuring_state, (net, data, calib_images, val_images, threads))


def _measure(state: tuple, arch: Arch) -> float:
    net, data, calib_images, val_images = state
    return measure_accuracy(net, arch, data, calib_images=calib_images, val_images=val_images)


def _write_in_order(path: Path, todo: Sequence[Arch], done: dict[Arch, AccuracySample]) -> None:
    """Rewrite ``path`` with the archs of ``todo`` in list order, then any others it held (atomic)."""
    order = list(dict.fromkeys([*todo, *done]))
    text = "".join(done[a].to_json() + "\n" for a in order if a in done)
    if path.read_text() == text:
        return
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def collect_samples(
    net: OFASupernet,
    data: DataSplits,
    path: str | Path,
    *,
    count: int = 1000,
    seed: int = 0,
    archs: Sequence[Arch] | None = None,
    calib_images: int = 2000,
    val_images: int | None = None,
    progress: Progress | None = None,
    pool: Pool | None = None,
    threads: int | None = None,
    watch: Watch | None = None,
) -> list[AccuracySample]:
    """Measure ``archs`` (default: :func:`arch_list` of ``count`` from ``seed``), resuming from ``path``.

    Args:
        pool: where the measurements run (default: here, serially).
        threads: torch threads of each worker (None: leave as it is).
        watch: told what each worker is measuring, whenever that changes.

    Returns:
        All samples for the requested archs, in list order (earlier runs' included).

    Raises:
        DataError: ``path`` holds samples measured with other settings.
        TasksFailed: some archs failed on every attempt (the others are recorded).
    """
    todo = list(archs) if archs is not None else arch_list(net.spec, count, seed)
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    settings = (used_images(len(data.train), calib_images), used_images(len(data.val), val_images))
    done = {s.arch: s for s in read_samples(p)}
    other = sorted(measurement_settings(done.values()) - {settings})
    if other:
        raise DataError(
            f"{p} holds samples measured with {other[0][0]} calibration and {other[0][1]} validation "
            f"images; this run measures with {settings[0]} and {settings[1]}",
            hint="resume with the same --calib-images/--val-images, or collect into another directory",
        )
    if p.is_file() and p.read_text() and not p.read_text().endswith("\n"):  # drop a torn last line
        p.write_text("".join(s.to_json() + "\n" for s in done.values()))
    missing = [Task(i, arch, str(arch)) for i, arch in enumerate(todo) if arch not in done]
    finished = len(todo) - len(missing)
    job = measuring_job(net, data, calib_images=calib_images, val_images=val_images, threads=threads)
    with p.open("a") as f:
        for result in (pool or SerialPool()).map(job, missing, watch=watch):
            sample = AccuracySample(todo[result.task_id], result.value, *settings)
            f.write(sample.to_json() + "\n")
            f.flush()
            done[sample.arch] = sample
            finished += 1
            if progress is not None:
                progress(finished, len(todo), sample)
    _write_in_order(p, todo, done)
    return [done[a] for a in todo]
