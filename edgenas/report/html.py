"""``report.html``: one self-contained page (inline CSS, SVG and a few lines of JS; nothing is
fetched when it is viewed). Key numbers carry ``data-key`` attributes naming their ``report.json``
path, so a test (or a script) can check the page against the JSON."""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence

from ..search.constraints import format_metric
from ..units import format_bytes

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2433;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #d8dce3}
.sub{color:#5b6475}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #d8dce3;border-radius:8px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:18px}.card span{color:#5b6475;font-size:12px}
table{border-collapse:collapse;background:#fff;font-size:12.5px;margin:6px 0}
th,td{border:1px solid #d8dce3;padding:3px 7px;text-align:right}th{background:#eef1f5;cursor:pointer}
td.l,th.l{text-align:left}.ok{color:#217a3c}.bad{color:#b42318}.binding{background:#fff1e6}
.figure svg{max-width:100%;height:auto;background:#fff;border:1px solid #d8dce3;border-radius:6px}
.arch{display:flex;flex-direction:column;gap:6px}.stage{display:flex;gap:6px;align-items:stretch;flex-wrap:wrap}
.stage .name{width:80px;color:#5b6475;font-size:12px;align-self:center}
.block{background:#fff;border:1px solid #9fb3c8;border-radius:6px;padding:4px 8px;font-size:12px;min-width:88px}
.block.diff{border-color:#ee6677;background:#fff4f5}.block.gone{border-style:dashed;color:#9aa1ad;background:none}
.block small{display:block;color:#5b6475}.note{background:#fff;border-left:4px solid #4477aa;padding:8px 12px}
"""

_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.addEventListener('click', function () {
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent, y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      return dir * (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
"""


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def card(label: str, shown: str, key: str | None = None, value: object = None) -> str:
    """A headline number; ``key``/``value`` tie it to its ``report.json`` path and raw value."""
    attrs = f' data-key="{esc(key)}" data-value="{esc(json.dumps(value))}"' if key else ""
    return f'<div class="card"{attrs}><b>{esc(shown)}</b><span>{esc(label)}</span></div>'


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *, left: int = 1, sortable: bool = True,
          row_classes: Sequence[str] | None = None) -> str:
    """An HTML table; the first ``left`` columns are left-aligned; cells may be ``(shown, sort_value)``."""
    cls = ' class="sortable"' if sortable else ""
    head = "".join(f'<th class="l">{esc(h)}</th>' if i < left else f"<th>{esc(h)}</th>" for i, h in enumerate(headers))
    body = []
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            shown, sort = cell if isinstance(cell, tuple) else (cell, None)
            attrs = (' class="l"' if i < left else "") + (f' data-v="{esc(sort)}"' if sort is not None else "")
            cells.append(f"<td{attrs}>{esc(shown)}</td>")
        rc = f' class="{esc(row_classes[n])}"' if row_classes and row_classes[n] else ""
        body.append(f"<tr{rc}>{''.join(cells)}</tr>")
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure(svg: str | None, caption: str = "") -> str:
    if not svg:
        return ""
    cap = f'<p class="sub">{esc(caption)}</p>' if caption else ""
    return f'<div class="figure">{svg}{cap}</div>'


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


def metric_text(name: str, value: float | None, latency_unit: str | None = None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.0f}" if name == "latency" and value >= 1000 else format_metric(name, value)
    return f"{text} {latency_unit}" if name == "latency" and latency_unit else text


def page(title: str, subtitle: str, sections: Sequence[str], data: dict) -> str:
    """The whole document; ``data`` (the report's JSON) is embedded for scripts that read the page."""
    payload = json.dumps(data, sort_keys=True, default=str).replace("</", "<\\/")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{esc(title)}</title>"
        f"<style>{_CSS}</style></head><body><main><h1>{esc(title)}</h1><p class=\"sub\">{esc(subtitle)}</p>"
        + "".join(sections)
        + f'<script type="application/json" id="report-data">{payload}</script><script>{_JS}</script>'
        "</main></body></html>\n"
    )


def section(heading: str, *parts: str, anchor: str = "") -> str:
    anchor_attr = f' id="{esc(anchor)}"' if anchor else ""
    return f"<section{anchor_attr}><h2>{esc(heading)}</h2>{''.join(parts)}</section>"


def bytes_text(value: float | None) -> str:
    return "n/a" if value is None else format_bytes(value)
