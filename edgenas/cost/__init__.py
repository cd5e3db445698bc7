"""Cost of a subnet on a board: exact MACs/params/weights/arena, measured firmware overheads,
latency from a table, and the minimum of each over a space."""

from .memory import arena_bytes, planned_arena_bytes
from .metrics import LayerCost, kernel_calls, layer_costs, macs, model_flash_bytes, params
from .model import METRICS, CostModel, LatencyPredictor, Metrics, Minimum
from .overhead import FirmwareOverhead, overhead_for_board, overhead_for_core

__all__ = [
    "METRICS", "CostModel", "FirmwareOverhead", "LatencyPredictor", "LayerCost", "Metrics", "Minimum", "arena_bytes",
    "kernel_calls", "layer_costs", "macs", "model_flash_bytes", "overhead_for_board", "overhead_for_core", "params",
    "planned_arena_bytes",
]
