"""Which weights do small subnets lose to sharing? Fine-tune one group of weights and see who gains.

``supernet_quality.py`` finds the largest inherited-vs-scratch gap at the smallest resolution
(24 px), and ``extract.py`` that fine-tuning an extracted subnet recovers about half a point.
Design levers 2 and 5 of the supernet (per-width batch norm, per-resolution weights) only pay if
the conflict sits in those weights. Two experiments, every one from the bundled weights:

- ``standalone``: each subnet of ``SUBNETS`` is extracted (BN recalibrated) and fine-tuned alone
  for ``--epochs`` with the extract pipeline's recipe (``finetune_subnet``: distilled from the
  largest subnet), with only one group of its weights trainable: ``all``, ``dense`` (stem,
  pointwise convolutions, classifier: the weights every subnet shares), ``depthwise`` or
  ``bn_affine`` (batch-norm scale and shift). A group whose own fine-tuning recovers what ``all``
  recovers is where the subnet disagrees with its siblings.
- ``resolution`` and ``width``: the supernet is trained for ``--steps`` batches on one part of
  its space only (few-shot NAS's split), with the last phase's draws and sandwich, distilled in
  place from the largest subnet: the smallest resolution's subnets, with all weights or only the
  depthwise ones trainable; or subnets of width ``SPLIT_WIDTH`` (the largest stays in every step
  as the teacher), all weights trainable. What its subnets gain is the most that weights private
  to that part of the space could give them in that time.

Test accuracy (10,000 images), BN recalibrated on 2,000 training images, one thread.
Writes bench/results/sharing_conflict.json; a run of some experiments keeps the others' earlier
results there (marked ``kept_from``).

    python bench/sharing_conflict.py [--epochs 1] [--steps 234] [--experiments standalone,resolution]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, add_experiments_option, chosen_experiments, write_result  # noqa: E402

from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.data.batches import to_tensor  # noqa: E402
from edgenas.space import Arch  # noqa: E402
from edgenas.supernet import OFASupernet, accuracy, finetune_subnet, load_meta, load_supernet, prepare_subnet  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402
from edgenas.supernet.elastic_conv import ElasticDepthwise  # noqa: E402
from edgenas.supernet.subnet_training import cosine_lr  # noqa: E402
from edgenas.supernet.train import TrainConfig, subnets_for_step, train_step  # noqa: E402

SUBNETS = {  # supernet_quality's largest gap, a width-0.5 scratch baseline, the 32 KB pick
    "random1": "r24|w0.75|k3e4,k5e4|k3e3,k3e6|k5e3,k5e6,k5e4|k7e6,k5e6,k7e4,k7e6",
    "scratch1": "r32|w0.5|k3e6,k3e6,k3e6|k3e6,k3e6,k3e6|k3e6,k3e6,k3e6|k3e6,k3e6,k3e6",
    "pick32": "r40|w0.75|k7e3,k7e4,k3e6,k3e4|k7e6,k5e6|k5e6,k7e3|k3e3,k3e3",
}
GROUPS = ("all", "dense", "depthwise", "bn_affine")
EXPERIMENTS = ("standalone", "resolution", "width")
SPLIT_LR = 0.02
SPLIT_WIDTH = 0.75  # the width of most of SUBNETS


def group_of(module: nn.Module) -> str:
    """The weight group a subnet module's parameters belong to."""
    if isinstance(module, nn.BatchNorm2d):
        return "bn_affine"
    if isinstance(module, nn.Conv2d) and module.groups > 1:
        return "depthwise"
    return "dense"


def only_train(model: nn.Module, group: str) -> int:
    """Freeze every parameter outside ``group``; returns how many values stay trainable."""
    trainable = 0
    for module in model.modules():
        for p in module.parameters(recurse=False):
            p.requires_grad = group == "all" or group_of(module) == group
            trainable += p.numel() if p.requires_grad else 0
    return trainable


def standalone(directory: Path, data, epochs: int) -> dict:
    rows = {}
    for label, text in SUBNETS.items():
        arch = Arch.parse(text)
        net = load_supernet(directory)[0]
        row = {"arch": text, "inherited": accuracy(prepare_subnet(net, arch, data), data.test, arch.resolution)}
        for group in GROUPS:
            sub = prepare_subnet(net, arch, data)
            trainable = only_train(sub, group)
            started = time.time()
            finetune_subnet(net, sub, arch, data, epochs=epochs)
            row[group] = {"test_acc": accuracy(sub, data.test, arch.resolution), "trainable": trainable,
                          "seconds": round(time.time() - started, 1)}
        rows[label] = row
        print(label, row, flush=True)
    return rows


def split(directory: Path, data, steps: int, dimension: str) -> dict:
    """Train the supernet on one part of the space only (few-shot NAS's split, one epoch of it):
    ``resolution``, the smallest resolution's subnets, with all weights or the depthwise ones
    trainable; ``width``, subnets of width ``SPLIT_WIDTH`` beside the sandwich's largest (the
    in-place teacher), all weights trainable. Every subnet of SUBNETS before and after."""
    def probe(net: OFASupernet) -> dict:
        return {label: accuracy(prepare_subnet(net, Arch.parse(text), data), data.test, Arch.parse(text).resolution)
                for label, text in SUBNETS.items()}

    out: dict = {}
    for group in ("all", "depthwise") if dimension == "resolution" else ("all",):
        torch.manual_seed(0)
        net, meta = load_supernet(directory)
        if "before" not in out:
            out["before"] = probe(net)
        depthwise = {id(p) for m in net.modules() if isinstance(m, ElasticDepthwise) for p in m.parameters()}
        for p in net.parameters():
            p.requires_grad = group == "all" or id(p) in depthwise
        config = TrainConfig.from_dict(meta["config"])  # the bundled run's last phase
        phase = config.phases[-1]
        r = min(net.spec.resolutions)
        if dimension == "resolution":
            phase = replace(phase, resolution_weights=tuple(float(x == r) for x in net.spec.resolutions))
        optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=SPLIT_LR,
                                    momentum=0.9, nesterov=True)
        rng, aug = np.random.default_rng(1), torch.Generator().manual_seed(1)
        labels = torch.from_numpy(data.train.y).long()
        started = time.time()
        net.train()
        for step in range(steps):
            for g in optimizer.param_groups:
                g["lr"] = cosine_lr(SPLIT_LR, step, steps)
            idx = np.sort(rng.choice(len(labels), config.batch_size, replace=False))
            archs = subnets_for_step(net.spec, phase, rng)
            if dimension == "width":
                archs = archs[:1] + [replace(a, width=SPLIT_WIDTH) for a in archs[1:]]
            train_step(net, None, optimizer, to_tensor(data.train.x[idx]), labels[idx], archs, aug, config)
        out[group] = {"after": probe(net.eval()), "seconds": round(time.time() - started, 1),
                      "phase": {"kind": phase.kind, "subnets_per_step": phase.subnets_per_step,
                                "sandwich": phase.sandwich, "kd_from": config.kd_from}}
        print(dimension, group, out[group], flush=True)
    out |= {"steps": steps, "lr": SPLIT_LR}
    out |= {"resolution": r} if dimension == "resolution" else {"width": SPLIT_WIDTH}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="standalone fine-tuning epochs")
    parser.add_argument("--steps", type=int, default=234, help="batches of the split experiments (234: one epoch)")
    parser.add_argument("--threads", type=int, default=1)
    add_experiments_option(parser, EXPERIMENTS)
    args = parser.parse_args()
    names = chosen_experiments(parser, args, EXPERIMENTS)
    torch.set_num_threads(args.threads)
    directory = bundled_supernet_dir()
    data = load_recorded_dataset(load_meta(directory))
    result: dict = {"settings": {"epochs": args.epochs, "steps": args.steps, "threads": args.threads}}
    if "standalone" in names:
        rows = standalone(directory, data, args.epochs)
        result["standalone"] = rows
    for dimension in ("resolution", "width"):
        if dimension in names:
            result[dimension] = split(directory, data, args.steps, dimension)
    if "standalone" in names:
        result["summary"] = {  # points each group recovers alone
            label: {g: round(100 * (row[g]["test_acc"] - row["inherited"]), 2) for g in GROUPS}
            for label, row in result["standalone"].items()}
    previous = RESULTS_DIR / "sharing_conflict.json"
    if set(names) != set(EXPERIMENTS) and previous.exists():  # keep the experiments not re-run
        earlier = json.loads(previous.read_text())
        origin = {k: earlier.get(k) for k in ("git", "dirty", "utc")}
        for name in set(EXPERIMENTS) - set(names):
            if name in earlier:
                result[name] = {**earlier[name], "kept_from": earlier[name].get("kept_from", origin)}
        if "summary" in earlier and "standalone" not in names:
            result["summary"] = earlier["summary"]
    print(write_result("sharing_conflict", result))


if __name__ == "__main__":
    main()
