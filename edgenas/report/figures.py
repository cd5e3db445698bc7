"""The report's plots, drawn with matplotlib and saved as SVG (inlined in ``report.html``) and PNG
(for papers and slides) under ``OUT/report/``."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..search.constraints import format_metric  # noqa: E402
from .layers import LayerView  # noqa: E402
from .predicted import ESTIMATE, shown_accuracy  # noqa: E402
from .tradeoffs import Tradeoff  # noqa: E402

_LABELS = {"sram_bytes": "RAM", "flash_bytes": "flash", "latency": "latency", "macs": "MACs", "params": "parameters",
           "arena_bytes": "arena", "model_flash_bytes": "weight flash"}
_KIND_COLOURS = {"conv2d": "#4477aa", "depthwise_conv2d": "#ee6677", "fully_connected": "#228833",
                 "avg_pool2d": "#ccbb44", "add": "#aa3377"}


class FigureWriter:
    """Saves each figure as ``NAME.svg`` and ``NAME.png`` in ``folder`` and keeps the SVG text to
    inline (fixed hash salt and no date, so the same report gives the same files)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.svg: dict[str, str] = {}

    def save(self, name: str, fig: plt.Figure) -> str:
        with matplotlib.rc_context({"svg.hashsalt": f"edgenas-{name}", "svg.fonttype": "none"}):
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
            fig.savefig(self.folder / f"{name}.png", dpi=110, bbox_inches="tight", metadata={"Software": None})
        plt.close(fig)
        text = buf.getvalue()
        (self.folder / f"{name}.svg").write_text(text)
        self.svg[name] = text[text.index("<svg"):]
        return self.svg[name]


def _axis_label(metric: str, unit: str | None) -> str:
    label = _LABELS.get(metric, metric)
    return f"{label} ({unit})" if metric == "latency" and unit else label


def clipped_tradeoff(t: Tradeoff) -> Tradeoff:
    """``t`` with every accuracy clipped to [0, 1] (costs, feasibility and the budget as they are)."""
    def acc(x: float) -> float:
        return float(shown_accuracy(x))

    return replace(t, trials=tuple((c, acc(a), f) for c, a, f in t.trials),
                   random=tuple((c, acc(a), f) for c, a, f in t.random),
                   front=tuple((c, acc(a)) for c, a in t.front), chosen=(t.chosen[0], acc(t.chosen[1])))


def tradeoff_figure(t: Tradeoff, latency_unit: str | None = None, *, accuracy: bool = True) -> plt.Figure:
    """Accuracy vs one cost: random subnets, search trials, the front, the budget and the choice.

    ``accuracy``: the scores are accuracies (a predictor's or measured), drawn clipped to [0, 1]
    since a predictor extrapolates past 100 % on easy data; False draws a proxy's raw score."""
    if accuracy:
        t = clipped_tradeoff(t)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    if t.random:
        r = np.array(t.random, dtype=float)
        ax.scatter(r[:, 0], r[:, 1], s=8, c="#bbbbbb", label=f"{len(r)} random subnets", zorder=1, rasterized=True)
    if t.trials:
        tr = np.array(t.trials, dtype=float)
        ax.scatter(tr[:, 0], tr[:, 1], s=6, c=np.where(tr[:, 2] > 0, "#88ccee", "#ddcc77"), alpha=0.6,
                   label="search trials (yellow: over budget)", zorder=2, rasterized=True)
    if t.front:
        f = np.array(t.front, dtype=float)
        ax.step(f[:, 0], f[:, 1], where="post", c="#332288", lw=1.2, label="Pareto front of the trials", zorder=3)
    if t.limit is not None:
        ax.axvline(t.limit, ls="--", c="#cc3311", lw=1, label=f"budget {format_metric(t.metric, t.limit)}")
    ax.scatter([t.chosen[0]], [t.chosen[1]], marker="*", s=180, c="#cc3311", edgecolors="k", zorder=4, label="chosen")
    ax.set_xlabel(_axis_label(t.metric, latency_unit))
    ax.set_ylabel(f"predicted accuracy ({ESTIMATE}, ≤ 100 %)" if accuracy else "fitness (the search's score)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    return fig


def history_figure(history: Sequence[dict]) -> plt.Figure:
    """Best and mean fitness of each generation."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    gens = [h["generation"] for h in history]
    ax.plot(gens, [h["best"] for h in history], marker="o", ms=3, label="best feasible")
    ax.plot(gens, [h["mean"] for h in history], marker="o", ms=3, label="population mean")
    ax.set_xlabel("generation")
    ax.set_ylabel("fitness")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def layers_figure(view: LayerView) -> plt.Figure:
    """Measured count per layer (coloured by op kind) and instructions per MAC where the layer has MACs."""
    rows = view.layers
    x = np.arange(len(rows))
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 4.8), sharex=True, height_ratios=(2, 1))
    counts = [r.measured or 0 for r in rows]
    colours = [_KIND_COLOURS.get(r.kind.split(" ")[0], "#999999") for r in rows]
    top.bar(x, counts, color=colours)
    top.set_ylabel(f"{view.unit or 'count'} per layer")
    for kind, colour in _KIND_COLOURS.items():
        if any(r.kind.startswith(kind) for r in rows):
            top.bar([0], [0], color=colour, label=kind)
    top.legend(fontsize=7, ncol=3)
    per_mac = [r.per_mac if r.per_mac is not None else np.nan for r in rows]
    bottom.plot(x, per_mac, marker="o", ms=3, ls="none", c="#332288")
    bottom.set_ylabel(f"{view.unit or 'count'} / MAC")
    bottom.set_xlabel("layer")
    for ax in (top, bottom):
        ax.grid(alpha=0.3, axis="y")
    return fig


def arena_figure(view: LayerView) -> plt.Figure:
    """The memory plan: each buffer as a box (layers it lives across × arena bytes it occupies),
    with the peak step marked."""
    fig, ax = plt.subplots(figsize=(9, 3.6))
    for b in view.buffers:
        ax.add_patch(plt.Rectangle((b.first, b.offset), b.last - b.first + 1, b.bytes, fc="#88ccee", ec="#336699",
                                   lw=0.6, alpha=0.8))
    steps = max([b.last + 1 for b in view.buffers] + [len(view.layers), 1])
    ax.axhline(view.arena_bytes, c="#cc3311", ls="--", lw=1, label=f"arena {view.arena_bytes:,} B")
    ax.axvline(view.peak_step + 0.5, c="#332288", ls=":", lw=1, label=f"peak at layer {view.peak_step}")
    ax.set_xlim(0, steps)
    ax.set_ylim(0, max(view.arena_bytes, 1) * 1.08)
    ax.set_xlabel("layer (execution step)")
    ax.set_ylabel("arena offset (bytes)")
    ax.legend(fontsize=7, loc="upper right")
    return fig


def blocks_figure(blocks: Sequence[dict], unit: str) -> plt.Figure:
    """Predicted (latency table) vs measured count for each table entry of the subnet."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    x = np.arange(len(blocks))
    ax.bar(x - 0.2, [b["predicted"] for b in blocks], 0.4, label="predicted (table)", color="#bbbbbb")
    ax.bar(x + 0.2, [b["measured"] for b in blocks], 0.4, label="measured", color="#4477aa")
    ax.set_xticks(x, [b["block"] for b in blocks], rotation=60, fontsize=7)
    ax.set_ylabel(unit)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    return fig


def confusion_figure(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> plt.Figure:
    """Rows: true class; columns: int8 prediction; cells: test images."""
    m = np.asarray(matrix)
    size = 1.2 + 0.45 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    im = ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(classes)), classes, rotation=60, fontsize=7, ha="right")
    ax.set_yticks(range(len(classes)), classes, fontsize=7)
    ax.set_xlabel("predicted (int8)")
    ax.set_ylabel("true")
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=6,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    return fig
