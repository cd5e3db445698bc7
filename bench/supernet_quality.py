"""How good is the bundled supernet? Inherited-weight accuracy vs training from scratch.

Writes bench/results/supernet_quality.json: Fashion-MNIST test accuracy (inherited weights +
BN recalibration) of the largest, the smallest and several random subnets, and for some of them
the accuracy of the same architecture trained from scratch with the supernet's total epoch budget
— taken from ``bench/results/scratch_baselines*.json`` when that holds the same architecture and
epochs (e.g. measured on a GPU; its batch size is recorded, since the supernet's stages used
several), else trained here (``--scratch-batch-size``). Every other architecture with a
from-scratch result at that budget (e.g. extract's hand-designed baselines) is compared too, so
the largest gap is taken over all the evidence there is; the summary also gives the mean gap and
the Kendall tau between inherited and from-scratch accuracy over those pairs (does the supernet
rank architectures as training each alone with the long recipe does?), and the largest gap over
the six architectures that had from-scratch runs when issue #17 set its target (``FIRST_SIX``). When the
checkpoint holds its distillation teacher, also that teacher's validation accuracy at every
resolution, with the shared BN statistics and recalibrated per resolution (how the trainer uses it),
and its test accuracy recalibrated: the bundled teacher was trained before the validation split
was fixed (older stages split by their own seed), so it has seen most of today's validation
images and only the test set compares it with its students.
``shrink`` says which elastic dimension costs the most: the largest subnet's validation accuracy
with one dimension at a time set to each smaller choice, at the smallest and largest resolution.

    python bench/supernet_quality.py [--supernet DIR] [--random 3] [--scratch 3] [--scratch-epochs N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402
from quality_archs import quality_archs  # noqa: E402
from scratch_baselines import BATCH_SIZE, load_baselines  # noqa: E402

from edgenas.cost import macs  # noqa: E402
from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.estimate.predictor import kendall_tau  # noqa: E402
from edgenas.space import Arch, BlockChoice, largest_arch  # noqa: E402
from edgenas.supernet import OFASupernet, accuracy, load_supernet, prepare_subnet, train_from_scratch, trained_epochs  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402
from edgenas.supernet.teacher import load_teacher_net  # noqa: E402

FIRST_SIX = frozenset({
    "r24|w0.5|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3|k3e3,k3e3",
    "r24|w0.75|k3e4,k5e4|k3e3,k3e6|k5e3,k5e6,k5e4|k7e6,k5e6,k7e4,k7e6",
    "r40|w0.75|k3e4,k7e6,k5e4,k3e4|k7e6,k3e6,k5e4|k5e3,k3e6,k5e4,k5e6|k3e6,k3e3,k7e4",
    "r28|w0.75|k3e6,k3e6|k3e6,k3e6|k3e6,k3e6|k3e6,k3e6",
    "r40|w1|k3e6,k3e6,k3e6|k3e6,k3e6,k3e6|k3e6,k3e6,k3e6|k3e6,k3e6,k3e6",
    "r48|w1|k3e6,k3e6,k3e6,k3e6|k3e6,k3e6,k3e6,k3e6|k3e6,k3e6,k3e6,k3e6|k3e6,k3e6,k3e6,k3e6",
})
"""The architectures trained from scratch (178 epochs, on an H100) when issue #17 was filed: its
acceptance bounds the largest inherited gap over these six; the summary's other gaps take every pair."""


def teacher_accuracy(directory: Path, spec, data) -> dict:
    """Val accuracy of the checkpoint's distillation teacher per resolution: shared BN statistics
    (eval mode as trained) against statistics recalibrated at that resolution."""
    net = load_teacher_net(directory, spec)
    if net is None:
        return {}
    net.eval()
    top = largest_arch(spec)
    rows = {}
    for r in spec.resolutions:
        arch = Arch(r, top.width, top.stages)
        net.set_active(arch)
        recalibrated = prepare_subnet(net, arch, data)
        rows[str(r)] = {"shared_bn_val_acc": accuracy(net, data.val, r),
                        "recalibrated_val_acc": accuracy(recalibrated, data.val, r),
                        "recalibrated_test_acc": accuracy(recalibrated, data.test, r)}
        print("teacher", r, rows[str(r)], flush=True)
    return rows


def shrink_one_dimension(net: OFASupernet, spec, data) -> dict:
    """Val accuracy of the largest subnet with one elastic dimension at a time shrunk (every block
    alike), at the smallest and the largest resolution: where weight sharing costs the most."""
    top = largest_arch(spec)
    kmax, emax = max(spec.kernels), max(spec.expands)

    def blocks(kernel: int, expand: int):
        return tuple(tuple(BlockChoice(kernel, expand) for _ in stage) for stage in top.stages)

    rows = {}
    for r in (min(spec.resolutions), max(spec.resolutions)):
        variants = {"largest": Arch(r, top.width, top.stages)}
        variants |= {f"k{k}": Arch(r, top.width, blocks(k, emax)) for k in spec.kernels if k != kmax}
        variants |= {f"e{e}": Arch(r, top.width, blocks(kmax, e)) for e in spec.expands if e != emax}
        variants |= {f"w{w:g}": Arch(r, w, top.stages) for w in spec.widths if w != top.width}
        shallow = tuple(stage[: min(sspec.depths)] for stage, sspec in zip(top.stages, spec.stages))
        variants["depth_min"] = Arch(r, top.width, shallow)
        rows[str(r)] = {name: accuracy(prepare_subnet(net, a, data), data.val, r) for name, a in variants.items()}
        print("shrink", r, rows[str(r)], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", type=Path, default=None)
    parser.add_argument("--random", type=int, default=3, help="random subnets to evaluate")
    parser.add_argument("--scratch", type=int, default=3, help="subnets also trained from scratch (cheapest first)")
    parser.add_argument("--scratch-epochs", type=int, default=0, help="0: the supernet's total epochs")
    parser.add_argument("--scratch-batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    directory = args.supernet or bundled_supernet_dir()
    net, meta = load_supernet(directory)
    spec = net.spec
    data = load_recorded_dataset(meta)
    archs = quality_archs(spec, args.random, args.seed)

    budget = args.scratch_epochs or trained_epochs(meta)
    measured = load_baselines()
    # Every other architecture trained from scratch at this budget is one more compared pair.
    known = {str(a) for a in archs.values()}
    others = {f"scratch{i}": Arch.parse(a)
              for i, a in enumerate(sorted(a for a, e in measured if e == budget and a not in known))}
    archs |= others

    rows = {}
    for label, arch in archs.items():
        started = time.time()
        sub = prepare_subnet(net, arch, data)
        rows[label] = {
            "arch": str(arch),
            "macs": macs(spec, arch),
            "inherited_test_acc": accuracy(sub, data.test, arch.resolution),
            "inherited_val_acc": accuracy(sub, data.val, arch.resolution),
            "eval_seconds": round(time.time() - started, 1),
        }
        print(label, rows[label], flush=True)

    teacher = teacher_accuracy(Path(directory), spec, data)
    shrink = shrink_one_dimension(net, spec, data)
    sampled = [label for label in rows if label not in others]
    cheapest = sorted(sampled, key=lambda k: rows[k]["macs"])[: args.scratch] + list(others)

    def save(complete: bool) -> Path:
        """Write what is measured so far: a long from-scratch run never loses earlier results."""
        pairs = [r for r in rows.values() if "scratch_test_acc" in r]
        gaps = [100 * (r["scratch_test_acc"] - r["inherited_test_acc"]) for r in pairs]
        first = [100 * (r["scratch_test_acc"] - r["inherited_test_acc"]) for r in pairs if r["arch"] in FIRST_SIX]
        # Does the supernet rank architectures as training each alone (the long recipe) does?
        tau = kendall_tau(np.array([r["inherited_test_acc"] for r in pairs]),
                          np.array([r["scratch_test_acc"] for r in pairs])) if len(pairs) > 1 else None
        log = meta.get("log", [])
        return write_result("supernet_quality", {
            "complete": complete,
            "supernet": str(directory),
            "training": {"config": meta["config"], "log": log, "hardware": meta.get("hardware", ""),
                         "command": meta.get("command", ""),
                         "total_seconds": round(sum(r.get("seconds", 0) for r in log), 1)},
            "subnets": rows,
            "teacher": teacher,
            "shrink": shrink,
            "summary": {
                "largest_test_acc": rows["largest"]["inherited_test_acc"],
                "smallest_test_acc": rows["smallest"]["inherited_test_acc"],
                "max_inherited_gap_points": round(max(gaps), 3) if gaps else None,
                "max_inherited_gap_points_first_six": round(max(first), 3) if first else None,
                "mean_inherited_gap_points": round(float(np.mean(gaps)), 3) if gaps else None,
                "kendall_tau_vs_scratch": round(tau, 4) if tau is not None else None,
                "scratch_pairs": len(pairs),
            },
        })

    save(complete=not cheapest)
    for i, label in enumerate(cheapest):
        arch = archs[label]
        done = measured.get((str(arch), budget))
        if done:
            rows[label].update(scratch_test_acc=done["test_acc"], scratch_seconds=done["seconds"],
                               scratch_hardware=done["hardware"], scratch_batch_size=done["batch_size"],
                               scratch_source="scratch_baselines.json")
        else:
            started = time.time()
            model = train_from_scratch(spec, arch, data, epochs=budget, batch_size=args.scratch_batch_size,
                                       seed=args.seed)
            rows[label].update(scratch_test_acc=accuracy(model, data.test, arch.resolution),
                               scratch_seconds=round(time.time() - started, 1), scratch_hardware="cpu",
                               scratch_batch_size=args.scratch_batch_size)
        rows[label]["scratch_epochs"] = budget
        print(label, "scratch", rows[label]["scratch_test_acc"], flush=True)
        path = save(complete=i == len(cheapest) - 1)
    print(path if cheapest else save(complete=True))


if __name__ == "__main__":
    main()
