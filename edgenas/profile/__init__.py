"""Profiling targets into latency tables: block signatures, the profile loop, validation."""

from .base import ArchMeasurement, EntrySamples, Profiler
from .graphs import chain_graph, random_arch_graph
from .run import build_table, measure_missing, open_table
from ..space.signature import Signature, arch_signatures, space_signatures
from .targets import default_table_path, get_profiler, list_targets
from .validate import ValidationReport, ValidationRow, random_archs, validate

__all__ = [
    "ArchMeasurement", "EntrySamples", "Profiler", "Signature", "ValidationReport", "ValidationRow",
    "arch_signatures", "build_table", "chain_graph", "default_table_path", "get_profiler", "list_targets",
    "measure_missing", "open_table", "random_arch_graph", "random_archs", "space_signatures", "validate",
]
