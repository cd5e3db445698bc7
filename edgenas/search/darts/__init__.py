"""Differentiable architecture search: hardware-aware DARTS over the elastic space, and the DARTS cell space.

Importing this package registers the ``darts`` strategy.
"""

from .cell_search import CellSearchConfig, CellSearchResult, run_cell_darts
from .cells import PARAM_FREE, PRIMITIVES, CellSearchNet, MixedOp, SearchCell
from .elastic import DartsConfig, DartsResult, DartsSearch, run_darts
from .genotype import CollapseReport, Genotype, cap_skips, derive_cell, derive_genotype, param_free_share
from .latency import LatencyTerms, latency_terms
from .mixed import MixedSupernet
from .slots import SKIP, Slot, arch_from_choices, build_slots, derive_arch, onehot_weights
from .strategy import Darts

__all__ = [
    "PARAM_FREE", "PRIMITIVES", "SKIP", "CellSearchConfig", "CellSearchNet", "CellSearchResult", "CollapseReport",
    "Darts", "DartsConfig", "DartsResult", "DartsSearch", "Genotype", "LatencyTerms", "MixedOp", "MixedSupernet",
    "SearchCell", "Slot", "arch_from_choices", "build_slots", "cap_skips", "derive_arch", "derive_cell",
    "derive_genotype", "latency_terms", "onehot_weights", "param_free_share", "run_cell_darts", "run_darts",
]
