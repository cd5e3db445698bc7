"""Per-layer facts of a compiled artifact: shapes, MACs, measured counts and the arena over time.

Everything is read from the artifact directory (``model.tflite``, ``memory.json`` and the plan in
``src/memory.json``), so the same view serves ``extract`` outputs and any ``edgenas compile`` +
``run`` of a user's ``.tflite``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..deploy.ir import Graph, Op


@dataclass(frozen=True)
class LayerRow:
    """One compiled layer (a kernel call).

    Attributes:
        out_shape: output tensor shape (NHWC); out_bytes its int8 bytes.
        macs: multiply-accumulates (0 for ops without weights: pooling, add, reshape).
        measured: median count on the board in ``unit`` over the run's inputs; None before a run.
        per_mac: ``measured / macs`` (None when either is missing or zero).
        live_bytes: arena bytes held by live buffers while this layer runs.
    """

    index: int
    kind: str
    op: str
    block: str
    out_shape: tuple[int, ...]
    out_bytes: int
    macs: int
    measured: int | None
    per_mac: float | None
    live_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Buffer:
    """An arena buffer of the memory plan: ``bytes`` at ``offset`` from step ``first`` to ``last``."""

    name: str
    offset: int
    bytes: int
    first: int
    last: int


@dataclass(frozen=True)
class LayerView:
    """The per-layer table and the memory plan of one artifact (``board``: where it was measured)."""

    layers: tuple[LayerRow, ...]
    buffers: tuple[Buffer, ...]
    arena_bytes: int
    unit: str | None
    board: str | None

    @property
    def peak_step(self) -> int:
        """The first layer at which the live bytes peak."""
        return int(np.argmax([row.live_bytes for row in self.layers])) if self.layers else 0

    def to_dict(self) -> dict:
        return {"layers": [row.to_dict() for row in self.layers], "buffers": [asdict(b) for b in self.buffers],
                "arena_bytes": self.arena_bytes, "unit": self.unit, "board": self.board,
                "peak_step": self.peak_step}


def op_macs(graph: Graph, op: Op) -> int:
    """Multiply-accumulates of ``op`` (conv: out x kh x kw x cin; depthwise: out x kh x kw; FC: out x in)."""
    if op.kind not in ("conv2d", "depthwise_conv2d", "fully_connected"):
        return 0
    out = int(np.prod(graph.tensor(op.outputs[0]).shape))
    w = graph.tensor(op.inputs[1]).shape  # conv OHWI, depthwise 1HWC, FC (out, in)
    if op.kind == "conv2d":
        return out * w[1] * w[2] * w[3]
    if op.kind == "depthwise_conv2d":
        return out * w[1] * w[2]
    return out * w[1]


def compiled_macs(graph: Graph) -> dict[str, int]:
    """MACs per op name of what the C compiler runs for ``graph`` (padding-only taps dropped,
    ``edgenas.deploy.crop_taps``), so instructions per MAC count work actually done."""
    from ..deploy.crop_taps import crop_dead_taps

    compiled = crop_dead_taps(graph)
    return {op.name: op_macs(compiled, op) for op in compiled.ops}


def block_of(op_name: str) -> str:
    """The latency-table entry a layer belongs to: ``b3.dw`` → ``b3``; stem and first block → ``stem``;
    head, pool and classifier → ``head`` (other models' op names are their own block)."""
    head = op_name.split(".", 1)[0]
    if head in ("stem", "first_dw", "first_pw"):
        return "stem"
    if head in ("head", "pool", "logits"):
        return "head"
    return head


def _live_bytes(buffers: tuple[Buffer, ...], steps: int) -> list[int]:
    return [sum(b.bytes for b in buffers if b.first <= s <= b.last) for s in range(steps)]


def load_layer_view(artifact_dir: str | Path, board: str | None = None) -> LayerView:
    """The per-layer view of an artifact directory; ``board`` picks which measured run (default:
    the only or first one recorded in ``memory.json``).

    Raises:
        UsageError: the directory is not a compiled artifact.
    """
    from ..deploy.pipeline import load_artifact
    from ..deploy.tflite_reader import read_tflite

    root = Path(artifact_dir)
    artifact = load_artifact(root)
    graph = read_tflite(artifact.tflite)
    op_work = compiled_macs(graph)
    by_name = {op.name: op for op in graph.ops}
    by_output = {out: op for op in graph.ops for out in op.outputs}
    plan = json.loads((artifact.src_dir / "memory.json").read_text())
    buffers = tuple(Buffer(b["name"], int(b["offset"]), int(b["bytes"]), int(b["first_step"]), int(b["last_step"]))
                    for b in plan.get("buffers", []))
    measured_all = json.loads(artifact.memory_json.read_text()).get("measured", {})
    name = board if board in measured_all else next(iter(measured_all), None)
    run = measured_all.get(name, {}) if name else {}
    counts = run.get("layer_counts")
    live = _live_bytes(buffers, len(artifact.layers))
    rows = []
    for lay in artifact.layers:
        op = by_name.get(lay["op"]) or by_output.get(lay["output"])
        macs = op_work.get(op.name, 0) if op is not None else 0
        shape = tuple(graph.tensor(lay["output"]).shape) if lay["output"] in graph.tensors else ()
        measured = int(counts[lay["index"]]) if counts else None
        rows.append(LayerRow(
            index=int(lay["index"]), kind=lay["kind"] + (" + add" if lay.get("fused_add") else ""), op=lay["op"],
            block=block_of(lay["op"]), out_shape=shape, out_bytes=int(np.prod(shape)) if shape else 0,
            macs=macs, measured=measured,
            per_mac=round(measured / macs, 2) if measured is not None and macs else None,
            live_bytes=live[lay["index"]] if lay["index"] < len(live) else 0,
        ))
    return LayerView(tuple(rows), buffers, artifact.arena_bytes, run.get("count_unit") if counts else None,
                     name if counts else None)
