"""edgenas extract against baselines at four MCU budgets on the emulated Cortex-M7.

For each (RAM, flash) budget: the searched subnet (search wall time, int8 Fashion-MNIST test
accuracy, measured arena / flash / instructions from the real firmware in QEMU), the best of 500
random feasible subnets (by the same predictor), and optionally a hand-designed MobileNetV2-style
baseline (k3e6 blocks, full depth, width and resolution scaled down until it fits) trained from
scratch with the supernet's epoch budget (``--baseline``; slow on a CPU). With
``--finetune-epochs N`` also ``extract --finetune-epochs N`` per budget (Once-for-All's optional
last step): the searched subnet trained N more epochs, distilled from the largest, then int8.

    python bench/extract.py [--random 500] [--baseline] [--finetune-epochs N] [--out-dir runs/bench-extract]

Writes bench/results/extract.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import paired_comparison, write_result  # noqa: E402
from scratch_baselines import BATCH_SIZE, load_baselines  # noqa: E402

from edgenas.boards import get_board  # noqa: E402
from edgenas.cost import CostModel  # noqa: E402
from edgenas.cost.latency_table import LatencyTable  # noqa: E402
from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.deploy import build_host, compile_graph, quantize_images, quantize_subnet  # noqa: E402
from edgenas.estimate import AccuracyPredictor  # noqa: E402
from edgenas.extract import PREDICTIONS_FILE, ExtractRequest, extract  # noqa: E402
from edgenas.estimate.registry import PREDICTORS_DIR  # noqa: E402
from edgenas.extract.pipeline import default_latency_table  # noqa: E402
from edgenas.search import Constraints, run_search  # noqa: E402
from edgenas.space import Arch, BlockChoice, sample_arch  # noqa: E402
from edgenas.supernet import load_supernet, prepare_subnet, resolve_device, train_from_scratch, trained_epochs  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402

BUDGETS = ((32 * 1024, 128 * 1024), (64 * 1024, 256 * 1024), (128 * 1024, 512 * 1024), (256 * 1024, 1024 * 1024))


def budget_tag(ram: int, flash: int) -> str:
    """A budget's name in output folders and results, e.g. ``ram32k-flash128k``."""
    return f"ram{ram // 1024}k-flash{flash // 1024}k"


def int8_test_correct(subnet, data, work: Path) -> np.ndarray:
    """Quantize, compile and run the host build of ``subnet`` on the whole test split: which
    images it classifies right."""
    graph = quantize_subnet(subnet, data.train)
    x = quantize_images(data.test.x, subnet.arch.resolution)
    return build_host(compile_graph(graph, work).out_dir).run(x).argmax(1) == data.test.y


def extracted_test_correct(out_dir: Path, data) -> np.ndarray:
    """Which test images ``extract``'s own int8 build (in ``out_dir``) classified right."""
    return np.load(out_dir / PREDICTIONS_FILE) == data.test.y


def random_best(cost, predictor, constraints, spec, count: int, seed: int) -> tuple[Arch, float, int]:
    """Best predicted of the first ``count`` feasible uniform samples (and how many were drawn)."""
    rng = np.random.default_rng(seed)
    feasible, drawn = [], 0
    while len(feasible) < count and drawn < 200 * count:
        arch = sample_arch(spec, rng)
        drawn += 1
        if constraints.feasible(cost.metrics(arch)):
            feasible.append(arch)
    scores = predictor(feasible)
    best = int(np.argmax(scores))
    return feasible[best], float(scores[best]), drawn


def hand_designed(spec, cost, constraints) -> Arch | None:
    """MobileNetV2-style (k3e6 everywhere, full depth), the widest then highest resolution that fits."""
    block = BlockChoice(3, 6) if 6 in spec.expands else BlockChoice(3, max(spec.expands))
    for width in sorted(spec.widths, reverse=True):
        for resolution in sorted(spec.resolutions, reverse=True):
            for depth_cut in range(0, max(s.depths[-1] - s.depths[0] for s in spec.stages) + 1):
                stages = tuple((block,) * max(s.depths[0], s.depths[-1] - depth_cut) for s in spec.stages)
                arch = Arch(resolution, width, stages)
                if constraints.feasible(cost.metrics(arch)):
                    return arch
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--random", type=int, default=500)
    parser.add_argument("--baseline", action="store_true", help="train the hand-designed baseline from scratch")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=Path("runs/bench-extract"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto", help="where the baseline trains (a GPU when torch sees one)")
    parser.add_argument("--baseline-batch-size", type=int, default=BATCH_SIZE, help="batch size of the baseline's training")
    parser.add_argument("--finetune-epochs", type=int, default=0, help="also fine-tune each searched subnet N epochs")
    parser.add_argument("--scratch-epochs", type=int, default=0,
                        help="epochs of the from-scratch runs to compare with (0: the supernet's total)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    board = get_board("mps2-an500")
    net, meta = load_supernet(bundled_supernet_dir())
    spec = net.spec
    data = load_recorded_dataset(meta)
    predictor = AccuracyPredictor.load(PREDICTORS_DIR / "fashion-mnist")
    table_path = default_latency_table(board)
    table = LatencyTable.load(table_path) if table_path else None
    cost = CostModel(spec, board, table)
    epochs = args.scratch_epochs or trained_epochs(meta)
    measured = load_baselines()
    rows, summary = [], []
    finetuned: dict[str, dict] = {}  # by arch: budgets that find the same subnet share one run
    for ram, flash in BUDGETS:
        tag = budget_tag(ram, flash)
        constraints = Constraints.of(sram_bytes=ram, flash_bytes=flash)
        started = time.perf_counter()
        search = run_search(cost, predictor, constraints, seed=args.seed)
        search_s = time.perf_counter() - started
        report = extract(ExtractRequest(board=board, limits=constraints.as_dict(), out_dir=args.out_dir / tag,
                                        seed=args.seed, verify_inputs=2))
        assert report.arch == str(search.arch), "extract must reproduce the seeded search"
        rand_arch, rand_pred, drawn = random_best(cost, predictor, constraints, spec, args.random, args.seed)
        searched = extracted_test_correct(args.out_dir / tag, data)
        rand_correct = int8_test_correct(prepare_subnet(net, rand_arch, data), data, args.out_dir / tag / "random")
        rand_acc = float(rand_correct.mean())
        row = {
            "ram": ram, "flash": flash, "arch": report.arch, "search_s": round(search_s, 3),
            "predicted_acc": search.fitness, "float_test_acc": report.accuracy["float"],
            "int8_test_acc": report.accuracy["int8"], "arena": report.measured["arena_bytes"],
            "ram_used": report.measured["ram_bytes"], "flash_used": report.measured["flash_bytes"],
            "instructions": report.measured["latency_median"],
            "random": {"arch": str(rand_arch), "predicted_acc": rand_pred, "int8_test_acc": rand_acc,
                       "feasible": args.random, "drawn": drawn,
                       "searched_minus_random": paired_comparison(searched, rand_correct)},
        }
        if args.finetune_epochs > 0:
            if report.arch not in finetuned:
                started, tuned_dir = time.perf_counter(), args.out_dir / f"{tag}-finetuned"
                tuned = extract(ExtractRequest(board=board, limits=constraints.as_dict(), out_dir=tuned_dir,
                                               seed=args.seed, verify_inputs=2, finetune_epochs=args.finetune_epochs))
                tuned_correct = extracted_test_correct(tuned_dir, data)
                finetuned[report.arch] = {
                    "epochs": args.finetune_epochs, "float_inherited_test_acc": tuned.accuracy["float_inherited"],
                    "float_test_acc": tuned.accuracy["float"], "int8_test_acc": tuned.accuracy["int8"],
                    "finetune_s": tuned.timings_s["finetune"], "extract_s": round(time.perf_counter() - started, 1),
                    "flash_used": tuned.measured["flash_bytes"], "arena": tuned.measured["arena_bytes"],
                    "finetuned_minus_inherited": paired_comparison(tuned_correct, searched)}
            row["finetuned"] = finetuned[report.arch]
        scratch = measured.get((report.arch, epochs))
        if scratch:
            # TinyNAS's use of a search: the found architecture trained from scratch (float, elsewhere).
            row["searched_from_scratch"] = {"float_test_acc": scratch["test_acc"], "epochs": epochs,
                                            "batch_size": scratch["batch_size"], "hardware": scratch["hardware"]}
        baseline_acc = None
        base_arch = hand_designed(spec, cost, constraints)
        row["baseline"] = {"arch": str(base_arch) if base_arch else None, "epochs": epochs}
        done = measured.get((str(base_arch), epochs))
        if base_arch is not None and done:
            # Trained elsewhere (e.g. a GPU): scratch_baselines.json holds its float test accuracy only.
            row["baseline"].update(float_test_acc=done["test_acc"], hardware=done["hardware"],
                                   batch_size=done["batch_size"])
            baseline_acc = done["test_acc"]
        elif args.baseline and base_arch is not None:
            row["baseline"]["batch_size"] = args.baseline_batch_size
            model = train_from_scratch(spec, base_arch, data, epochs=epochs, batch_size=args.baseline_batch_size,
                                       seed=args.seed, device=resolve_device(args.device))
            base_correct = int8_test_correct(model, data, args.out_dir / tag / "baseline")
            baseline_acc = float(base_correct.mean())
            row["baseline"].update(int8_test_acc=baseline_acc, searched_minus_baseline=paired_comparison(searched, base_correct))
        rows.append(row)
        summary.append({"ram": ram, "flash": flash, "int8_test_acc": row["int8_test_acc"], "random_best_acc": rand_acc,
                        "baseline_acc": baseline_acc, "search_s": row["search_s"], "arena": row["arena"],
                        "flash_used": row["flash_used"],
                        "searched_scratch_acc": row["searched_from_scratch"]["float_test_acc"]
                        if "searched_from_scratch" in row else None,
                        "finetuned_int8_test_acc": row["finetuned"]["int8_test_acc"] if "finetuned" in row else None})
        print(tag, row, flush=True)
    notes = ("baseline_acc is null when --baseline was not run; finetuned_int8_test_acc when --finetune-epochs was not; "
             "searched_scratch_acc (the searched architecture trained from scratch, float) is null when scratch_baselines holds "
             "no run of it at these epochs")
    print(write_result("extract", {"board": board.name, "rows": rows, "summary": summary,
                                   "supernet_epochs": trained_epochs(meta), "scratch_epochs": epochs,
                                   "torch_threads": args.threads, "notes": notes}))


if __name__ == "__main__":
    main()
