"""What the analysis needs beside the output files: the space, the search's predictor and cost model.

``extract`` hands over the objects it already loaded; ``edgenas report DIR`` rebuilds them from
``report.json``'s request (supernet, predictor, board and latency table it names).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..cost.model import CostModel
from ..space import SpaceSpec
from .explain import Predict


@dataclass(frozen=True)
class ReportContext:
    """The search's own models, so the report explains the decision the search made."""

    spec: SpaceSpec
    cost: CostModel
    predict: Predict
    limits: dict[str, float] = field(default_factory=dict)


def context_from_request(request: dict) -> ReportContext:
    """Reload the models named by an ``extract`` report's ``request``.

    Raises:
        EdgenasError subclasses: a named file is gone or unreadable (the caller may render without).
    """
    from ..boards import get_board
    from ..cost.latency_table import LatencyTable
    from ..estimate.registry import EstimatorContext
    from ..supernet import load_meta

    supernet_dir = Path(request["supernet"])
    spec = SpaceSpec.from_dict(load_meta(supernet_dir)["space"])
    table_path = request.get("latency_table")
    table = LatencyTable.load(table_path) if table_path else None
    cost = CostModel(spec, get_board(request["board"]), table)
    predictor_dir = request.get("predictor")
    estimators = EstimatorContext(spec, supernet_dir=supernet_dir, predictor_dir=Path(predictor_dir) if predictor_dir else None)
    return ReportContext(spec, cost, estimators.predictor(), dict(request.get("limits") or {}))
