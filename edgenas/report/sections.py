"""The report's sections as HTML fragments: architecture, why this subnet, search, layers, accuracy."""

from __future__ import annotations

from collections.abc import Sequence

from ..space import Arch, SpaceSpec, largest_arch, plan_net
from .html import bytes_text, esc, figure, metric_text, pct, section, table
from .layers import LayerView
from .predicted import predicted_pct


def architecture(spec: SpaceSpec, arch: Arch) -> str:
    """Stages of blocks as boxes: kernel, expand, channels, input size; a red box is a choice
    below the largest subnet's, a dashed one a block the subnet drops."""
    plan = plan_net(spec, arch)
    top = largest_arch(spec)
    rows = [f'<div class="stage"><div class="name">stem</div><div class="block">3×3 conv s{spec.stem_stride}'
            f"<small>{arch.resolution}² × {spec.in_channels} → {plan.stem_size}² × {plan.stem_channels}</small></div>"
            f'<div class="block">first block<small>dw 3×3 + pw → {plan.first_channels} ch</small></div></div>']
    blocks = iter(plan.blocks)
    for si, (stage, stage_spec) in enumerate(zip(arch.stages, spec.stages)):
        boxes = []
        for bi in range(max(stage_spec.depths)):
            if bi >= len(stage):
                boxes.append('<div class="block gone">dropped<small>depth</small></div>')
                continue
            b, choice = next(blocks), stage[bi]
            diff = choice.kernel < top.stages[si][bi].kernel or choice.expand < top.stages[si][bi].expand
            boxes.append(
                f'<div class="block{" diff" if diff else ""}" title="{esc(choice)}">k{choice.kernel} e{choice.expand}'
                f"<small>{b.in_size}² s{b.stride}{' +res' if b.residual else ''}</small>"
                f"<small>{b.in_channels}→{b.mid_channels}→{b.out_channels}</small></div>"
            )
        rows.append(f'<div class="stage"><div class="name">stage {si + 1}</div>{"".join(boxes)}</div>')
    rows.append(f'<div class="stage"><div class="name">head</div><div class="block">1×1 conv → {plan.head_channels}'
                f"<small>pool, FC → {plan.num_classes}</small></div></div>")
    note = (f'<p class="sub">Resolution {arch.resolution} (largest {top.resolution}), width {arch.width:g} '
            f"(largest {top.width:g}); red: kernel or expand below the largest subnet's; dashed: dropped block.</p>")
    return section("Architecture", f'<p><code data-key="arch">{esc(arch)}</code></p>', note,
                   f'<div class="arch">{"".join(rows)}</div>', anchor="architecture")


def short_op(name: str, limit: int = 36) -> str:
    """A TFLite op name fit for a table cell: converters join every fused name with ``;``."""
    first = name.split(";", 1)[0]
    return first if len(first) <= limit else "…" + first[-(limit - 1):]


def _delta(name: str, value: float, latency_unit: str | None) -> str:
    sign = "+" if value > 0 else "−" if value < 0 else "±"
    return sign + metric_text(name, abs(value), latency_unit)


def why(explain: dict, latency_unit: str | None) -> str:
    """Constraint use, the best feasible one-step change, and the sensitivity table."""
    cons = explain.get("constraints", [])
    con_rows = [(c["metric"], metric_text(c["metric"], c["value"], latency_unit),
                 metric_text(c["metric"], c["limit"], latency_unit), (f"{100 * c['used']:.1f} %", c["used"]),
                 "binding" if c["binding"] else "slack") for c in cons]
    binding = [c["metric"] for c in cons if c["binding"]]
    best = explain.get("best_feasible_step")
    if binding:
        summary = (f"The {', '.join(binding)} budget is binding: a one-step change the predictor expects to "
                   "gain accuracy breaks it.")
    elif cons:
        summary = "No budget is binding: no one-step change that breaks a budget is predicted to gain accuracy."
    else:
        summary = "The search had no budget."
    if best:
        summary += (f" The best one-step change that fits ({best['dimension']}: {best['change']}) is predicted at "
                    f"{100 * best['accuracy_delta']:+.2f} points; the search's choice is"
                    + (" within the predictor's noise of it." if best["accuracy_delta"] < 0.001 else " short of it."))
    else:
        summary += " No one-step change that fits is predicted to gain accuracy: the choice is a local optimum."
    rows = explain.get("sensitivity", [])
    metrics = sorted({k for r in rows for k in r["cost_delta"]})
    sens = [
        (r["dimension"], r["change"], (f"{100 * r['accuracy_delta']:+.2f}", r["accuracy_delta"]),
         *[(_delta(m, r["cost_delta"][m], latency_unit), r["cost_delta"][m]) if m in r["cost_delta"] else "" for m in metrics],
         "fits" if r["feasible"] else "breaks " + ", ".join(r["violates"]))
        for r in rows
    ]
    classes = ["binding" if not r["feasible"] and r["accuracy_delta"] > 0 else "" for r in rows]
    return section(
        "Why this subnet",
        f'<p class="note" data-key="explain.predicted_accuracy" data-value="{esc(explain.get("predicted_accuracy"))}">'
        f"Predicted accuracy {esc(predicted_pct(explain.get('predictor_score', explain.get('predicted_accuracy'))))}. "
        f"{esc(summary)}</p>",
        table(["budget", "used", "limit", "share", "status"], con_rows) if con_rows else "",
        '<p class="sub">What the predictor and cost model say a one-step change of each elastic choice would '
        "gain or cost (accuracy in points). Highlighted: a predicted gain that breaks a budget.</p>",
        table(["dimension", "change", "Δ accuracy", *[f"Δ {m}" for m in metrics], "budget"], sens, left=2,
              row_classes=classes),
        anchor="why",
    )


def search(summary: dict, tradeoff_svgs: Sequence[str], history_svg: str | None) -> str:
    rounds = summary.get("generations", summary.get("rounds", "?"))
    text = (f"{summary.get('strategy', 'search')}: {summary.get('evaluations', '?')} evaluations over "
            f"{rounds} rounds in {summary.get('wall_s', 0):.2f} s (seed {summary.get('seed', '?')}).")
    parts = [f"<p>{esc(text)}</p>"]
    parts += [figure(svg, "Grey: random subnets scored by the same predictor; star: the chosen subnet.")
              for svg in tradeoff_svgs]
    parts.append(figure(history_svg, "Fitness of each generation."))
    return section("Search", *parts, anchor="search")


def layers(view: LayerView, layers_svg: str | None, arena_svg: str | None, blocks: Sequence[dict],
           blocks_svg: str | None) -> str:
    """The per-layer table, counts per layer and per MAC, the arena over time, table vs measured blocks."""
    unit = view.unit or "count"
    peak = view.peak_step
    rows = [
        (r.index, r.kind, short_op(r.op), "×".join(map(str, r.out_shape)), (f"{r.out_bytes:,}", r.out_bytes),
         (f"{r.macs:,}", r.macs), (f"{r.measured:,}", r.measured) if r.measured is not None else "",
         (f"{r.per_mac:.2f}", r.per_mac) if r.per_mac is not None else "", (f"{r.live_bytes:,}", r.live_bytes))
        for r in view.layers
    ]
    where = f" on {view.board}" if view.board else " (not run on a board yet: `edgenas run DIR`)"
    parts = [
        f'<p>{len(view.layers)} layers{esc(where)}. Arena <b data-key="layers.arena_bytes" '
        f'data-value="{view.arena_bytes}">{view.arena_bytes:,} B</b>; the live buffers peak at layer {peak} '
        f"({esc(short_op(view.layers[peak].op)) if view.layers else ''}).</p>",
        figure(layers_svg, f"{unit} per layer, and {unit} per multiply-accumulate."),
        figure(arena_svg, "The memory plan: each box is a buffer, across the layers it lives and the arena bytes it holds."),
    ]
    if blocks:
        parts.append(figure(blocks_svg, "Latency table entries against the same blocks measured on the board."))
        parts.append(table(["entry", "signature", f"predicted {unit}", f"measured {unit}", "error"], [
            (b["block"], b["signature"], (f"{b['predicted']:,.0f}", b["predicted"]), (f"{b['measured']:,}", b["measured"]),
             (f"{100 * (b['predicted'] / b['measured'] - 1):+.1f} %", b["predicted"] / b["measured"] - 1)
             if b["measured"] else "")
            for b in blocks], left=2))
    parts.append(table(["#", "kind", "op", "output", "bytes", "MACs", unit, f"{unit}/MAC", "live bytes"], rows, left=3,
                       row_classes=["binding" if r.index == peak else "" for r in view.layers]))
    return section("Per layer", *parts, anchor="layers")


def accuracy(acc: dict, confusion_svg: str | None) -> str:
    """Float vs int8, per class weakest first, the confusion matrix."""
    per8 = acc.get("int8_per_class") or {}
    perf = acc.get("float_per_class") or {}
    ranked = sorted(per8, key=lambda k: (per8[k] is None, per8[k] if per8[k] is not None else 0))
    rows = [(name, (pct(per8[name]), per8[name]), (pct(perf.get(name)), perf.get(name))) for name in ranked]
    head = (f'<p>On {acc.get("test_images", "?")} test images: float <b data-key="accuracy.float" '
            f'data-value="{esc(acc.get("float"))}">{pct(acc.get("float"))}</b>, int8 <b data-key="accuracy.int8" '
            f'data-value="{esc(acc.get("int8"))}">{pct(acc.get("int8"))}</b>.</p>')
    baselines = acc.get("baselines") or []
    guard = table(["model on the same split", "test accuracy", "validation", "seconds", "parameters", "recipe"], [
        ("this subnet (int8)", (pct(acc.get("int8")), acc.get("int8")), "", "", "", "searched, inherited weights"),
        *[(b["name"], (pct(b["test_acc"]), b["test_acc"]), pct(b["val_acc"]), f"{b['seconds']:.1f}", f"{b['params']:,}",
           b["recipe"]) for b in baselines]], left=1) if baselines else ""
    warnings = "".join(f'<p class="bad">Warning: {esc(w)}</p>' for w in acc.get("warnings", []))
    return section("Accuracy", head, guard, warnings,
                   table(["class (weakest first)", "int8", "float"], rows) if rows else "",
                   figure(confusion_svg, "Confusion matrix of the int8 build on the host (bit-exact with the board)."),
                   anchor="accuracy")


def files(names: dict, timings: dict) -> str:
    rows = [(k, v) for k, v in names.items()]
    t = [(k, f"{v:.2f}") for k, v in timings.items()]
    return section("Files and timings", table(["what", "file"], rows, left=2, sortable=False),
                   table(["stage", "seconds"], t, sortable=False) if t else "", anchor="files")


def memory_cards(measured: dict, predicted: dict) -> list[tuple[str, str, str, object]]:
    """(label, shown, report.json key, raw value) for the memory headline cards."""
    return [
        ("arena (linked ELF)", bytes_text(measured.get("arena_bytes")), "measured.arena_bytes", measured.get("arena_bytes")),
        ("RAM (linked ELF)", bytes_text(measured.get("ram_bytes")), "measured.ram_bytes", measured.get("ram_bytes")),
        ("flash (linked ELF)", bytes_text(measured.get("flash_bytes")), "measured.flash_bytes", measured.get("flash_bytes")),
        ("stack used", bytes_text(measured.get("stack_bytes")), "measured.stack_bytes", measured.get("stack_bytes")),
        ("predicted RAM", bytes_text(predicted.get("sram_bytes")), "predicted.sram_bytes", predicted.get("sram_bytes")),
    ]
