"""``report.json`` for tools and ``report.md`` for people, side by side in ``OUT/``."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from ..report.predicted import predicted_pct
from ..units import format_bytes

if TYPE_CHECKING:
    from .pipeline import ExtractReport


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f}%"


def _margin(acc: float, images: int) -> str:
    """Half-width of the normal-approximation 95 % interval of an accuracy over ``images``:
    how far apart two reported accuracies must be before one model is really better."""
    return f"±{196 * math.sqrt(acc * (1 - acc) / images):.2f} points" if images else "n/a"


def _weakest_classes(per_class: dict[str, float | None], shown: int = 5) -> list[str]:
    """The classes the int8 model gets wrong most often, worst first (all of them when few)."""
    ranked = sorted(((acc, name) for name, acc in per_class.items() if acc is not None))
    if not ranked:
        return []
    label = "Int8 accuracy per class, worst first" if len(ranked) <= shown else f"Weakest {shown} classes (int8)"
    return [f"{label}: " + ", ".join(f"{name} {_pct(acc)}" for acc, name in ranked[:shown]), ""]


def _baselines(accuracy: dict) -> list[str]:
    """The guard-rail baselines' test accuracy beside the subnet's, and a warning per loss."""
    rows = accuracy.get("baselines") or []
    if not rows:
        return []
    lines = ["Baselines on the same split: " + ", ".join(
        f"{b['name']} {_pct(b['test_acc'])} ({b['seconds']:.0f} s)" for b in rows), ""]
    return lines + [f"**Warning:** {w}" for w in accuracy.get("warnings", [])] + ([""] if accuracy.get("warnings") else [])


def _board_rows(p: dict, m: dict) -> list[str]:
    """Predicted vs measured on a Cortex-M board: the linked ELF's memory and the counted latency."""
    return [
        "| | predicted | measured (linked ELF / device) |",
        "|---|---|---|",
        f"| arena | {format_bytes(p['arena_bytes'])} | {format_bytes(m['arena_bytes'])} |",
        f"| RAM (arena + data/bss + stack reserve) | {format_bytes(p['sram_bytes'])} | {format_bytes(m['ram_bytes'])} |",
        f"| flash | {format_bytes(p['flash_bytes'])} | {format_bytes(m['flash_bytes'])} |",
        f"| model weights in flash | {format_bytes(p['model_flash_bytes'])} | {format_bytes(m['weights_bytes'])} |",
        f"| stack used | | {m.get('stack_bytes', 'n/a')} B |",
        f"| latency | {p.get('latency', 'no table') if p.get('latency') is not None else 'no table'} | "
        f"{m['latency_median']:.0f} {m['latency_unit']} |",
    ]


def _keyword_rows(accuracy: dict, p: dict, m: dict) -> list[str]:
    """Firmware that listens to raw audio hop by hop: accuracy per keyword, the counts per clip
    split into front end, resize and net, a second of listening, and the RAM the audio path adds
    (all in the linked RAM above)."""
    fe = m.get("frontend")
    if not fe:
        return []
    unit = fe.get("unit", m.get("latency_unit", ""))
    per_class = accuracy.get("int8_per_class", {})
    stride = m.get("stride_hops", "n/a")
    lines = [
        "## Keyword spotting: raw audio in",
        "",
        f"The firmware takes {m.get('input', 'raw int16 audio')}: each call runs the C front end (log-mel) on the "
        "frame that hop completes; the calls that end a window resize it to the net's input in integers and run the "
        "net. Per clip streamed back to back, median over the checked clips:",
        "",
        "| stage | " + unit + " |",
        "|---|---|",
        f"| front end (a 40-bin frame per hop, summed over the clip) | {fe['frontend_median']:,.0f} |",
        f"| resize and int8 input | {fe['resize_median']:,.0f} |",
        f"| net | {m['latency_median']:,.0f} |",
        f"| whole clip (harness totals over its hops) | {fe['clip_median']:,.0f} |",
        f"| one second of listening (front end + a net run every {stride} hops) | {fe.get('duty_median', 0):,.0f} |",
        "",
        f"RAM for audio (in the linked RAM above): hop buffer {format_bytes(m.get('audio_input_bytes', 0))}, stream "
        f"state (previous hop and log-mel window) {format_bytes(m.get('stream_state_bytes', 0))}, per-call "
        f"buffers {format_bytes(m.get('lent_bytes', 0))} "
        + ("(inside the net's arena, free before the net runs)" if m.get("frontend_in_arena") else "(own buffers)")
        + f", net input {format_bytes(m.get('net_input_bytes', 0))}; the "
        f"search counted {format_bytes(p.get('audio_ram_bytes', 0))} for it beside the net's predicted "
        f"{format_bytes(p.get('net_sram_bytes', 0))} (the predicted RAM above is their sum).",
        "",
    ]
    if per_class:
        lines += ["| keyword | int8 accuracy on the test clips |", "|---|---|"]
        lines += [f"| {name} | {_pct(acc)} |" for name, acc in per_class.items()]
        lines.append("")
    return lines


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f} ms"


def latency_comparison(predicted: float | None, measured: float | None, emulated: bool) -> str:
    """One sentence on the table's prediction against the device's time (or why there is none)."""
    if measured is None:
        return "Measured latency: none (nothing ran on the device)."
    if not predicted:
        return f"Measured latency {_ms(measured)}."
    text = (f"The latency table predicted {_ms(predicted)}; the device measured {_ms(measured)} "
            f"({100 * (measured / predicted - 1):+.1f} %).")
    return text + (" Both are emulated times (qemu-aarch64 on this PC): they check the ARM64 path, not a "
                   "Pi's or a phone's speed." if emulated else "")


def _device_rows(board: str, p: dict, m: dict) -> list[str]:
    """Predicted vs measured on a phone or Linux board: latency in ms (emulated ones say so), the arena."""
    where = f"{board}, emulated" if m.get("emulated") else board
    return [
        f"| | predicted | measured ({where}) |",
        "|---|---|---|",
        f"| latency | {_ms(p.get('latency')) if p.get('latency') is not None else 'no table'} | "
        f"{_ms(m.get('latency_median'))} |",
        f"| arena | {format_bytes(p['arena_bytes'])} | "
        f"{format_bytes(m['arena_bytes']) if 'arena_bytes' in m else 'n/a'} |",
        f"| model weights | {format_bytes(p['model_flash_bytes'])} | |",
        "",
        latency_comparison(p.get("latency"), m.get("latency_median"), bool(m.get("emulated"))),
    ]


def render_markdown(report: ExtractReport) -> str:
    """A short human summary: architecture, accuracy, predicted vs measured memory and latency."""
    r = report
    p, m = r.predicted, r.measured
    device = r.request.get("target") in ("android", "linux-arm64")
    verdict = r.verification.get("detail") or ("Outputs on the board equal the host build bit for bit."
                                               if r.verified else "NOT VERIFIED")
    limits = ", ".join(f"{k} ≤ {format_bytes(v) if k.endswith('_bytes') else f'{v:g}'}"
                       + (" ms" if device and k == "latency" else "") for k, v in r.request["limits"].items())
    lines = [
        f"# edgenas extract: {r.request['board']} ({r.request['core']})",
        "",
        f"Budget: {limits or 'none'}; seed {r.request['seed']}; fitness: {r.request['fitness']}.",
        "",
        f"Architecture: `{r.arch}`",
        "",
        f"Search: {r.search['evaluations']} evaluations in {r.search['wall_s']:.2f} s"
        + (f", predicted accuracy {predicted_pct(r.search.get('predictor_score', r.search['predicted_accuracy']))}"
           if r.search.get("predicted_accuracy") is not None else ""),
        "",
        f"Test accuracy ({r.accuracy['test_images']} images): float {_pct(r.accuracy['float'])}, "
        f"int8 {_pct(r.accuracy['int8'])} ({_margin(r.accuracy['int8'], r.accuracy['test_images'])} at 95 %)"
        + (f" (inherited weights before {r.request['finetune_epochs']} fine-tuning epochs: float "
           f"{_pct(r.accuracy['float_inherited'])})" if "float_inherited" in r.accuracy else ""),
        "",
        *_weakest_classes(r.accuracy.get("int8_per_class", {})),
        *_baselines(r.accuracy),
        *(_device_rows(r.request["board"], p, m) if device else _board_rows(p, m)),
        "",
        *_keyword_rows(r.accuracy, p, m),
        verdict,
        "",
        f"Why this subnet, per-layer cost and the search's trade-offs: `{r.files['report_html']}`"
        if "report_html" in r.files else "",
        "",
        "Files: " + ", ".join(f"`{v}`" for v in r.files.values()),
        "",
    ]
    return "\n".join(lines)


def write_report(report: ExtractReport, out_dir: Path) -> None:
    out_dir = Path(out_dir)
    (out_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
    (out_dir / "report.md").write_text(render_markdown(report))
