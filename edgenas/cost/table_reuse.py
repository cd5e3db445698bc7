"""Reuse a latency table for data with another number of input channels or classes.

A table is measured for one space at one data shape (the bundled Cortex-M7 table: grayscale,
10 classes). A user's 12-keyword or RGB dataset changes only the stem's input channels and the
classifier's outputs, so every block entry still holds; only the stem and head entries are
missing. Without them the search had no latency model at all on such data. Here each stem and
head entry is carried over, scaled by the ratio of its multiply-accumulates at the new shape to
those at the measured one (the classifier is a small part of the head, the stem conv a part of
the stem), and the table records that these entries are estimates.
"""

from __future__ import annotations

from dataclasses import replace

from ..space import SpaceSpec
from ..space import same_out
from ..space.signature import Signature
from .latency_table import LatencyTable


def io_macs(sig: Signature) -> int:
    """Multiply-accumulates of a stem entry (3x3 stem conv, depthwise 3x3, pointwise) or a head
    entry (1x1 conv to the head channels, pooled, classifier)."""
    if sig.kind == "stem":
        out = same_out(sig.in_size, sig.stride)
        return out * out * sig.mid_channels * (9 * sig.in_channels + 9 + sig.out_channels)
    if sig.kind == "head":
        return sig.in_size * sig.in_size * sig.in_channels * sig.mid_channels + sig.mid_channels * sig.out_channels
    raise ValueError(f"{sig.kind} entries do not depend on the data's shape")


def _moved(sig: Signature, in_channels: int, num_classes: int) -> Signature:
    if sig.kind == "stem":
        return replace(sig, in_channels=in_channels)
    if sig.kind == "head":
        return replace(sig, out_channels=num_classes)
    return sig


def table_for_spec(table: LatencyTable, spec: SpaceSpec) -> LatencyTable | None:
    """``table`` itself when it was measured for ``spec``; a copy with its stem and head entries
    rescaled when ``spec`` differs from the table's space only in input channels or classes;
    None for any other space."""
    if table.spec == spec:
        return table
    if replace(table.spec, in_channels=spec.in_channels, num_classes=spec.num_classes) != spec:
        return None
    entries: dict[str, list[float]] = {}
    for key, samples in table.entries.items():
        sig = Signature.parse(key)
        moved = _moved(sig, spec.in_channels, spec.num_classes)
        scale = 1.0 if moved == sig else io_macs(moved) / io_macs(sig)
        entries[moved.key] = [s * scale for s in samples]
    meta = {**table.meta, "estimated": {
        "entries": "stem and head, scaled by multiply-accumulates",
        "measured_for": {"in_channels": table.spec.in_channels, "num_classes": table.spec.num_classes}}}
    return LatencyTable(table.target, table.unit, table.fingerprint, spec, board=table.board, backend=table.backend,
                        entries=entries, overhead=table.overhead, meta=meta)
