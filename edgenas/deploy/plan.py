"""The memory plan of a compiled model: one arena holding every activation and scratch buffer.

This is *the* memory model of edgenas: codegen lays out the C arena from it and the cost
model predicts SRAM with it, so prediction and build cannot drift apart.

Steps: :func:`edgenas.deploy.fuse.lower` decides fusion, in-place reuse and aliases; each
resulting buffer lives from the step that first writes it to the step that last reads it
(the model input from step 0, the model output to the last step: ``en_model_invoke`` copies
them in and out of the arena); each kernel's scratch lives during its own step only; then
:func:`edgenas.deploy.allocator.allocate` places them all. Offsets are aligned to 8 bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import MemoryOverflowError
from .allocator import DEFAULT_ALIGNMENT, BufferRequest, allocate, find_overlaps, lifetime_lower_bound
from .fuse import Schedule, lower
from .ir import Graph
from .scratch import step_scratch_bytes


@dataclass
class MemoryPlan:
    """Where everything lives in the arena.

    Attributes:
        arena_bytes: size of the one static arena (equals ``EN_ARENA_BYTES`` in model.h).
        lower_bound_bytes: max over steps of the bytes that must be live at once given the
            fusion/in-place decisions (scratch included, unaligned); no placement beats it.
        alignment: every offset is a multiple of it.
        tensor_offsets: arena offset of every stored tensor (aliases share their root's).
        scratch: step index -> (offset, bytes) for steps that need scratch.
        buffers: the lifetimes the allocator placed (tensor buffers by root name, then
            ``scratch@<step>``), with ``buffer_offsets`` their offsets.
        decisions: human-readable fusion/in-place/alias decisions.
        heuristic: the allocator heuristic that won.
    """

    arena_bytes: int
    lower_bound_bytes: int
    alignment: int
    tensor_offsets: dict[str, int]
    scratch: dict[int, tuple[int, int]]
    buffers: list[BufferRequest]
    buffer_offsets: dict[str, int]
    decisions: list[str]
    heuristic: str
    schedule: Schedule = field(repr=False)

    def check_no_overlap(self) -> None:
        """Raise if two simultaneously live buffers share a byte or one leaves the arena.

        Raises:
            MemoryOverflowError: naming the offending buffers.
        """
        for b in self.buffers:
            off = self.buffer_offsets[b.name]
            if off % self.alignment or off < 0 or off + b.size_bytes > self.arena_bytes:
                raise MemoryOverflowError(
                    f"buffer {b.name} at {off}+{b.size_bytes} is misaligned or outside the {self.arena_bytes}-byte arena",
                    hint="this is a planner bug: report it with the graph",
                )
        bad = find_overlaps(self.buffers, self.buffer_offsets)
        if bad:
            raise MemoryOverflowError(
                f"live buffers overlap in the arena: {bad[:5]}",
                hint="this is a planner bug: report it with the graph",
            )

    def to_json(self) -> dict[str, Any]:
        """Stable JSON view (memory.json)."""
        return {
            "arena_bytes": self.arena_bytes,
            "lower_bound_bytes": self.lower_bound_bytes,
            "alignment": self.alignment,
            "heuristic": self.heuristic,
            "tensors": {t: self.tensor_offsets[t] for t in sorted(self.tensor_offsets)},
            "buffers": [
                {
                    "name": b.name,
                    "offset": self.buffer_offsets[b.name],
                    "bytes": b.size_bytes,
                    "first_step": b.first_step,
                    "last_step": b.last_step,
                }
                for b in self.buffers
            ],
            "decisions": list(self.decisions),
        }


def buffer_lifetimes(schedule: Schedule) -> list[BufferRequest]:
    """Lifetimes of every arena buffer of ``schedule``: tensor buffers first, then scratch."""
    graph = schedule.graph
    n = len(schedule.steps)
    last_step = max(n - 1, 0)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for t in graph.inputs:
        first[schedule.buffer_of(t)] = 0
    for s in schedule.steps:
        root = schedule.buffer_of(s.output)
        first.setdefault(root, s.index)
        last[root] = max(last.get(root, s.index), s.index)
        for t in (s.input, s.extra_input, s.residual):
            if t:
                r = schedule.buffer_of(t)
                last[r] = max(last.get(r, s.index), s.index)
    for t in graph.outputs:
        last[schedule.buffer_of(t)] = last_step
    size: dict[str, int] = {}
    for t, root in schedule.storage.items():
        size[root] = max(size.get(root, 0), graph.tensor(t).nbytes)
    reqs = [
        BufferRequest(name=root, size_bytes=size[root], first_step=first[root], last_step=last.get(root, first[root]))
        for root in sorted(first, key=lambda r: (first[r], r))
    ]
    for s in schedule.steps:
        nbytes = step_scratch_bytes(graph, s)
        if nbytes:
            reqs.append(BufferRequest(name=f"scratch@{s.index}", size_bytes=nbytes, first_step=s.index, last_step=s.index))
    return reqs


def plan_memory(
    graph: Graph,
    *,
    schedule: Schedule | None = None,
    alignment: int = DEFAULT_ALIGNMENT,
    arena_limit_bytes: int | None = None,
) -> MemoryPlan:
    """Plan the arena of ``graph`` (lowered with default fusion unless ``schedule`` is given).

    Raises:
        MemoryOverflowError: the arena exceeds ``arena_limit_bytes``.
    """
    schedule = schedule if schedule is not None else lower(graph)
    reqs = buffer_lifetimes(schedule)
    alloc = allocate(reqs, alignment=alignment, arena_limit_bytes=arena_limit_bytes)
    tensor_offsets = {t: alloc.offsets[root] for t, root in schedule.storage.items()}
    scratch = {
        int(r.name.split("@")[1]): (alloc.offsets[r.name], r.size_bytes) for r in reqs if r.name.startswith("scratch@")
    }
    plan = MemoryPlan(
        arena_bytes=alloc.arena_bytes,
        lower_bound_bytes=lifetime_lower_bound(reqs),
        alignment=alignment,
        tensor_offsets=tensor_offsets,
        scratch=scratch,
        buffers=reqs,
        buffer_offsets=dict(alloc.offsets),
        decisions=list(schedule.decisions),
        heuristic=alloc.heuristic,
        schedule=schedule,
    )
    plan.check_no_overlap()
    return plan
