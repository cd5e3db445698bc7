"""Train the bundled supernet within a wall-clock budget and record how (command, hardware, time).

The epochs per phase are planned from measured step times on this device: a few timed steps of
each phase, then ``share × budget / (seconds per epoch)``. The plan is printed as the equivalent
``edgenas train`` command, which reproduces the run exactly (the budget only picks the epochs).
Appends the run as a stage to ``bench/results/supernet_training.json`` and stamps
``hardware``/``command`` into the checkpoint's ``supernet.json``; ``--record --out DIR`` appends a
run that finished elsewhere.

    python bench/train_supernet.py --device cuda --budget 900 --subnets 4 --sandwich --out runs/gpu
    python bench/train_supernet.py --device cuda --epochs 0,0,0,30 --sandwich --seed 2 \
        --init-from edgenas/assets/supernet/fashion-mnist --out runs/gpu-more
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import RESULTS_DIR, write_result  # noqa: E402

from edgenas.data import data_seed, load_dataset  # noqa: E402
from edgenas.supernet import load_meta  # noqa: E402
from edgenas.space import get_space  # noqa: E402
from edgenas.supernet import OFASupernet, TrainConfig, default_phases, resolve_device, subnets_for_step, train_supernet, trained_epochs  # noqa: E402
from edgenas.supernet.teacher import Teacher  # noqa: E402
from edgenas.supernet.device import memory_format_for  # noqa: E402
from edgenas.supernet.train import KD_SOURCES, train_step  # noqa: E402
from edgenas.supernet.checkpoint import META, atomic_write_json  # noqa: E402

SHARES = {"full": 0.35, "kernel": 0.15, "depth": 0.2, "expand": 0.3}


def seconds_per_step(spec, data, phase, batch_size: int, device: str, steps: int = 12) -> float:
    """Mean wall time of ``steps`` training steps of ``phase`` (the trainer's own step) after 3 warm-ups."""
    import numpy as np

    fmt = memory_format_for(device)
    net = OFASupernet(spec).to(device, memory_format=fmt).train()
    teacher = Teacher(OFASupernet(spec).to(device), data, calib_images=500, memory_format=fmt)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch_size, spec.in_channels, 28, 28, device=device)
    y = torch.randint(0, spec.num_classes, (batch_size,), device=device)
    rng, gen = np.random.default_rng(0), torch.Generator().manual_seed(0)
    for i in range(steps + 3):
        if i == 3:
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            started = time.perf_counter()
        train_step(net, teacher, opt, x, y, subnets_for_step(spec, phase, rng), gen, TrainConfig(), fmt)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / steps


def hardware(device: str) -> str:
    cpu = f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads"
    if device.startswith("cuda"):
        return f"{torch.cuda.get_device_name(device)} (torch {torch.__version__}), {cpu}"
    return f"{cpu} (torch {torch.__version__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--budget", type=float, default=0, help="seconds of training to plan for (0: use --epochs)")
    parser.add_argument("--epochs", default="", help="full,kernel,depth,expand (instead of --budget)")
    parser.add_argument("--subnets", type=int, default=4)
    parser.add_argument("--sandwich", action="store_true")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lr-scale", type=float, default=1.0,
                        help="multiply every phase's peak learning rate (e.g. for a larger batch)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kernel-end-top", action="store_true",
                        help="the all-smallest-kernel draw is the largest subnet (edgenas train --kernel-end-top)")
    parser.add_argument("--resolution-weights", default="",
                        help="relative odds of the space's resolutions when a step draws one (edgenas train's)")
    parser.add_argument("--width-weights", default="",
                        help="relative odds of the space's widths in the expand phase's random draws (edgenas train's)")
    parser.add_argument("--init-from", type=Path, help="continue a finished checkpoint (e.g. --epochs 0,0,0,N)")
    parser.add_argument("--kd-from", choices=KD_SOURCES, default="teacher",
                        help="soft targets: the frozen teacher, or each step's largest subnet in place")
    parser.add_argument("--teacher", type=Path, help="distil from this checkpoint's full net instead of the run's own")
    parser.add_argument("--why", default="", help="why this stage was run (kept in the record)")
    parser.add_argument("--record", action="store_true", help="only record the finished run in --out as a stage")
    parser.add_argument("--record-soup", action="store_true",
                        help="record the soup in --out (edgenas soup) as a stage, its runs beside the bundle as branches")
    args = parser.parse_args()
    if args.record:
        print(record_stage(args.out, args.why, " ".join(sys.argv)))
        return
    if args.record_soup:
        print(record_soup(args.out, args.why, " ".join(sys.argv)))
        return
    device = resolve_device(args.device)
    # The validation split stays the parent's: a new one would hold images the parent trained on.
    data = load_dataset("fashion-mnist", seed=data_seed(load_meta(args.init_from)) if args.init_from else 0)
    spec = get_space("mcu-mbv2", in_channels=data.in_channels, num_classes=data.num_classes)
    steps_per_epoch = math.ceil(len(data.train) / args.batch_size)

    timing = {}
    if args.epochs:
        epochs = tuple(int(e) for e in args.epochs.split(","))
    else:
        probe = default_phases((1, 1, 1, 1), args.subnets, args.sandwich)
        timing = {p.kind: seconds_per_step(spec, data, p, args.batch_size, device) for p in probe}
        epochs = tuple(max(1, int(SHARES[k] * args.budget / (timing[k] * steps_per_epoch))) for k in SHARES)
    command = (
        f"edgenas train --data fashion-mnist --epochs {','.join(map(str, epochs))} --subnets {args.subnets}"
        f"{' --sandwich' if args.sandwich else ''} --batch-size {args.batch_size} --seed {args.seed} --device {device}"
        f"{f' --lr-scale {args.lr_scale:g}' if args.lr_scale != 1 else ''}"
        f"{' --kernel-end-top' if args.kernel_end_top else ''}"
        f"{f' --resolution-weights {args.resolution_weights}' if args.resolution_weights else ''}"
        f"{f' --width-weights {args.width_weights}' if args.width_weights else ''}"
        f"{f' --init-from {args.init_from}' if args.init_from else ''}{f' --teacher {args.teacher}' if args.teacher else ''}"
        f"{' --kd-from top' if args.kd_from == 'top' else ''}"
        f" --out {args.out}"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    plan = {"epochs": epochs, "seconds_per_step": timing, "command": command, "batch_size": args.batch_size,
            "total_epochs": sum(epochs), "device": device, "hardware": hardware(device)}
    (args.out / "plan.json").write_text(json.dumps(plan, indent=2) + "\n")
    print(json.dumps(plan), flush=True)

    def weights(text: str) -> tuple[float, ...]:
        return tuple(float(w) for w in text.split(",")) if text else ()

    config = TrainConfig(phases=default_phases(epochs, args.subnets, args.sandwich, args.lr_scale,
                                               weights(args.resolution_weights), kernel_end_top=args.kernel_end_top,
                                               width_weights=weights(args.width_weights)),
                         batch_size=args.batch_size, seed=args.seed, kd_from=args.kd_from)
    started = time.time()

    def on_epoch(record: dict) -> None:
        print(json.dumps({**record, "elapsed": round(time.time() - started, 1)}), flush=True)

    train_supernet(data, spec, args.out, config, on_epoch=on_epoch, device=device, init_from=args.init_from,
                   teacher_from=args.teacher)
    meta = json.loads((args.out / META).read_text())
    # This stage's epochs summed, not this invocation's time: a run resumed over several sessions
    # (or re-invoked when already finished) still records what its training took.
    wall = round(sum(e["seconds"] for e in meta["log"][-sum(epochs):]), 1)
    meta.update(hardware=plan["hardware"], command=command, wall_seconds=wall)
    atomic_write_json(args.out / META, meta)
    print(record_stage(args.out, args.why, " ".join(sys.argv)))


def _run_record(meta: dict) -> dict:
    """A finished run's part of a stage: how it was trained, on what, how long."""
    return {"command": meta.get("command", ""), "config": meta["config"], "log": meta["log"],
            "hardware": meta.get("hardware", ""), "wall_seconds": meta.get("wall_seconds")}


def record_stage(out: Path, why: str, bench_command: str) -> Path:
    """Append the finished run in ``out`` as one stage of ``supernet_training.json``: the bundled
    supernet is trained in stages (GPU and CPU sessions), and its record keeps every one."""
    meta = json.loads((out / META).read_text())
    stage = {**_run_record(meta), "why": why, "planned_by": bench_command, "total_epochs_after": trained_epochs(meta)}
    return _append_stage(out, stage, meta)


def record_soup(out: Path, why: str, bench_command: str) -> Path:
    """Append the soup in ``out`` as one stage: each ingredient run continued from the last stage
    is a branch (with its own command, machine and time), the stage adds the longest branch's
    epochs (what ``trained_epochs`` counts) and its time is every branch's plus the averaging's."""
    meta = json.loads((out / META).read_text())
    ingredients = meta["soup"]["ingredients"]
    runs = [json.loads((Path(i["directory"]) / META).read_text()) for i in ingredients[1:]]
    branches = [{**_run_record(m), "epochs": sum(p["epochs"] for p in m["config"]["phases"])} for m in runs]
    longest = max(branches, key=lambda b: b["epochs"])
    stage = {"command": meta["soup"]["command"], "config": longest["config"], "branches": branches,
             "soup": meta["soup"], "hardware": longest["hardware"],
             "wall_seconds": round(sum(b["wall_seconds"] for b in branches) + meta["soup"]["seconds"], 1),
             "why": why, "planned_by": bench_command, "total_epochs_after": trained_epochs(meta)}
    return _append_stage(out, stage, meta)


def _append_stage(out: Path, stage: dict, meta: dict) -> Path:
    previous = RESULTS_DIR / "supernet_training.json"
    stages = json.loads(previous.read_text()).get("stages", []) if previous.exists() else []
    stages = [s for s in stages if s.get("command") != stage["command"]] + [stage]
    return write_result("supernet_training", {
        "stages": stages, "total_epochs": trained_epochs(meta),
        "total_wall_seconds": round(sum(s.get("wall_seconds") or 0 for s in stages), 1),
        "weights_bytes": (out / "supernet.safetensors").stat().st_size,
        "note": "one stage per training run; the bundled supernet is the last stage's checkpoint",
    })


if __name__ == "__main__":
    main()
