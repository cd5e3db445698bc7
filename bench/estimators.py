"""How well does each performance estimator rank subnets? Kendall tau and Spearman rho vs trained accuracy.

Writes bench/results/estimators.json. Subnets: the bundled predictor's held-out samples (the
predictor never saw them; the split is recomputed exactly as ``edgenas predictor fit`` makes it and
checked against the predictor's saved held-out tau). Two ground truths:

- ``inherited_val``: the measured validation accuracy of each subnet with inherited supernet
  weights + BN recalibration (the ``samples-*.jsonl`` collected for the predictor), all subnets;
- ``scratch_truth``: accuracy after training from scratch, for the first ``--truth-subnets`` of
  them: by default validation accuracy after a short training on a fixed subset, trained here;
  with ``--truth-from-baselines EPOCHS``, test accuracy after EPOCHS full epochs, read from
  ``scratch_baselines*.json`` (``bench/scratch_baselines.py --heldout 0:30``, e.g. on a GPU with
  ``bench/scratch_on_gpu.sh``). Those subnets are then also measured with inherited weights on the
  same test images (``inherited_test``), so the two accuracies differ by the weights alone:
  ``summary.ground_truths_agree_same_images`` beside ``ground_truths_agree`` (inherited_val, counted
  on other images, against the test accuracy).

Estimators: the zero-cost proxies (synflow, jacob_cov, snip, grad_norm, params), the predictor,
a cheaper inherited-weights measurement, a shorter from-scratch training, and successive halving
over the scratch subset. Times are wall seconds per arch on this (shared) CPU, one torch thread.

    nice -n 10 python bench/estimators.py [--truth-subnets 30] [--truth-images 1000] [--halving-min 250]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_result  # noqa: E402
from heldout import PREDICTOR_DIR, heldout_split  # noqa: E402
from scratch_baselines import load_baselines  # noqa: E402

from edgenas.data import load_recorded_dataset  # noqa: E402
from edgenas.estimate import AccuracyPredictor, kendall_tau, measure_accuracy, read_samples  # noqa: E402
from edgenas.estimate.dataset import measurement_settings  # noqa: E402
from edgenas.estimate.halving import ScratchConfig, ScratchEvaluator, scratch_accuracy, successive_halving  # noqa: E402
from edgenas.estimate.proxies import PROXIES, ProxyConfig, score_arch  # noqa: E402
from edgenas.supernet import accuracy, load_supernet, prepare_subnet  # noqa: E402
from edgenas.supernet.bundled import bundled_supernet_dir  # noqa: E402

def _split_matches(predictor: AccuracyPredictor, train, held) -> bool:
    """True when the predictor's saved held-out tau is reproduced on ``held`` (so it never trained on them)."""
    saved = predictor.metrics.get("heldout_kendall_tau")
    if saved is None or predictor.metrics.get("train_samples") != len(train):
        return False
    tau = kendall_tau(predictor.predict([s.arch for s in held]), np.asarray([s.accuracy for s in held]))
    return abs(tau - saved) < 1e-9


def rank_stats(scores, truth) -> dict:
    rho = spearmanr(scores, truth).statistic
    return {"kendall_tau": round(kendall_tau(np.asarray(scores), np.asarray(truth)), 4),
            "spearman_rho": round(float(rho) if np.isfinite(rho) else 0.0, 4), "subnets": len(truth)}


MIN_TRUTH = 20
"""Fewest subnets with a scratch run that still make a ground truth worth ranking against."""


def truth_from_baselines(archs, epochs: int) -> dict[str, float]:
    """``{arch: test accuracy}`` of the ``epochs``-epoch scratch runs there are (the JSON says how
    many); exits naming the command when fewer than ``MIN_TRUTH`` exist."""
    runs = load_baselines()
    found = {str(a): runs[(str(a), epochs)]["test_acc"] for a in archs if (str(a), epochs) in runs}
    if len(found) < min(MIN_TRUTH, len(archs)):
        raise SystemExit(f"{len(archs) - len(found)} of {len(archs)} subnets have no {epochs}-epoch scratch run; train "
                         f"them with python bench/scratch_baselines.py --epochs {epochs} --labels '' --heldout 0:{len(archs)}")
    return found


def timed(fn, archs):
    started = time.time()
    scores = [float(fn(a)) for a in archs]
    return scores, (time.time() - started) / max(1, len(archs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proxy-batch", type=int, default=32, help="images per proxy minibatch")
    parser.add_argument("--inherited-calib", type=int, default=200, help="BN recalibration images (cheap estimate)")
    parser.add_argument("--inherited-val", type=int, default=500,
                        help="validation images (cheap estimate), taken after the ground truth's first 1000")
    parser.add_argument("--reproduce", type=int, default=5, help="subnets whose ground truth is re-measured as a check")
    parser.add_argument("--truth-subnets", type=int, default=30, help="subnets trained from scratch as ground truth")
    parser.add_argument("--truth-images", type=int, default=1000, help="training images of the scratch ground truth")
    parser.add_argument("--truth-epochs", type=int, default=1)
    parser.add_argument("--truth-from-baselines", type=int, default=0, metavar="EPOCHS",
                        help="take the scratch ground truth from scratch_baselines runs of EPOCHS epochs (0: train here)")
    parser.add_argument("--truth-val", type=int, default=1000, help="validation images of the scratch ground truth")
    parser.add_argument("--scratch-images", type=int, default=250, help="training images of the scratch estimator")
    parser.add_argument("--halving-min", type=int, default=250, help="successive halving's first budget (images)")
    parser.add_argument("--halving-max", type=int, default=2250, help="successive halving's largest budget (images)")
    parser.add_argument("--halving-eta", type=int, default=3)
    parser.add_argument("--estimator-val", type=int, default=500, help="validation images of scratch/halving estimates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=0, help="use only the first N held-out subnets (0: all; smoke runs)")
    args = parser.parse_args()
    torch.set_num_threads(1)  # small nets on a shared 2-core CPU: more threads only thrash
    started_all = time.time()
    load_start = os.getloadavg()

    net, meta = load_supernet(bundled_supernet_dir())
    spec = net.spec
    data = load_recorded_dataset(meta)
    samples = [s for f in sorted(PREDICTOR_DIR.glob("samples-*.jsonl")) for s in read_samples(f)]
    settings = measurement_settings(samples)
    if len(settings) != 1 or any(s.calib_images is None for s in samples):
        raise SystemExit(f"every predictor sample must record one measurement setting, found {settings}")
    gt_calib, gt_val = next(iter(settings))  # how the samples were measured (re-checked below)
    train, held = heldout_split(samples)
    predictor = AccuracyPredictor.load(PREDICTOR_DIR)
    verified = _split_matches(predictor, train, held)
    if args.limit:
        held = held[: args.limit]
    archs = [s.arch for s in held]
    truth1 = [s.accuracy for s in held]
    baseline_truth = (truth_from_baselines(archs[: args.truth_subnets], args.truth_from_baselines)
                      if args.truth_from_baselines else None)

    rows = {str(a): {"inherited_val": t} for a, t in zip(archs, truth1)}
    estimators: dict[str, dict] = {}
    scores: dict[str, list[float]] = {}
    sizes = {key: getattr(args, key) for key in vars(args)}

    if args.truth_from_baselines:
        truth_text = (f"test accuracy after {args.truth_from_baselines} full epochs from scratch "
                      f"(scratch_baselines*.json), the {{n}} of the first {args.truth_subnets} subnets that have a run")
    else:
        truth_text = (f"validation accuracy after {args.truth_epochs} epoch(s) from scratch on {args.truth_images} "
                      f"training images (val images {args.truth_val}), first {{n}} subnets")

    def save(complete: bool) -> Path:
        truth2 = {a: r["scratch_truth"] for a, r in rows.items() if "scratch_truth" in r}
        for name, info in estimators.items():
            vals = scores[name]
            info["vs_inherited_val"] = rank_stats(vals, [rows[str(a)]["inherited_val"] for a in info["archs"]])
            pairs = [(v, truth2[str(a)]) for v, a in zip(vals, info["archs"]) if str(a) in truth2]
            if len(pairs) >= 3:
                info["vs_scratch_truth"] = rank_stats(*zip(*pairs))
        summary = {name: {"tau_inherited": info["vs_inherited_val"]["kendall_tau"],
                          "tau_scratch": info.get("vs_scratch_truth", {}).get("kendall_tau"),
                          "seconds_per_arch": info["seconds_per_arch"]} for name, info in estimators.items()}
        if len(truth2) >= 3:
            keys = list(truth2)
            summary["ground_truths_agree"] = rank_stats([rows[k]["inherited_val"] for k in keys], [truth2[k] for k in keys])
            same = [k for k in keys if "inherited_test" in rows[k]]
            if len(same) >= 3:
                summary["ground_truths_agree_same_images"] = rank_stats([rows[k]["inherited_test"] for k in same],
                                                                        [truth2[k] for k in same])
        return write_result("estimators", {
            "complete": complete,
            "supernet": str(bundled_supernet_dir()),
            "predictor_split": {"train_samples": len(train), "heldout_samples": len(held), "heldout_verified": verified,
                                "note": "predictor scored only on samples it was not trained on" if verified else
                                "could not confirm the predictor's split: its training samples may overlap these"},
            "ground_truth": {
                "inherited_val": f"validation accuracy on the first {gt_val} validation images, inherited weights + BN "
                                 f"recalibration on {gt_calib} training images, as collected for the predictor "
                                 f"(re-measured for {sizes.get('inherited_val_reproduced', '?')} subnets); "
                                 f"{len(held)} held-out predictor samples",
                "scratch_truth": truth_text.format(n=len(truth2)),
                "inherited_test": f"test accuracy with inherited weights + BN recalibration on {gt_calib} training "
                                  "images, for the subnets whose scratch truth is a test accuracy: "
                                  "ground_truths_agree_same_images ranks both on the same 10,000 test images, "
                                  "ground_truths_agree ranks inherited_val (other images) against the test accuracy",
            },
            "sizes": sizes,
            "estimators": {k: {kk: vv for kk, vv in v.items() if kk != "archs"} for k, v in estimators.items()},
            "subnets": rows,
            "summary": summary,
            "wall_seconds": round(time.time() - started_all, 1),
            "load_average": {"start": [round(x, 2) for x in load_start], "end": [round(x, 2) for x in os.getloadavg()]},
            "torch_threads": 1,
        })

    def record(name: str, vals: list[float], seconds: float, subset: list, **extra) -> None:
        scores[name] = vals
        estimators[name] = {"archs": subset, "seconds_per_arch": round(seconds, 4), **extra}
        for a, v in zip(subset, vals):
            rows[str(a)][name] = v
        print(name, round(seconds, 3), "s/arch", flush=True)

    proxy_cfg = ProxyConfig(batch_size=args.proxy_batch, seed=args.seed)
    for name in PROXIES:
        vals, sec = timed(lambda a, n=name: score_arch(n, spec, a, data, proxy_cfg), archs)
        record(name, vals, sec, archs, kind="zero-cost proxy")
        save(False)
    t = time.time()
    record("predictor", [float(v) for v in predictor.predict(archs)], (time.time() - t) / len(archs), archs,
           kind="MLP accuracy predictor", heldout=verified)
    # The ground truth was measured on the first gt_val validation images: check that, then estimate
    # with fewer calibration images on a disjoint slice when the split has one (independent), else
    # on the first images (a subset of the ground truth's: the tau is then partly self-agreement).
    again = [measure_accuracy(net, a, data, calib_images=gt_calib, val_images=gt_val) for a in archs[: args.reproduce]]
    reproduced = sum(abs(x - y) < 1e-12 for x, y in zip(again, truth1))
    sizes["inherited_val_reproduced"] = f"{reproduced}/{len(again)}"
    if reproduced != len(again):
        raise SystemExit(f"the samples' accuracies were not reproduced ({reproduced}/{len(again)}): "
                         "were they measured on this supernet with the recorded settings?")
    start = gt_val if gt_val + args.inherited_val <= len(data.val) else 0
    cheap_data = dataclasses.replace(data, val=data.val.subset(np.arange(start, start + args.inherited_val)))
    vals, sec = timed(lambda a: measure_accuracy(net, a, cheap_data, calib_images=args.inherited_calib), archs)
    record("inherited", vals, sec, archs, kind="inherited weights, cheaper than the ground truth",
           note=f"same weights as the inherited_val ground truth, {args.inherited_calib} calibration images and "
                f"validation images {start}..{start + args.inherited_val - 1} ("
                + ("disjoint from the ground truth's: its tau against inherited_val is the agreement of two "
                   "independent measurements" if start else "a subset of the ground truth's, which used the whole split: its tau "
                   "against inherited_val overstates an independent agreement")
                + "); against scratch_truth it is a real test")
    save(False)

    # Scratch ground truth on a validation slice disjoint from the estimators' one (no shared noise).
    sub = [a for a in archs[: args.truth_subnets] if baseline_truth is None or str(a) in baseline_truth]
    truth_data = dataclasses.replace(data, val=data.val.subset(np.arange(args.truth_val)))
    est_val = np.arange(args.truth_val, args.truth_val + args.estimator_val)
    est_data = dataclasses.replace(data, val=data.val.subset(est_val))
    truth_cfg = ScratchConfig(train_images=args.truth_images, val_images=args.truth_val, epochs=args.truth_epochs,
                              seed=args.seed, threads=1)
    t = time.time()
    if baseline_truth is not None:
        for a in sub:
            rows[str(a)]["scratch_truth"] = baseline_truth[str(a)]
            # The truth is a test accuracy: the supernet's on the same images, so the two differ by
            # the weights alone, not by which images each was counted on.
            subnet = prepare_subnet(net, a, data, calib_images=gt_calib)
            rows[str(a)]["inherited_test"] = accuracy(subnet, data.test, a.resolution)
    else:
        for i, a in enumerate(sub):
            rows[str(a)]["scratch_truth"] = scratch_accuracy(spec, a, truth_data, truth_cfg).accuracy
            print("truth", i + 1, len(sub), rows[str(a)]["scratch_truth"], flush=True)
    truth_seconds = (time.time() - t) / max(1, len(sub))
    sizes["truth_seconds_per_arch"] = round(truth_seconds, 2)
    save(False)

    est_cfg = ScratchConfig(train_images=args.scratch_images, val_images=args.estimator_val, seed=args.seed + 1, threads=1)
    vals, sec = timed(lambda a: scratch_accuracy(spec, a, est_data, est_cfg).accuracy, sub)
    record("scratch", vals, sec, sub, kind=f"1 epoch from scratch on {args.scratch_images} images")
    save(False)

    evaluate = ScratchEvaluator(spec, est_data, est_cfg)
    t = time.time()
    result = successive_halving(sub, evaluate, min_budget=args.halving_min, eta=args.halving_eta,
                                max_budget=args.halving_max)
    by_truth = sorted(sub, key=lambda a: -rows[str(a)]["scratch_truth"])
    sec = (time.time() - t) / max(1, len(sub))
    record("halving", result.rank_scores(sub), sec, sub, kind="successive halving over scratch training",
           rungs=[{"budget_images": r.budget, "archs": len(r.archs)} for r in result.rungs],
           total_budget_images=result.total_budget, images_trained=evaluate.images_trained,
           best=str(result.best), best_truth_rank=by_truth.index(result.best) + 1, truth_best=str(by_truth[0]))
    for a in sub:
        rows[str(a)]["halving_fidelity_images"] = result.fidelity[a]
    print(save(True))


if __name__ == "__main__":
    main()
