"""The search's pick against the measured archive: the predictor's own samples that meet the budget.

Why: the predictor is a smooth fit, and it is least sure where the search ends up, at the top of
the space, which few samples cover. The bundled one rates the largest subnet 0.52 points under
that subnet's own measurement (it shrinks the extremes toward the mean), so at a budget the
largest subnet meets, the search picked a smaller one that is 0.23 points worse on the test
split. The samples the predictor learned from are measurements of this very supernet: when a
feasible one measured better than the search's pick, measured the same way, it is the better
subnet, and the pick costs one measurement to check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..cost.model import Metrics
from ..estimate.dataset import AccuracySample, measurement_settings, read_samples
from ..space import Arch

SAMPLES_GLOB = "samples-*.jsonl"
"""The measured samples a predictor directory keeps beside the model (``edgenas predictor fit``)."""


@dataclass(frozen=True)
class Archive:
    """Measured samples of one supernet, all measured one way (so one more is comparable)."""

    samples: tuple[AccuracySample, ...]
    calib_images: int
    val_images: int | None


def load_archive(predictor_dir: Path, predictor_supernet: str | None, supernet: str) -> tuple[Archive | None, str]:
    """The samples in ``predictor_dir`` when they were measured on ``supernet`` (weights sha256,
    as the predictor records it) one way; else None. Also a line saying why (for the report)."""
    files = sorted(Path(predictor_dir).glob(SAMPLES_GLOB))
    if not files:
        return None, f"no measured samples beside the predictor ({predictor_dir})"
    if predictor_supernet != supernet:
        return None, "the predictor's samples were measured on another supernet checkpoint"
    samples = tuple({s.arch: s for f in files for s in read_samples(f)}.values())
    settings = measurement_settings(samples)
    if len(settings) != 1 or any(s.calib_images is None for s in samples):
        return None, "the predictor's samples do not record one measurement setting"
    calib, val = next(iter(settings))
    return Archive(samples, calib, val), f"{len(samples)} measured samples"


@dataclass(frozen=True)
class Selection:
    """Which subnet goes on, the search's pick or a measured sample, and the figures that decided."""

    arch: Arch
    metrics: Metrics
    source: str
    """``search`` or ``archive``."""
    searched: Arch
    searched_measured: float | None
    archive_best: Arch | None
    archive_best_measured: float | None
    archive_feasible: int
    note: str

    def to_dict(self) -> dict:
        return {"arch": str(self.arch), "source": self.source, "searched": str(self.searched),
                "searched_measured_val": self.searched_measured,
                "archive_best": str(self.archive_best) if self.archive_best is not None else None,
                "archive_best_measured_val": self.archive_best_measured,
                "archive_feasible": self.archive_feasible, "note": self.note}


def select(searched: Arch, metrics: Metrics, archive: Archive | None, note: str, fits: Callable[[Arch], bool],
           confirmed: Callable[[Arch], Metrics | None],
           measure: Callable[[Arch, int, int | None], float]) -> Selection:
    """The search's pick, unless a feasible archive sample measured better than it.

    ``fits(arch)``: the cost model says it meets the budget (cheap). ``confirmed(arch)``: its metrics
    with the arena the compiler plans, None if those break the budget (slow: only for a sample that
    would win). ``measure(arch, calib_images, val_images)``: validation accuracy with inherited
    weights, as the archive was measured. A tie keeps the search's pick, which is measured only
    when some sample fits."""
    def keep(reason: str, **found) -> Selection:
        return Selection(searched, metrics, "search", searched, found.get("measured"), found.get("best"),
                         found.get("best_measured"), found.get("count", 0), reason)

    if archive is None:
        return keep(note)
    fitting = sorted((s for s in archive.samples if s.arch != searched and fits(s.arch)),
                     key=lambda s: (-s.accuracy, str(s.arch)))
    if not fitting:
        return keep(f"none of the {note} meets the budget")
    measured = measure(searched, archive.calib_images, archive.val_images)
    for sample in fitting:
        if sample.accuracy <= measured:
            break
        if (m := confirmed(sample.arch)) is not None:
            return Selection(sample.arch, m, "archive", searched, measured, sample.arch, sample.accuracy, len(fitting),
                             f"a measured sample meets the budget and measured {100 * sample.accuracy:.2f} % against "
                             f"the search's pick's {100 * measured:.2f} % (validation accuracy, inherited weights, "
                             "measured alike)")
    best = fitting[0]
    why = (f"at least as much as every one of the {len(fitting)} measured samples that meet the budget"
           if best.accuracy <= measured else
           f"and the {len(fitting)} measured samples that meet the budget by the cost model and measured more break it "
           "with the compiler's own arena")
    return keep(f"the search's pick measured {100 * measured:.2f} %, {why} (best {100 * best.accuracy:.2f} %)",
                measured=measured, best=best.arch, best_measured=best.accuracy, count=len(fitting))
