"""Reports people look at: ``report.html`` with the architecture, per-layer cost, the search's
trade-offs and why this subnet was chosen."""

from .context import ReportContext, context_from_request
from .explain import constraint_use, explain, one_step_neighbours, sensitivity
from .layers import LayerView, compiled_macs, load_layer_view, op_macs
from .tradeoffs import pareto_front, tradeoffs
from .write import REPORT_HTML, write_html_report

__all__ = [
    "REPORT_HTML",
    "LayerView",
    "ReportContext",
    "compiled_macs",
    "constraint_use",
    "context_from_request",
    "explain",
    "load_layer_view",
    "one_step_neighbours",
    "op_macs",
    "pareto_front",
    "sensitivity",
    "tradeoffs",
    "write_html_report",
]
