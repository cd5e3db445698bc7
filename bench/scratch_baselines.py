"""Train the supernet-quality subnets from scratch (the baseline inherited weights must match).

Separate from ``supernet_quality.py`` so the from-scratch runs can go on another machine (a GPU)
while the supernet trains; ``supernet_quality.py`` reuses a result here when its architecture and
epoch budget match. Writes ``bench/results/scratch_baselines.json`` after every subnet.

    python bench/scratch_baselines.py --epochs 120 --labels smallest,random1,random2 --device cuda
    python bench/scratch_baselines.py --epochs 83 --labels "" --arch 'r28|w0.75|k3e6,...'

``--arch`` adds architectures by their string, e.g. the hand-designed baselines of
``bench/extract.py`` (its JSON lists them), which reads its results from here too.
``--resume-root DIR`` keeps every run's state there after each epoch, so a CPU run of 178 epochs
can stop at the end of a working session and go on in the next (the same command resumes it;
the recorded ``seconds`` and ``epochs_this_process`` then cover the last process only).
A run that must outlive the machine it runs on is committed half-way: its state directory (named by
the run's key, a hash of architecture, epochs, batch size and seeds) goes under ``bench/resume/``,
and the next session copies ``bench/resume/*`` into its resume root and runs the same command
(never point ``--resume-root`` at ``bench/resume`` itself: every epoch would rewrite tracked
files). Delete the directory once the run's result is committed.
``--heldout A:B`` adds the predictor's held-out subnets A..B-1, the from-scratch ground truth of
``bench/estimators.py --truth-epochs-from-baselines`` (processes side by side take slices).
``--workers N`` trains N architectures at once on a local Ray cluster (``--ray-address`` joins one;
each worker one CPU and its own torch thread); results are written as each arrives, so a killed
run keeps the finished ones and, with ``--resume-root`` on a shared disk, the epochs of the rest.
``--train-seed N`` trains the same architectures again from another initialisation and batch
order (same data split) and writes ``scratch_repeats[-PART].json``, never read as a baseline:
``bench/ground_truth.py`` compares the two seeds to say how much of a ranking the ground truth
itself can support.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, write_result  # noqa: E402
from heldout import heldout_archs  # noqa: E402
from quality_archs import quality_archs  # noqa: E402

from edgenas.data import load_fashion_mnist  # noqa: E402
from edgenas.distributed import Job, Task, open_pool  # noqa: E402
from edgenas.space import Arch, get_space  # noqa: E402
from edgenas.supernet import accuracy, resolve_device, train_from_scratch  # noqa: E402

NAME = "scratch_baselines"
REPEATS = "scratch_repeats"
"""Runs with another training seed (``--train-seed``): kept apart so no bench takes one as the baseline."""
BATCH_SIZE = 512
"""Batch size of every from-scratch run the benches compare with, wherever it trains."""


def load_baselines() -> dict[tuple[str, int], dict]:
    """``{(arch string, epochs): result}`` measured so far, over ``scratch_baselines.json`` and its
    parts (``scratch_baselines-PART.json``, written by processes that ran side by side): one
    architecture may have been trained for several epoch budgets. Empty when none."""
    runs: dict[tuple[str, int], dict] = {}
    for path in [RESULTS_DIR / f"{NAME}.json", *sorted(RESULTS_DIR.glob(f"{NAME}-*.json"))]:
        if not path.exists():
            continue
        for arch, result in json.loads(path.read_text())["runs"].items():
            runs[(arch, int(result["epochs"]))] = result
    return runs


def _training_state(seed: int, device: str, threads: int | None, train_seed: int | None = None) -> tuple:
    """A worker's state: the data and space every run trains on (loaded once per worker); the data
    split follows ``seed``, the initialisation and batch order ``train_seed`` (default ``seed``)."""
    if threads is not None:
        torch.set_num_threads(threads)
    if device.startswith("cuda"):
        from torch.backends import cudnn  # here: a Ray worker gets this function by value, cudnn is not picklable

        cudnn.benchmark = True  # one input shape per run: let cuDNN pick its fastest kernels
    data = load_fashion_mnist(seed=seed)
    spec = get_space("mcu-mbv2", in_channels=data.in_channels, num_classes=data.num_classes)
    return data, spec, seed if train_seed is None else train_seed, device


def _train(state: tuple, payload: tuple[str, str, int, int, str | None]) -> dict:
    """Train one architecture from scratch (resuming from ``resume`` when given); its result row."""
    data, spec, seed, device = state
    label, text, epochs, batch_size, resume = payload
    arch = Arch.parse(text).validate(spec)
    started = time.time()
    ran: list[int] = []

    def progress(epoch: int, loss: float) -> None:
        ran.append(epoch)
        print(f"{label} epoch {epoch + 1}/{epochs} loss {loss:.4f} {time.time() - started:.0f} s", flush=True)

    model = train_from_scratch(spec, arch, data, epochs=epochs, batch_size=batch_size, seed=seed, device=device,
                               on_epoch=progress, resume_dir=Path(resume) if resume else None)
    return {
        "label": label,
        "test_acc": accuracy(model, data.test, arch.resolution),
        "epochs": epochs,
        "batch_size": batch_size,
        "train_seed": seed,
        "seconds": round(time.time() - started, 1),
        "epochs_this_process": len(ran),
        "device": device,
        "hardware": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--labels", default="smallest,random1,random2", help="supernet_quality subnets ('' for none)")
    parser.add_argument("--arch", action="append", default=[], help="an architecture string (repeatable)")
    parser.add_argument("--heldout", default="", help="slice A:B of the predictor's held-out subnets")
    parser.add_argument("--random", type=int, default=3, help="random subnets supernet_quality samples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the data split (and of training)")
    parser.add_argument("--train-seed", type=int,
                        help="another seed for initialisation and batch order: a repeat, written to "
                             f"{REPEATS}[-PART].json")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--part", default="", help="write scratch_baselines-PART.json (for processes side by side)")
    parser.add_argument("--resume-root", type=Path,
                        help="keep each run's state under this directory after every epoch; the same command "
                             "goes on from there (runs of hundreds of CPU epochs span working sessions)")
    parser.add_argument("--workers", type=int, help="architectures trained at once on a local Ray cluster")
    parser.add_argument("--ray-address", help="join this Ray cluster (auto or HOST:PORT) instead")
    args = parser.parse_args()
    repeat = args.train_seed is not None and args.train_seed != args.seed
    base = REPEATS if repeat else NAME
    name = f"{base}-{args.part}" if args.part else base
    device = resolve_device(args.device)
    data = load_fashion_mnist(seed=args.seed)
    spec = get_space("mcu-mbv2", in_channels=data.in_channels, num_classes=data.num_classes)
    named = quality_archs(spec, args.random, args.seed)
    todo = [(label, named[label]) for label in args.labels.split(",") if label]
    todo += [("arch", Arch.parse(text).validate(spec)) for text in args.arch]
    if args.heldout:
        first, stop = (int(v) for v in args.heldout.split(":"))
        todo += [(f"heldout{first + i}", a) for i, a in enumerate(heldout_archs()[first:stop])]
    path = RESULTS_DIR / f"{name}.json"
    runs = json.loads(path.read_text())["runs"] if path.exists() else {}
    tasks = []
    for i, (label, arch) in enumerate(todo):
        resume = None
        if args.resume_root is not None:
            seeds = f"{args.seed}:{args.train_seed}" if repeat else f"{args.seed}"
            key = hashlib.sha256(f"{arch}|{args.epochs}|{args.batch_size}|{seeds}".encode()).hexdigest()[:16]
            resume = str(args.resume_root / key)
        tasks.append(Task(i, (label, str(arch), args.epochs, args.batch_size, resume), label))
    parallel = (args.workers or 1) > 1 or args.ray_address
    job = Job(_train, _training_state, (args.seed, device, 1 if parallel else None, args.train_seed))
    with open_pool(args.workers, args.ray_address) as pool:
        if pool.note:
            print(pool.note, flush=True)
        for done in pool.map(job, tasks):
            label, text = todo[done.task_id][0], str(todo[done.task_id][1])
            runs[text] = done.value
            print(label, runs[text], flush=True)
            write_result(name, {"runs": runs})


if __name__ == "__main__":
    main()
