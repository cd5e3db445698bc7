"""Does each kernel size train without taking from the others? The supernet's 3x3 kernels.

``supernet_quality.py``'s ``shrink`` section showed the largest subnet with every kernel at 3x3
lost the most at 48 px while the supernet derived small kernels from the centre of the 7x7
(through learned transforms). Since then every kernel size has private depthwise weights and
batch norm (``ElasticDepthwise``); a checkpoint of the earlier format loads as the same function.
Each experiment starts from the bundled weights, trains for ``--steps`` batches distilled from the
bundled teacher, and reports validation accuracy of the all-3x3 and the all-7x7 (largest) subnet
at the smallest and largest resolution (BN recalibrated):

- ``k3_only``: every weight learns (SGD, cosine), on all-3x3 subnets only. With shared kernels
  (commit 6ae49bc, ``history/kernel_sharing/``) this gained 1.5 points for 3x3 at 48 px and cost
  the 7x7 subnet 0.6; with private kernels only the shared pointwise weights can cost it.
- ``kernel_phase``: every weight learns on the kernel phase's draws (random kernel per block).
- ``sandwich_uniform``: every weight learns on three subnets per batch — all-7x7, all-3x3 and one
  kernel-phase draw — so both uniform ends get a gradient every step (3x the compute per batch).

Writes bench/results/kernel_sharing.json.

    python bench/kernel_sharing.py [--steps 300] [--val-images 2000] [--threads 1] [--experiments k3_only]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import add_experiments_option, chosen_experiments, write_result  # noqa: E402

from edgenas.data import iterate, load_recorded_dataset  # noqa: E402
from edgenas.space import Arch, BlockChoice, largest_arch  # noqa: E402
from edgenas.supernet import OFASupernet, accuracy, load_meta, load_supernet, prepare_subnet  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402
from edgenas.supernet.subnet_training import cosine_lr  # noqa: E402
from edgenas.supernet.teacher import Teacher, load_teacher_net  # noqa: E402
from edgenas.supernet.train import Phase, TrainConfig, _param_groups, subnets_for_step, train_step  # noqa: E402

BATCH_SIZE = 256
SGD_LR = 0.01
EXPERIMENTS = ("k3_only", "kernel_phase", "sandwich_uniform")


def uniform_kernel(net: OFASupernet, resolution: int, kernel: int) -> Arch:
    top = largest_arch(net.spec)
    stages = tuple(tuple(BlockChoice(kernel, b.expand) for b in stage) for stage in top.stages)
    return Arch(resolution, top.width, stages)


def probe(net: OFASupernet, data, val) -> dict:
    spec = net.spec
    return {
        f"k{k}@{r}": accuracy(prepare_subnet(net, uniform_kernel(net, r, k), data), val, r)
        for r in (min(spec.resolutions), max(spec.resolutions))
        for k in (min(spec.kernels), max(spec.kernels))
    }


def run(name: str, net: OFASupernet, teacher: Teacher, data, val, steps: int) -> dict:
    spec = net.spec
    small = min(spec.kernels)
    optimizer = torch.optim.SGD(_param_groups(net, 4e-5), lr=SGD_LR, momentum=0.9, nesterov=True)
    config = TrainConfig(batch_size=BATCH_SIZE)
    phase = Phase("kernel", 1, SGD_LR)
    rng = np.random.default_rng(0)
    aug = torch.Generator().manual_seed(1)
    started, step, epoch = time.time(), 0, 0
    net.train()
    while step < steps:
        for x, y in iterate(data.train, BATCH_SIZE, shuffle_generator=torch.Generator().manual_seed(epoch)):
            if step >= steps:
                break
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(SGD_LR, step, steps)
            archs = subnets_for_step(spec, phase, rng)
            resolution = archs[0].resolution
            if name == "k3_only":
                archs = [uniform_kernel(net, resolution, small)]
            elif name == "sandwich_uniform":
                ends = [uniform_kernel(net, resolution, k) for k in (max(spec.kernels), small)]
                archs = [*ends, *archs]
            train_step(net, teacher, optimizer, x, y, archs, aug, config)
            step += 1
        epoch += 1
    seconds = time.time() - started
    net.eval()
    return {"steps": steps, "train_s": round(seconds, 1), "after": probe(net, data, val)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--val-images", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    add_experiments_option(parser, EXPERIMENTS)
    args = parser.parse_args()
    names = chosen_experiments(parser, args, EXPERIMENTS)
    torch.set_num_threads(args.threads)
    directory = bundled_supernet_dir()
    data = load_recorded_dataset(load_meta(directory))
    val = data.val.subset(np.arange(min(args.val_images, len(data.val))))

    def fresh() -> OFASupernet:
        torch.manual_seed(0)
        return load_supernet(directory)[0]

    teacher = Teacher(load_teacher_net(directory, fresh().spec), data, calib_images=2000)
    before = probe(fresh().eval(), data, val)
    print("before", before, flush=True)
    experiments = {}
    for name in names:
        experiments[name] = run(name, fresh(), teacher, data, val, args.steps)
        print(name, experiments[name], flush=True)
    path = write_result("kernel_sharing", {
        "settings": {"steps": args.steps, "batch_size": BATCH_SIZE, "sgd_lr": SGD_LR,
                     "val_images": len(val), "threads": args.threads, "distilled_from": "bundled teacher",
                     "design": "private depthwise weights and batch norm per kernel size"},
        "before": before,
        "experiments": experiments,
    })
    print(path)


if __name__ == "__main__":
    main()
