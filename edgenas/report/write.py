"""``write_html_report(DIR)``: ``DIR/report.html`` (+ plots under ``DIR/report/``) for an ``extract``
output, a ``compile`` (+ ``run``) artifact, or a ``search`` output, whichever ``DIR`` holds."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import EdgenasError, UsageError
from ..space import Arch
from ..space.signature import arch_signatures
from . import figures, sections
from .context import ReportContext, context_from_request
from .explain import explain as explain_arch
from .html import card, esc, metric_text, page, pct, section
from .layers import LayerView, load_layer_view
from .predicted import predicted_pct
from .tradeoffs import tradeoffs

REPORT_HTML = "report.html"
FIGURES_DIR = "report"


def block_costs(context: ReportContext, arch: Arch, view: LayerView) -> list[dict]:
    """Each latency-table entry of ``arch`` beside the same layers' measured counts (empty without a
    table, a run, or a table in another unit)."""
    table = context.cost.latency_table
    if table is None or view.unit is None or getattr(table, "unit", None) != view.unit:
        return []
    measured: dict[str, int] = {}
    for row in view.layers:
        measured[row.block] = measured.get(row.block, 0) + (row.measured or 0)
    sigs = arch_signatures(context.spec, arch)
    names = ["stem"] + [f"b{i}" for i in range(len(sigs) - 2)] + ["head"]
    return [{"block": name, "signature": sig.key, "predicted": table.stats(sig.key).median,
             "measured": measured.get(name, 0)} for name, sig in zip(names, sigs) if sig.key in table]


def _read_json(path: Path) -> dict | list:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def _search_files(folder: Path) -> tuple[dict, list]:
    summary = _read_json(folder / "search.json") if (folder / "search.json").is_file() else {}
    trials = _read_json(folder / "trials.json") if (folder / "trials.json").is_file() else []
    return summary, trials  # type: ignore[return-value]


def _layer_sections(out: Path, writer: figures.FigureWriter, board: str | None, blocks_of=None) -> tuple[str, LayerView]:
    view = load_layer_view(out, board)
    layers_svg = writer.save("layers", figures.layers_figure(view)) if view.unit else None
    arena_svg = writer.save("arena", figures.arena_figure(view)) if view.buffers else None
    blocks = blocks_of(view) if blocks_of else []
    blocks_svg = writer.save("blocks", figures.blocks_figure(blocks, view.unit or "count")) if blocks else None
    return sections.layers(view, layers_svg, arena_svg, blocks, blocks_svg), view


def _extract_page(out: Path, context: ReportContext | None) -> str:
    data = _read_json(out / "report.json")
    request, acc, measured, predicted = data["request"], data["accuracy"], data["measured"], data["predicted"]
    arch = Arch.parse(data["arch"])
    problems = []
    if context is None:
        try:
            context = context_from_request(request)
        except (EdgenasError, OSError, KeyError) as exc:
            problems.append(f"the search's models could not be reloaded ({exc}): no sensitivity or trade-off plots")
    writer = figures.FigureWriter(out / FIGURES_DIR)
    unit = measured.get("latency_unit")
    table_unit = getattr(context.cost.latency_table, "unit", None) if context else None
    explained = data.get("explain") or (explain_arch(context.spec, arch, context.predict, context.cost, context.limits)
                                        if context else {})
    summary, trials = _search_files(out / "search")
    trade_svgs = []
    if context and trials:
        fitness = summary.get("fitness", explained.get("predictor_score", explained.get("predicted_accuracy", 0.0)))
        for t in tradeoffs(context.spec, arch, fitness, trials, context.predict, context.cost, context.limits,
                           seed=int(request.get("seed", 0))):
            trade_svgs.append(writer.save(f"tradeoff-{t.metric}", figures.tradeoff_figure(t, table_unit)))
    history_svg = writer.save("history", figures.history_figure(summary["history"])) if summary.get("history") else None
    layer_html, _ = _layer_sections(out, writer, request.get("board"),
                                    (lambda v: block_costs(context, arch, v)) if context else None)
    confusion = acc.get("int8_confusion")
    confusion_svg = (writer.save("confusion", figures.confusion_figure(confusion, acc.get("classes") or
                                                                       [str(i) for i in range(len(confusion))]))
                     if confusion else None)
    cards = [
        card("int8 test accuracy", pct(acc.get("int8")), "accuracy.int8", acc.get("int8")),
        card("float test accuracy", pct(acc.get("float")), "accuracy.float", acc.get("float")),
        *[card(*c) for c in sections.memory_cards(measured, predicted)],
        card(f"latency measured ({unit})", metric_text("latency", measured.get("latency_median")),
             "measured.latency_median", measured.get("latency_median")),
        card("latency predicted (table)", metric_text("latency", predicted.get("latency"), table_unit),
             "predicted.latency", predicted.get("latency")),
    ]
    limits = ", ".join(f"{k} ≤ {metric_text(k, v, table_unit)}" for k, v in request.get("limits", {}).items())
    verified = ("outputs on the board equal the host build bit for bit" if data.get("verified_bit_exact")
                else "NOT verified on the board" + (f" ({why})" if (why := (data.get("verification") or {}).get("detail"))
                                                      else ""))
    body = [
        f'<div class="cards">{"".join(cards)}</div>',
        f'<p class="sub">{esc(verified)}; fitness: {esc(request.get("fitness"))}; seed {esc(request.get("seed"))}.</p>',
        *[f'<p class="bad">{esc(p)}</p>' for p in problems],
        sections.why(explained, table_unit) if explained else "",
        sections.architecture(context.spec, arch) if context else section(
            "Architecture", f'<p><code data-key="arch">{esc(arch)}</code></p>'),
        sections.search(summary, trade_svgs, history_svg) if summary else "",
        layer_html,
        sections.accuracy(acc, confusion_svg),
        sections.files(data.get("files", {}), data.get("timings_s", {})),
    ]
    title = f"edgenas extract: {request['board']} ({request.get('core', '')})"
    return page(title, f"budget: {limits or 'none'}", body, data)


def _artifact_page(out: Path) -> str:
    writer = figures.FigureWriter(out / FIGURES_DIR)
    layer_html, view = _layer_sections(out, writer, None)
    record = _read_json(out / "memory.json")
    measured = record.get("measured", {}).get(view.board, {}) if view.board else {}
    cards = [card(*c) for c in sections.memory_cards({**measured, "arena_bytes": view.arena_bytes},
                                                      {"sram_bytes": None})[:4]]
    if view.unit:
        total = sum(r.measured or 0 for r in view.layers)
        cards.append(card(f"{view.unit} (sum of layers)", f"{total:,}", None))
    title = f"edgenas compile: {record['model']['name']}"
    return page(title, f"from {record['source'].get('kind', '?')} {record['source'].get('path', '')}",
                [f'<div class="cards">{"".join(cards)}</div>', layer_html], record)


def _search_page(out: Path) -> str:
    """History always; with the models the search used (recorded by ``edgenas search``), also the
    trade-off plots and why its answer was chosen."""
    summary, trials = _search_files(out)
    writer = figures.FigureWriter(out / FIGURES_DIR)
    history_svg = writer.save("history", figures.history_figure(summary["history"])) if summary.get("history") else None
    arch_text = summary.get("arch") or ""
    context, problems = None, []
    if arch_text and summary.get("supernet") and summary.get("board"):
        try:
            context = context_from_request({**summary, "limits": summary.get("constraints") or {}})
        except (EdgenasError, OSError, KeyError) as exc:
            problems.append(f"the search's models could not be reloaded ({exc}): no trade-off plots")
    parts, trade_svgs = [], []
    # A proxy's score (e.g. jacob_cov) is no accuracy: plotted as it is, not clipped to [0, 1].
    is_accuracy = summary.get("estimator", "predictor") in ("predictor", "inherited")
    if context is not None:
        arch = Arch.parse(arch_text)
        table_unit = getattr(context.cost.latency_table, "unit", None)
        parts.append(sections.why(explain_arch(context.spec, arch, context.predict, context.cost, context.limits),
                                  table_unit))
        parts.append(sections.architecture(context.spec, arch))
        for t in tradeoffs(context.spec, arch, float(summary.get("fitness") or 0.0), trials, context.predict,
                           context.cost, context.limits, seed=int(summary.get("seed", 0))):
            trade_svgs.append(writer.save(f"tradeoff-{t.metric}",
                                          figures.tradeoff_figure(t, table_unit, accuracy=is_accuracy)))
    else:
        parts.append(section("Architecture", f'<p><code data-key="arch">{esc(arch_text)}</code></p>'))
    fitness = summary.get("fitness")
    chosen = (card("predicted accuracy of the chosen subnet", predicted_pct(fitness), "fitness", fitness)
              if summary.get("estimator") == "predictor" else
              card("fitness of the chosen subnet", f"{fitness or 0:.4f}", "fitness", fitness))
    cards = [chosen,
             card("distinct subnets evaluated", f"{len(trials):,}", None)]
    body = [f'<div class="cards">{"".join(cards)}</div>', *[f'<p class="bad">{esc(p)}</p>' for p in problems],
            *parts, sections.search(summary, trade_svgs, history_svg)]
    return page("edgenas search", f"constraints: {summary.get('constraints') or 'none'}", body, summary)


def write_html_report(out_dir: str | Path, context: ReportContext | None = None) -> Path:
    """Write ``report.html`` for whatever ``out_dir`` holds; returns its path.

    Raises:
        UsageError: ``out_dir`` holds no extract, compile or search output.
    """
    out = Path(out_dir)
    if (out / "report.json").is_file():
        text = _extract_page(out, context)
    elif (out / "memory.json").is_file():
        text = _artifact_page(out)
    elif (out / "search.json").is_file():
        text = _search_page(out)
    else:
        raise UsageError(f"{out} holds no edgenas output (no report.json, memory.json or search.json)",
                         hint="point at a folder written by `edgenas extract`, `compile` or `search`")
    path = out / REPORT_HTML
    path.write_text(text)
    return path
