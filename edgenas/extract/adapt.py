"""Adapt the bundled supernet to a user's dataset before ``extract`` searches it: the first half of
``edgenas extract --data PATH``.

Stages, each cached in a work folder keyed by the data's content hash and resumed after a crash:

1. ``supernet/``: transfer from the bundled supernet (:mod:`edgenas.supernet.transfer`), then
   progressive shrinking on the new data; epochs sized from the data so small sets get enough steps;
2. ``predictor/samples-0of1.jsonl``: validation accuracy of sampled subnets (inherited weights,
   batch norm re-estimated);
3. ``predictor/model/``: the accuracy predictor fitted on them, its held-out rank correlation kept.

Minutes on a 2-core CPU (``bench/own_data.py``): see the README's "Your own data".
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..data import DataSplits
from ..estimate.dataset import collect_samples
from ..estimate.fit import fit_predictor
from ..estimate.registry import PREDICTORS_DIR
from ..space import DEFAULT_SPACE, get_space
from ..supernet import TrainConfig, default_phases, load_meta, load_supernet, train_supernet
from ..supernet.bundled import bundled_supernet_dir

Say = Callable[[str], None]


@dataclass(frozen=True)
class AdaptPlan:
    """How much adaptation a dataset gets: optimizer steps per phase (not epochs, so a small set
    sees as many updates as a large one), predictor samples and their measuring images."""

    full_steps: int = 600
    kernel_steps: int = 300
    depth_steps: int = 300
    expand_steps: int = 900
    batch_size: int = 64
    subnets: int = 4
    max_epochs_per_phase: int = 40
    samples: int = 150
    calib_images: int = 500
    seed: int = 0

    def epochs(self, train_images: int) -> tuple[int, int, int, int]:
        """Epochs per phase (full, kernel, depth, expand) giving about the planned steps."""
        per_epoch = max(1, math.ceil(train_images / self.batch_size))
        return tuple(min(self.max_epochs_per_phase, max(1, round(s / per_epoch)))  # type: ignore[return-value]
                     for s in (self.full_steps, self.kernel_steps, self.depth_steps, self.expand_steps))

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def total_steps(self) -> int:
        return self.full_steps + self.kernel_steps + self.depth_steps + self.expand_steps

    def scaled(self, total_steps: int, samples: int) -> AdaptPlan:
        """This plan's phase proportions with ``total_steps`` optimizer steps and ``samples`` subnets."""
        k = total_steps / self.total_steps
        steps = [max(1, round(k * s)) for s in (self.full_steps, self.kernel_steps, self.depth_steps, self.expand_steps)]
        return replace(self, full_steps=steps[0], kernel_steps=steps[1], depth_steps=steps[2], expand_steps=steps[3],
                       samples=samples)


@dataclass(frozen=True)
class Adapted:
    """Where the adapted supernet and its predictor are, the splits they were trained and measured
    on, and what adapting measured."""

    supernet_dir: Path
    predictor_dir: Path
    data: DataSplits
    record: dict


def work_folder(root: Path, data: DataSplits, space: str = DEFAULT_SPACE) -> Path:
    """``root/<dataset>-<content hash>`` (``-<space>`` after it for another space than the
    default): another dataset (or an edited one), or a start from another space's supernet,
    never reuses a cache."""
    suffix = "" if space == DEFAULT_SPACE else f"-{space}"
    return Path(root).resolve() / f"{data.name}-{data.fingerprint[:10]}{suffix}"


def adapt(data: DataSplits, root: Path, plan: AdaptPlan = AdaptPlan(), say: Say | None = None,
          source: Path | None = None, transfer: bool = True) -> Adapted:
    """Run (or resume) the stages for ``data`` under :func:`work_folder`; finished stages are reused.

    Args:
        source: the supernet to transfer from, whose space the adapted one keeps and whose
            bundled predictor (if any) warm-starts the new one (default: the bundled image supernet).
        transfer: False trains from a random init instead (the baseline transfer is measured against).
    """
    tell = say or (lambda _msg: None)
    source = source or bundled_supernet_dir()
    source_meta = load_meta(source)
    spec = get_space(source_meta["space"]["name"], in_channels=data.in_channels, num_classes=data.num_classes)
    work = work_folder(root, data, spec.name)
    work.mkdir(parents=True, exist_ok=True)
    record_path = work / "adapt.json"
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    record.update({"data": data.source, "fingerprint": data.fingerprint, "plan": plan.to_dict(), "transfer": transfer,
                   "source": {"dataset": source_meta.get("dataset"), "space": spec.name}})
    supernet_dir, predictor_dir = work / "supernet", work / "predictor" / "model"

    epochs = plan.epochs(len(data.train))
    config = TrainConfig(phases=default_phases(epochs, plan.subnets, True, 1.0), batch_size=plan.batch_size,
                         seed=plan.seed)
    start_from = f"adapting the {source_meta.get('dataset')} supernet ({spec.name})" if transfer else \
        f"training a {spec.name} supernet from scratch"
    tell(f"{start_from} to {data.name} ({len(data.train)} training images): epochs per phase "
         f"{'/'.join(map(str, epochs))} (full/kernel/depth/expand) in {work}")
    start = time.perf_counter()
    last = {}

    def on_epoch(r: dict) -> None:
        last.update(r)
        tell(f"  {r['phase']} epoch {r['epoch'] + 1}: val largest {r['val_acc_largest']:.4f}, "
             f"smallest {r['val_acc_smallest']:.4f} ({r['seconds']} s)")

    train_supernet(data, spec, supernet_dir, config, on_epoch=on_epoch,
                   transfer_from=source if transfer else None)
    minutes = record.setdefault("minutes", {})
    minutes["supernet"] = round(minutes.get("supernet", 0) + (time.perf_counter() - start) / 60, 2)
    record_path.write_text(json.dumps(record, indent=2) + "\n")

    if not (predictor_dir / "predictor.json").is_file():
        net, _ = load_supernet(supernet_dir)
        tell(f"measuring {plan.samples} subnets on {len(data.val)} validation images for the accuracy predictor")
        start = time.perf_counter()

        def on_sample(done: int, total: int, sample) -> None:  # noqa: ANN001
            if done % 25 == 0 or done == total:
                tell(f"  {done}/{total} subnets measured")

        collect_samples(net, data, work / "predictor" / "samples-0of1.jsonl", count=plan.samples, seed=plan.seed,
                        calib_images=plan.calib_images, progress=on_sample)
        # Warm-started from the source's bundled predictor: with a hundred noisy samples its learned
        # ranking of the space is worth keeping (bench/predictor_warm_start.py).
        warm = PREDICTORS_DIR / str(source_meta.get("dataset"))
        quality = fit_predictor(work / "predictor", supernet_dir, predictor_dir, seed=plan.seed,
                                warm_start=warm if (warm / "predictor.json").is_file() else None)
        record["minutes"]["predictor"] = round((time.perf_counter() - start) / 60, 2)
        record["predictor"] = quality
        record_path.write_text(json.dumps(record, indent=2) + "\n")
        tell(f"predictor: held-out Kendall tau {quality.get('kendall_tau', float('nan')):.2f} "
             f"over {quality['heldout']} subnets")
    return Adapted(supernet_dir, predictor_dir, data, record)
