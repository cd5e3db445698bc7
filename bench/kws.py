"""Keyword spotting end to end (#23): the one command on the synthetic keyword dataset, against a
DS-CNN-S baseline trained on the same split, and the front end's cost on the emulated board.

1. builds the dataset (`edgenas data kws --seed 0`) under out/bench-data/kws when it is missing;
2. runs `edgenas extract --data out/bench-data/kws --target cortex-m7 --ram 64KB` (the bundled
   audio supernet, trained on this very data, used as it is; without one, the bundled supernet
   adapted to the 49 x 40 log-mel features; work folder and output under out/bench-kws/, started
   from nothing cached but the features) as a subprocess, while this process
3. trains DS-CNN-S (edgenas.estimate.dscnn) on the same split for as many epochs as the subnet's
   training saw (the supernet's epochs, or the adaptation's, plus --finetune-epochs) and measures
   its int8 build, and
4. runs the C front end on two test clips in QEMU (mps2-an500) with the harness of
   tests/audio/test_frontend_qemu.py, demanding the Python reference's bytes.

Both models are scored on every test clip (voices never trained on); a paired McNemar test says
whether the difference is more than noise.

    python bench/kws.py [--adapt-steps 600] [--adapt-samples 60] [--finetune-epochs 6]

Writes bench/results/kws.json; summary: test_acc (extracted int8), dscnn_baseline_acc (DS-CNN-S
int8), arena (bytes), instructions (the net, per inference), frontend_instructions (per clip).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from common import paired_comparison, write_result  # noqa: E402

from edgenas.data import load_dataset  # noqa: E402
from edgenas.data.kws import build_keyword_dataset  # noqa: E402
from edgenas.extract.adapt import AdaptPlan  # noqa: E402
from edgenas.supernet.bundled import bundle_for  # noqa: E402
from edgenas.supernet.checkpoint import load_meta, trained_epochs  # noqa: E402

RAM = "64KB"


def _say(msg: str) -> None:
    print(f"[kws {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def ensure_dataset(root: Path) -> float | None:
    """Build the seed-0 dataset at ``root`` unless it is there; minutes taken, or None if present."""
    if (root / "manifest.json").is_file():
        return None
    start = time.perf_counter()
    _say(f"building the keyword dataset in {root}")
    build_keyword_dataset(root, seed=0, workers=2)
    return round((time.perf_counter() - start) / 60, 2)


def start_extract(data: Path, out: Path, work: Path, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    """The one command, as a user types it (its own process: one torch thread, see extract)."""
    command = [str(Path(sys.executable).parent / "edgenas"), "extract", "--data", str(data), "--target", "cortex-m7",
               "--ram", RAM, "--out", str(out), "--work", str(work), "--adapt-steps", str(args.adapt_steps),
               "--adapt-samples", str(args.adapt_samples), "--finetune-epochs", str(args.finetune_epochs),
               "--eval-images", "0", "--seed", "0", "--quiet"]
    _say(" ".join(command[1:]))
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT)


def frontend_cost(data: Path, work: Path, clips: int = 2) -> dict:
    """Instructions per clip of the C front end on the emulated M7, on the first spoken test clips
    (its cost hardly depends on the audio), each checked byte for byte against the Python reference."""
    from tests.audio.test_frontend_qemu import _firmware_sources

    from edgenas.audio import log_mel_u8
    from edgenas.boards import BoardRegistry
    from edgenas.data.kws.folder import fit_clip
    from edgenas.data.kws.wav import read_wav
    from edgenas.targets.cortex_m import driver
    from edgenas.targets.cortex_m.build import build_firmware

    names = [n for n in sorted((data / "testing_list.txt").read_text().split()) if not n.startswith("_silence_")][:clips]
    audio = [fit_clip(read_wav(data / n, 16_000), 16_000) for n in names]
    board = BoardRegistry(entry_points=False, user_dir=None).get("mps2-an500")
    shutil.rmtree(work, ignore_errors=True)
    fw = build_firmware(_firmware_sources(work / "src"), board, work / "fw", with_runtime=False)
    runs = driver.run(fw, [a.astype("<i2").tobytes() for a in audio])
    exact = all(m.output == log_mel_u8(a).tobytes() for a, m in zip(audio, runs))
    if not exact:
        raise SystemExit("the front end on the board differs from the Python reference")
    counts = [int(m.total_count) for m in runs]
    return {"clips": names, "instructions": counts, "unit": runs[0].unit, "bit_exact": exact,
            "scratch_touched_bytes": runs[0].arena_touched_bytes, "stack_bytes": runs[0].stack_bytes,
            "board": board.name}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "out" / "bench-data" / "kws")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bench-kws")
    parser.add_argument("--adapt-steps", type=int, default=600)
    parser.add_argument("--adapt-samples", type=int, default=60)
    parser.add_argument("--finetune-epochs", type=int, default=6)
    parser.add_argument("--dscnn-epochs", type=int, default=0,
                        help="0: the subnet's epochs (the bundled supernet's or the adaptation's, plus fine-tune)")
    args = parser.parse_args()
    import torch

    from edgenas.estimate.dscnn import dscnn_baseline

    torch.set_num_threads(1)  # the extract subprocess holds the other core
    start = time.perf_counter()
    build_minutes = ensure_dataset(args.data)
    t = time.perf_counter()
    splits = load_dataset(str(args.data))
    features_s = round(time.perf_counter() - t, 1)
    bundle, same = bundle_for(splits)
    epochs = ([trained_epochs(load_meta(bundle))] if same
              else list(AdaptPlan().scaled(args.adapt_steps, args.adapt_samples).epochs(len(splits.train))))
    dscnn_epochs = args.dscnn_epochs or sum(epochs) + args.finetune_epochs
    shutil.rmtree(args.out, ignore_errors=True)  # minutes are measured from nothing cached (but the features)
    args.out.mkdir(parents=True)
    proc = start_extract(args.data, args.out / "extract", args.out / "adapt", args, args.out / "extract.log")

    _say(f"training DS-CNN-S for {dscnn_epochs} epochs beside it")
    dscnn = dscnn_baseline(splits, epochs=dscnn_epochs, seed=0, work_dir=args.out / "dscnn-c")
    _say(f"DS-CNN-S: float {dscnn.test_acc:.4f}, int8 {dscnn.int8_test_acc:.4f} ({dscnn.seconds:.0f} s)")
    frontend = frontend_cost(args.data, args.out / "frontend")
    _say(f"front end: {frontend['instructions']} instructions per clip")
    if proc.wait() != 0:
        raise SystemExit(f"extract failed (exit {proc.returncode}): see {args.out / 'extract.log'}")
    minutes = round((time.perf_counter() - start) / 60, 1)

    report = json.loads((args.out / "extract" / "report.json").read_text())
    predictions = np.load(args.out / "extract" / "int8_test_predictions.npy")
    assert len(predictions) == len(splits.test)
    measured = report["measured"]
    result = {
        "summary": {
            "test_acc": report["accuracy"]["int8"],
            "dscnn_baseline_acc": dscnn.int8_test_acc,
            "arena": measured["arena_bytes"],
            "instructions": int(measured["latency_median"]),
            "frontend_instructions": int(np.median(frontend["instructions"])),
        },
        "minutes": minutes,
        "dataset": {"root": str(args.data), "build_minutes": build_minutes, "features_seconds": features_s,
                    "classes": list(splits.classes),
                    "images": {p: len(getattr(splits, p)) for p in ("train", "val", "test")},
                    "fingerprint": splits.fingerprint},
        "extract": {
            "arch": report["arch"], "float_test_acc": report["accuracy"]["float"],
            "float_inherited_test_acc": report["accuracy"].get("float_inherited"),
            "int8_per_class": report["accuracy"]["int8_per_class"],
            "baselines": report["accuracy"].get("baselines"), "warnings": report["accuracy"].get("warnings"),
            "macs": report["predicted"]["macs"], "params": report["predicted"]["params"],
            "ram_bytes": measured["ram_bytes"], "flash_bytes": measured["flash_bytes"],
            "latency_unit": measured["latency_unit"], "verified_bit_exact": report["verified_bit_exact"],
            "supernet": str(bundle.relative_to(ROOT)) if bundle.is_relative_to(ROOT) else str(bundle),
            "supernet_trained_on_this_data": same,
            "supernet_epochs" if same else "adapt_epochs": epochs,
            **({} if same else {"adapt_steps": args.adapt_steps, "adapt_samples": args.adapt_samples}),
            "finetune_epochs": args.finetune_epochs, "adapted": report["request"]["adapted"],
            "timings_s": report["timings_s"],
        },
        "dscnn": dscnn.to_dict(),
        "extract_vs_dscnn": paired_comparison(predictions == splits.test.y, dscnn.int8_predictions == splits.test.y),
        "frontend": frontend,
        "input_handling": "49x40 log-mel image bilinearly resized to the subnet's r x r (training, evaluation "
                          "and the int8 inputs alike); DS-CNN-S reads 49x40 as it is",
        "load_average": list(os.getloadavg()),
    }
    path = write_result("kws", result)
    _say(f"{json.dumps(result['summary'])} in {minutes} min -> {path}")


if __name__ == "__main__":
    main()
