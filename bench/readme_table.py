"""Render the README's "Measured" table and its table of training stages from bench/results, so no
figure there can drift.

Each row of the measured table reads one bench's latest result file (``bench/results/<name>.json``)
and says when and at which commit it was measured; figures quoted from elsewhere say so. It sits
between ``<!-- measured:start -->`` and ``<!-- measured:end -->`` in README.md. The training table
(``<!-- training:start -->`` ... ``<!-- training:end -->``) lists every stage that produced the
bundled supernet from ``bench/results/supernet_training.json``: epochs, machine, time, command.

    python bench/readme_table.py           # rewrite the README's tables
    python bench/readme_table.py --check   # exit 1 if a table is not current (CI runs this as a test)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
START, END = "<!-- measured:start -->", "<!-- measured:end -->"
TRAINING_START, TRAINING_END = "<!-- training:start -->", "<!-- training:end -->"


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text())


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _mi(x: float) -> str:
    return f"{x / 1e6:.2f}M"


def compiler_memory(d: dict) -> tuple[str, str]:
    r, k = d["summary"]["resnet8"], d["summary"]["kws"]
    return ("ResNet-8 / DS-CNN activation arena, ours vs TFLite Micro's interpreter (host, measured)",
            f"{r['arena']:,} B vs {r['tflm_arena']:,} B / {k['arena']:,} B vs {k['tflm_arena']:,} B")


def mcu_vs_tflm(d: dict) -> tuple[str, str]:
    s, q = d["summary"], d["external_reference"]
    return ("ResNet-8 / DS-CNN on the emulated Cortex-M7, instructions",
            f"{_mi(s['resnet8']['instructions'])} / {_mi(s['kws']['instructions'])}; TFLite Micro + CMSIS-NN "
            f"{_mi(q['resnet8']['instructions'])} / {_mi(q['kws']['instructions'])} (quoted, not measured here: "
            f"{q['source'].split(';')[0]})" + _m55_and_sweep(s))


def _m55_and_sweep(s: dict) -> str:
    """The Cortex-M55 counts and the sweep models' worst layers, where the result has them."""
    text = ""
    if "m55" in s:
        text += f"; Cortex-M55 with Helium {_mi(s['m55']['resnet8'])} / {_mi(s['m55']['kws'])}"
    if "sweep" in s:
        w = s["sweep"]
        text += (f"; sweep models' worst M7 instructions/MAC: depthwise s1 {w['dw_s1']}, s2 {w['dw_s2']}, "
                 f"K×1 {w['dw_kx1']}, FC (>= 64 inputs) {w['fc']}")
    return text


def kernel_sweep(d: dict) -> tuple[str, str]:
    """Worst M7 instructions per MAC per swept depthwise shape (square ones: >= 16 channels, as issue 19)."""
    worst: dict[str, float] = {}
    for r in d["records"]:
        square = "x" in r["kernel"] and r["kernel"].split("x")[0] == r["kernel"].split("x")[1].split()[0]
        if r["board"] != "mps2-an500" or square and r["channels"] < 16:
            continue
        label = f"{r['kernel']} s{r['stride']}"
        worst[label] = max(worst.get(label, 0.0), r["instructions_per_mac"])
    exact = all(r["bit_exact"] for r in d["records"])
    return ("depthwise kernels on the emulated Cortex-M7, worst instructions/MAC per shape (6 channel counts, in place "
            "and not; square kernels >= 16 channels)",
            ", ".join(f"{k} {v:.2f}" for k, v in worst.items()) + f"; all outputs bit-exact: {str(exact).lower()}")


def kernel_sweep_fc(d: dict) -> tuple[str, str]:
    """Worst M7 instructions per MAC of fully connected layers by input length."""
    recs = [r for r in d["records"] if r["board"] == "mps2-an500"]

    def worst(layout: str) -> str:
        mine = [r for r in recs if r.get("layout", "packed") == layout]
        parts = []
        for n in sorted({r["in_features"] for r in mine}):
            w = max((r for r in mine if r["in_features"] == n), key=lambda r: r["instructions_per_mac"])
            parts.append(f"{n} in: {w['instructions_per_mac']:.2f} ({n}x{w['out_features']})")
        return "; ".join(parts)

    exact = all(r["bit_exact"] for r in d["records"])
    wide = any(r.get("layout") == "wide" for r in recs)
    return ("fully connected on the emulated Cortex-M7, worst instructions/MAC by input length (batch 1)",
            worst("packed") + (f"; with `--fc-wide` (int16 weights): {worst('wide')}" if wide else "")
            + f"; all outputs bit-exact: {str(exact).lower()}")


def lut_fidelity(d: dict) -> tuple[str, str]:
    m, h = d["summary"]["cortex-m7"], d["summary"]["host"]

    def part(x: dict) -> str:
        return f"{round(x['within_5pct'] * x['n'])}/{x['n']} within ±5 %, Kendall tau {x['kendall_tau']:.2f}"

    text = f"{part(m)} / {part(h)}"
    a = d["summary"].get("arm64")
    if a:
        spread = d["arm64"]["repeat_spread"]
        text += (f"; ARM64 under qemu-aarch64: {round(a['within_10pct'] * a['n'])}/{a['n']} within ±10 %, "
                 f"one subnet {spread['max_over_min']:.2f}x apart run to run"
                 f"{'' if a['usable_as_table'] else ' (emulated time: no usable table, needs a real board)'}")
    return ("latency table vs end-to-end runs: emulated Cortex-M7 / host CPU", text)


def search_speed(d: dict) -> tuple[str, str]:
    s = d["summary"]
    if "cold" not in s:  # a result from before cold and warm were told apart
        times = sorted(s.values())
        return ("search time per budget (predictor + table, median of repeats)", f"{times[0]:.1f}–{times[-1]:.1f} s")
    cold, warm = sorted(s["cold"].values()), sorted(s["warm"].values())
    return ("search time per budget (predictor + table, median of repeats)",
            f"{cold[0]:.1f}–{cold[-1]:.1f} s in a fresh process, {warm[0]:.1f}–{warm[-1]:.1f} s with warm caches")


def search_convergence(d: dict) -> tuple[str, str]:
    """Spread of the pick's predicted accuracy over seeds, per generation count (worst budget)."""
    by_gen: dict[int, float] = {}
    for r in d["rows"]:
        by_gen[r["generations"]] = max(by_gen.get(r["generations"], 0.0), r["spread_points"])
    spread = "; ".join(f"{g} generations {v:.3f}" for g, v in sorted(by_gen.items()))
    return (f"search convergence: worst spread of the pick's predicted accuracy over {d['seeds']} seeds, 4 budgets (points)",
            f"{spread} (default {d['default_generations']})")


def extract(d: dict) -> tuple[str, str]:
    rows = d["summary"]
    acc = [r["int8_test_acc"] for r in rows]
    rand = [r["random_best_acc"] for r in rows]
    base = [r["baseline_acc"] for r in rows if r.get("baseline_acc") is not None]
    tuned = [r["finetuned_int8_test_acc"] for r in rows if r.get("finetuned_int8_test_acc") is not None]
    text = (f"searched {_pct(min(acc))}–{_pct(max(acc))}; best of 500 random feasible {_pct(min(rand))}–{_pct(max(rand))}")
    if base:
        text += f"; hand-designed k3e6 MobileNetV2s from scratch (float) {_pct(min(base))}–{_pct(max(base))}"
        ahead = [100 * (r["int8_test_acc"] - r["baseline_acc"]) for r in rows if r.get("baseline_acc") is not None]
        text += f" (searched minus hand-designed: {min(ahead):+.1f} to {max(ahead):+.1f} points"
        missing = [f"{r['ram'] // 1024} KB" for r in rows if r.get("baseline_acc") is None]
        text += f"; no from-scratch run yet for the baseline at {', '.join(missing)})" if missing else ")"
    scratch = [r for r in rows if r.get("searched_scratch_acc") is not None]
    if scratch:
        text += "; the searched architecture from scratch (float, the baselines' recipe) " + ", ".join(
            f"{_pct(r['searched_scratch_acc'])} at {r['ram'] // 1024} KB"
            + (f" ({100 * (r['searched_scratch_acc'] - r['baseline_acc']):+.2f} points)"
               if r.get("baseline_acc") is not None else "")
            for r in scratch)
    if tuned:
        text += f"; after fine-tuning {_pct(min(tuned))}–{_pct(max(tuned))}"
        gaps = [100 * (r["finetuned_int8_test_acc"] - r["baseline_acc"]) for r in rows
                if r.get("baseline_acc") is not None and r.get("finetuned_int8_test_acc") is not None]
        if gaps:
            text += f" (minus hand-designed: {min(gaps):+.2f} to {max(gaps):+.2f} points)"
    return ("extract: int8 test accuracy at 32 KB…256 KB RAM (Fashion-MNIST, 10,000 images)", text)


def strategies(d: dict) -> tuple[str, str]:
    regret = d["summary"]["regret_300"]
    hv = d["summary"]["hypervolume"]
    ranked = ", ".join(f"{k} {v:.5f}" for k, v in sorted(regret.items(), key=lambda kv: (kv[1], kv[0])))
    return ("strategies: mean regret at 300 evaluations (enumerable space)",
            f"{ranked}; largest hypervolume: {max(hv, key=hv.get)}")


def estimators(d: dict) -> tuple[str, str]:
    s = d["summary"]
    names = ("predictor", "inherited", "params", "jacob_cov", "synflow")
    taus = ", ".join(f"{n} {s[n]['tau_inherited']:.2f}" for n in names if n in s)
    agree = s["ground_truths_agree"]
    sizes = d.get("sizes", {})
    truth = (f"{sizes['truth_from_baselines']}-epoch" if sizes.get("truth_from_baselines")
             else f"{sizes.get('truth_epochs', 1)}-epoch, {sizes.get('truth_images', 1000):,}-image")
    return ("estimators: Kendall tau vs measured inherited accuracy (held-out subnets)",
            f"{taus}; inherited vs {truth} from-scratch ranking of {agree['subnets']} subnets: "
            f"tau {agree['kendall_tau']:.2f}")


def predictor_refine(d: dict) -> tuple[str, str]:
    s = d["summary"]
    gains = ", ".join(f"{r['refined_minus_bundled']['diff_points']:+.2f} (p {r['refined_minus_bundled']['mcnemar_p']:.2f})"
                      for r in d["rows"])
    return ("`predictor refine` (search, measure near the picks, refit) vs the bundled predictor: int8 test accuracy "
            "of the picks at 32…256 KB, paired",
            f"{gains} points; {s['samples_measured']} archs measured in {s['refits']} refits "
            f"({s['refine_s'] / 60:.0f} min), picks moved at {s['picks_moved']} of {s['budgets']} budgets")


def ground_truth(d: dict) -> tuple[str, str]:
    s, short = d["summary"], d["epochs"]
    def each(b: dict, epochs: str) -> str:  # per subnet, tagged with its resolution and width
        return ", ".join(f"{100 * (r['inherited_test'] - r[f'scratch_{epochs}']):+.2f} ({' '.join(a.split('|')[:2])})"
                         for a, r in sorted(b["subnets"].items()))

    parts = [f"{len(b['subnets'])} held-out subnets also trained {other} epochs: inherited minus the {short}-epoch "
             f"truth {-b[f'mean_gap_points_{short}']:+.2f} points ({each(b, str(short))}), minus the {other}-epoch one "
             f"{-b[f'mean_gap_points_{other}']:+.2f} ({each(b, other)})" for other, b in s.get("budgets", {}).items()]
    parts += [f"{g['pairs']} repeats at {e} epochs: one run's noise {g['run_noise_points']:.2f} points"
              for e, g in s.get("by_epochs", {}).items()]
    if "ceiling" in s:
        c = s["ceiling"]
        parts.append(f"a perfect estimator's tau against one run each {c['perfect_estimator_tau']['mean']:.2f} "
                     f"(measured inherited {c['measured_inherited_tau']:.2f})")
    return ("from-scratch ground truth of the estimators: does a short training rank subnets as a long one does?",
            "; ".join(parts))


def kernel_sharing(d: dict) -> tuple[str, str]:
    before, runs = d["before"], d["experiments"]
    parts = [f"{name}: all-3x3 @48 {_pct(before['k3@48'])} → {_pct(r['after']['k3@48'])}, "
             f"all-7x7 @48 {_pct(before['k7@48'])} → {_pct(r['after']['k7@48'])}" for name, r in runs.items()]
    design = d["settings"].get("design", "shared kernels")
    return (f"cheap repairs of the all-3x3 subnet ({design}; val, {d['settings']['steps']} batches)", "; ".join(parts))


def sharing_conflict(d: dict) -> tuple[str, str]:
    def span(values: list[float]) -> str:
        lo, hi = min(values), max(values)
        return f"{lo:+.2f}" if lo == hi else f"{lo:+.2f} to {hi:+.2f}"

    s = d["summary"]
    labels = {"all": "every weight", "dense": "dense (shared)", "depthwise": "depthwise", "bn_affine": "BN affine"}
    parts = ["alone: " + ", ".join(f"{text} {span([row[g] for row in s.values()])}" for g, text in labels.items())]
    for dimension in ("resolution", "width"):
        split = d.get(dimension)
        if not split:
            continue
        # the subnets inside the part trained: "r24|w0.75|..." has resolution 24, width 0.75
        field, value = (0, f"r{split['resolution']}") if dimension == "resolution" else (1, f"w{split['width']}")
        inside = [k for k, row in d["standalone"].items() if k != "kept_from" and row["arch"].split("|")[field] == value]
        part = f"{value[1:]} px" if dimension == "resolution" else f"width {value[1:]}"
        moves = {group: [100 * (split[group]["after"][k] - split["before"][k]) for k in inside if k in split[group]["after"]]
                 for group in ("all", "depthwise") if group in split}
        parts.append(f"supernet trained on {part} subnets only: " +
                     ", ".join(f"{group} weights {span(v)}" for group, v in moves.items() if v))
    return ("which weights small subnets lose to sharing: points gained by one epoch of training one group "
            "(3 subnets, test)", "; ".join(parts))


def supernet_quality(d: dict) -> tuple[str, str]:
    s = d["summary"]
    epochs = len(d["training"]["log"])  # one record per epoch, earlier stages' included
    gaps = [r for r in d["subnets"].values() if "scratch_test_acc" in r]
    scratch_epochs = sorted({r.get("scratch_epochs") for r in gaps} - {None})
    return ("supernet: largest / smallest subnet (test, inherited weights)",
            f"{_pct(s['largest_test_acc'])} / {_pct(s['smallest_test_acc'])}; largest gap to the same architecture "
            f"trained from scratch ({scratch_epochs[0] if scratch_epochs else '?'} epochs) over {len(gaps)} "
            f"architectures: {s['max_inherited_gap_points']:.2f} points"
            + (f" ({s['max_inherited_gap_points_first_six']:.2f} over the six of #17's target)"
               if s.get("max_inherited_gap_points_first_six") is not None else "")
            + (f", mean {s['mean_inherited_gap_points']:.2f}, Kendall tau {s['kendall_tau_vs_scratch']:.2f}"
               if s.get("kendall_tau_vs_scratch") is not None else "")
            + f" (supernet: {epochs} epochs)")


def quantization(d: dict) -> tuple[str, str]:
    s = d["summary"]
    return (f"int8 minus float test accuracy, weights rounded to nearest / adaptively ({s['subnets']} random subnets "
            f"of the bundled supernet, host build)",
            f"mean {s['nearest_mean_int8_minus_float_points']:+.2f} / {s['adaptive_mean_int8_minus_float_points']:+.2f} "
            f"points, worst {s['nearest_worst_int8_minus_float_points']:+.2f} / "
            f"{s['adaptive_worst_int8_minus_float_points']:+.2f}; adaptive gains on {s['subnets_gaining']}, "
            f"loses on {s['subnets_losing']} (median {s['adaptive_gain_median_points']:+.2f} points); "
            f"quantizing takes up to {s['adaptive_quantize_s_max']:.0f} s")


def reliability(d: dict) -> tuple[str, str]:
    s, noise = d["summary"], d["serial_noise"]
    rate = noise["headline_rate_each_kind"]
    m = noise.get("measured", {})  # sections run apart keep their own run's stamp
    noise_run = f" (measured {m['utc'][:10]}, {m['git']})" if m.get("git", d.get("git")) != d.get("git") else ""
    what = (f"serial link with {100 * rate:.1f} % of bytes dropped, {100 * rate:.1f} % duplicated and "
            f"{100 * rate:.1f} % bit-flipped each way (firmware in QEMU: {', '.join(noise['models'])})")
    figure = (f"{s['serial_noise_runs']} runs: {s['serial_noise_wrong']} wrong, {s['serial_noise_failed']} failed, "
              f"{s['serial_noise_slowdown']:.2f}× the clean time (worst trial {s['serial_noise_slowdown_worst_trial']:.2f}×)"
              f"{noise_run}")
    if "tflite_mutants" in s:
        what += "; damaged .tflite files, hostile board files, bad CLI input, kill -9 mid-run"
        figure += (f"; {s['tflite_mutants']:,} .tflite mutants: {s['tflite_unclean']} unclean, "
                   f"{s['accepted_mutants_c_checked']} accepted ones built with ASan: {s['accepted_mutants_asan_errors']} "
                   f"errors, {s['accepted_mutants_wrong_success']} wrong; {s['board_files']} board files: "
                   f"{s['board_unclean']} unclean ({s['board_unclean_known']} known), {s['board_commands_executed']} "
                   f"ran a command; {s['cli_cases']} CLI cases: {s['cli_tracebacks']} tracebacks "
                   f"({s['cli_tracebacks_known']} known); {s['kill9_cases']} kill -9: "
                   f"{s['kill9_lost_or_repeated']} lost or repeated")
    return what, figure


def helium(d: dict) -> tuple[str, str]:
    s = d["summary"]
    parts = [f"{name} {_mi(s[name]['m55_dsp_instructions'])} → {_mi(s[name]['m55_helium_instructions'])} "
             f"({s[name]['helium_speedup_over_dsp_m55']:.2f}×)" for name in ("resnet8", "kws", "subnet")]
    return ("Cortex-M55 instructions per inference, DSP kernels → Helium (MVE) kernels (QEMU mps3-an547, bit-exact)",
            "; ".join(parts))


def warm_start(d: dict) -> tuple[str, str]:
    rows = [r for r in d["summary"] if r["evaluations"] in (20, 3000)]
    parts = [f"{r['earlier_ram'] // 1024}→{r['ram'] // 1024} KB at {r['evaluations']:,} evaluations: "
             f"cold {_pct(r['cold_best'])}, warm {_pct(r['warm_best'])}" for r in rows]
    return ("search warm-started from an earlier search's best (predicted accuracy, mean of seeds)", "; ".join(parts))


def distributed(d: dict) -> tuple[str, str]:
    s = d["summary"]
    return ("predictor collect / profile on 2 Ray workers vs serially (this 2-core machine; load in the JSON)",
            f"{s['collect_speedup_2w']:.2f}× / {s['profile_speedup_2boards']:.2f}×; identical results: "
            f"{str(s['identical_results']).lower()}")


def own_data(d: dict) -> tuple[str, str]:
    parts = []
    for r in d["summary"]:
        text = (f"{r['dataset']} ({r['images']:,} images): {_pct(r['int8_test_acc'])} in {r['minutes']:.0f} min vs "
                f"small CNN {_pct(r['small_cnn_acc'])}, logistic regression {_pct(r['logreg_acc'])}")
        if r.get("scratch_supernet_acc") is not None:
            text += f", supernet from scratch {_pct(r['scratch_supernet_acc'])}"
        if r.get("kept_from"):
            text += f" (measured at {r['kept_from']['git']})"
        parts.append(text)
    return ("your own data: `extract --data X.npz --ram 64KB`, int8 test accuracy and minutes on 2 shared cores",
            "; ".join(parts))


def kws(d: dict) -> tuple[str, str]:
    s, e, v = d["summary"], d["extract"], d["extract_vs_dscnn"]
    lo, hi = v["ci95_points"]
    return ("keyword spotting (espeak-ng set, 12 classes, unseen voices): `extract --data` at 64 KB RAM vs DS-CNN-S "
            "trained as long, int8 on the host build",
            f"searched {_pct(s['test_acc'])} vs {_pct(s['dscnn_baseline_acc'])} ({v['diff_points']:+.1f} points, "
            f"95 % CI {lo:+.1f} to {hi:+.1f}, McNemar p {v['mcnemar_p']:.3f}); {e['params']:,} vs "
            f"{d['dscnn']['params']:,} parameters; {_mi(s['instructions'])} instructions + front end "
            f"{_mi(s['frontend_instructions'])} per clip on the emulated M7, arena {s['arena']:,} B")


ROWS: tuple[tuple[str, Callable[[dict], tuple[str, str]]], ...] = (
    ("compiler_memory", compiler_memory),
    ("mcu_vs_tflm", mcu_vs_tflm),
    ("kernel_sweep", kernel_sweep),
    ("kernel_sweep_fc", kernel_sweep_fc),
    ("lut_fidelity", lut_fidelity),
    ("search_speed", search_speed),
    ("search_convergence", search_convergence),
    ("extract", extract),
    ("quantization", quantization),
    ("strategies", strategies),
    ("estimators", estimators),
    ("predictor_refine", predictor_refine),
    ("ground_truth", ground_truth),
    ("kernel_sharing", kernel_sharing),
    ("supernet_quality", supernet_quality),
    ("sharing_conflict", sharing_conflict),
    ("reliability", reliability),
    ("helium", helium),
    ("warm_start", warm_start),
    ("distributed", distributed),
    ("kws", kws),
    ("own_data", own_data),
)


def _stamp(d: dict) -> str:
    return f"{(d.get('utc') or '?')[:10]}, {d.get('git', '?')}{' + uncommitted changes' if d.get('dirty') else ''}"


def _older_sections(d: dict) -> list[tuple[str, dict]]:
    """Sections of a result measured at another commit than the file's own (kept from an earlier run)."""
    found = []
    for key, part in d.items():
        if not isinstance(part, dict):
            continue
        origin = part.get("kept_from") or part.get("measured")
        if isinstance(origin, dict) and (origin.get("git"), origin.get("dirty")) != (d.get("git"), d.get("dirty")):
            found.append((key, origin))
    return found


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def _stage_machine(stage: dict) -> str:
    if stage.get("hardware"):
        return stage["hardware"]
    return "a GPU (model not recorded)" if "--device cuda" in stage["command"] else "not recorded"


def _command_cell(stage: dict) -> str:
    return stage["command"].split("  (via")[0].replace("|", "\\|")


def render_training() -> str:
    """The bundled supernet's training stages (markers included), one row each, oldest first."""
    d = _load("supernet_training")
    lines = [TRAINING_START, "| stage | epochs | machine | time | command |", "|---|---|---|---|---|"]
    total = 0
    for i, stage in enumerate(d["stages"], 1):
        # a soup's runs branch from the stage before it: one row each, then the averaging's
        for tag, branch in zip("abcdefgh", stage.get("branches", [])):
            lines.append(f"| {i}{tag} | +{branch['epochs']} from {total} (soup ingredient) | {_stage_machine(branch)} | "
                         f"{_duration(branch['wall_seconds'])} | `{_command_cell(branch)}` |")
        added = sum(phase["epochs"] for phase in stage["config"]["phases"])
        total += added
        time = _duration(stage["soup"]["seconds"]) if "soup" in stage else _duration(stage["wall_seconds"])
        machine = "" if "soup" in stage else _stage_machine(stage)
        lines.append(f"| {i} | +{added} = {total} | {machine} | {time} | `{_command_cell(stage)}` |")
    if total != d["total_epochs"]:
        raise SystemExit(f"supernet_training.json: stages add up to {total} epochs, the file says {d['total_epochs']}")
    lines += [f"| all | {total} | | {_duration(d['total_wall_seconds'])} | |", TRAINING_END]
    return "\n".join(lines)


def render() -> str:
    """The measured table (markers included) from the current result files."""
    lines = [START, "| what | figure | bench (measured at) |", "|---|---|---|"]
    for name, row in ROWS:
        d = _load(name)
        what, figure = row(d)
        stamp = _stamp(d) + "".join(f"; {key} from {_stamp(origin)}" for key, origin in _older_sections(d))
        lines.append(f"| {what} | {figure} | `{name}` ({stamp}) |")
    lines.append(END)
    return "\n".join(lines)


def current_block(text: str, start: str = START, end: str = END) -> str:
    if start not in text or end not in text:
        raise SystemExit(f"README.md lacks the {start} ... {end} markers")
    return text[text.index(start): text.index(end) + len(end)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a README table is not current")
    args = parser.parse_args()
    text = README.read_text()
    tables = {(START, END): render(), (TRAINING_START, TRAINING_END): render_training()}
    stale = [start for (start, end), table in tables.items() if current_block(text, start, end) != table]
    if args.check:
        if stale:
            print(f"README's table(s) {', '.join(stale)} stale: run python bench/readme_table.py", file=sys.stderr)
            raise SystemExit(1)
        return
    for (start, end), table in tables.items():
        text = text.replace(current_block(text, start, end), table)
    README.write_text(text)
    print("README.md: tables rewritten" + (f" ({', '.join(stale)} changed)" if stale else " (unchanged)"))


if __name__ == "__main__":
    main()
