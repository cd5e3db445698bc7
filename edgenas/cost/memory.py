"""Peak arena bytes of a subnet, fast, equal to the compiler's memory plan.

The compiler plans memory with :func:`edgenas.deploy.plan_memory` on the lowered graph
(``edgenas.deploy.fuse.lower``): about 20 ms per subnet, too slow for a search that looks at
thousands. For the straight MobileNetV2 chain that ``build_int8_graph`` emits, the same decisions
can be replayed on sizes alone, in microseconds:

- every buffer keeps its root tensor's size (an in-place output is never larger than its root);
- the stem and every non-in-place conv get their own buffer; a depthwise conv runs in place over
  its input when that buffer has no later reader (scratch: one input plane); a 1x1 conv with
  ``C_out <= C_in`` runs in place, banded (scratch: one input row), under the same condition;
- a residual ADD always fuses into its 1x1 projection and writes over the block input (the skip),
  which therefore stays live across the block;
- in a chain, the buffers live at a step are its input's, its output's and a pending skip's.

The arena is then ``max over steps of the 8-byte-aligned live bytes``. That is a lower bound for
any placement, and the compiler's greedy allocator reaches it on these graphs;
``tests/cost/test_memory.py`` checks equality with ``plan_memory(structure_graph(...))`` on
hundreds of random subnets, and :func:`planned_arena_bytes` runs the compiler path itself (the
search re-checks its final answer with it).

The chain splits at stage boundaries, where only the stage input's buffer is live, so the peak is
``max(prefix, stage_1, ..., stage_n, tail)`` with one integer (that buffer's size) carried from
stage to stage: :func:`stage_peak` is what the minimum-SRAM dynamic programme iterates on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from ..deploy.allocator import DEFAULT_ALIGNMENT
from ..space import Arch, BlockPlan, SpaceSpec, plan_net, same_out


def _align(n: int) -> int:
    return -(-n // DEFAULT_ALIGNMENT) * DEFAULT_ALIGNMENT


class _Buffer:
    """One arena buffer; identity matters (two buffers of equal size are still two)."""

    __slots__ = ("size", "aligned")

    def __init__(self, size: int) -> None:
        self.size = size
        self.aligned = _align(size)


class _Chain:
    """Replays lowering decisions over a chain, tracking the peak of aligned live bytes."""

    def __init__(self, current: _Buffer) -> None:
        self.current = current
        self.skip: _Buffer | None = None
        self.peak = 0

    def _step(self, a: _Buffer, b: _Buffer | None, c: _Buffer | None, scratch: int) -> None:
        """Live at this step: buffers ``a``, ``b``, ``c`` (None or repeats count once) and scratch."""
        total = a.aligned + _align(scratch)
        if b is not None and b is not a:
            total += b.aligned
        if c is not None and c is not a and c is not b:
            total += c.aligned
        if total > self.peak:
            self.peak = total

    def conv(self, out_bytes: int, in_place_ok: bool, row_bytes: int) -> None:
        """A conv; ``in_place_ok`` = 1x1, stride 1, ``C_out <= C_in`` (banded in place)."""
        src = self.current
        if in_place_ok and src is not self.skip and src.size >= out_bytes:
            self._step(src, self.skip, None, row_bytes)
            return
        out = _Buffer(out_bytes)
        self._step(src, out, self.skip, 0)
        self.current = out

    def depthwise(self, out_bytes: int, plane_bytes: int) -> None:
        src = self.current
        if src is not self.skip and src.size >= out_bytes:
            self._step(src, self.skip, None, plane_bytes)
            return
        out = _Buffer(out_bytes)
        self._step(src, out, self.skip, 0)
        self.current = out

    def fused_project_add(self) -> None:
        """The 1x1 projection with the residual ADD in its epilogue, written over the skip."""
        assert self.skip is not None and self.skip is not self.current
        self._step(self.current, self.skip, None, 0)
        self.current, self.skip = self.skip, None

    def new(self, out_bytes: int) -> None:
        """An op that always gets its own output buffer (pool, FC)."""
        out = _Buffer(out_bytes)
        self._step(self.current, out, None, 0)
        self.current = out


@dataclass(frozen=True)
class Segment:
    """Peak of a part of the chain and the size of the buffer it hands on."""

    peak_bytes: int
    carry_bytes: int


class BlockShape(NamedTuple):
    """What memory depends on in a block (the kernel size changes no buffer). A NamedTuple:
    hashed in C, as cache keys are hashed millions of times in a search."""

    in_channels: int
    mid_channels: int
    out_channels: int
    stride: int
    residual: bool

    @classmethod
    def of(cls, b: BlockPlan) -> BlockShape:
        return cls(b.in_channels, b.mid_channels, b.out_channels, b.stride, b.residual)


def _block(chain: _Chain, b: BlockShape, size: int) -> int:
    out = same_out(size, b.stride)
    if b.residual:
        chain.skip = chain.current
    chain.conv(size * size * b.mid_channels, b.mid_channels <= b.in_channels, size * b.in_channels)
    chain.depthwise(out * out * b.mid_channels, size * size)
    if b.residual:
        chain.fused_project_add()
    else:
        chain.conv(out * out * b.out_channels, b.out_channels <= b.mid_channels, out * b.mid_channels)
    return out


def prefix_segment(spec: SpaceSpec, resolution: int, width: float) -> Segment:
    """Input, stem, first depthwise and first pointwise conv."""
    stem = spec.width_channels(spec.stem_channels, width)
    first = spec.width_channels(spec.first_channels, width)
    size = same_out(resolution, spec.stem_stride)
    chain = _Chain(_Buffer(resolution * resolution * spec.in_channels))
    chain.conv(size * size * stem, False, 0)
    chain.depthwise(size * size * stem, size * size)
    chain.conv(size * size * first, first <= stem, size * stem)
    return Segment(chain.peak, chain.current.size)


def stage_peak(blocks: Sequence[BlockShape], in_size: int, carry_bytes: int) -> Segment:
    """Peak over one stage's blocks, entered with the stage input in a ``carry_bytes`` buffer."""
    chain = _Chain(_Buffer(carry_bytes))
    size = in_size
    for b in blocks:
        size = _block(chain, b, size)
    return Segment(chain.peak, chain.current.size)


def tail_segment(spec: SpaceSpec, size: int, in_channels: int, width: float, carry_bytes: int) -> Segment:
    """Head conv, global pooling (its reshape is an alias) and the FC layer."""
    head = spec.width_channels(spec.head_channels, width)
    chain = _Chain(_Buffer(carry_bytes))
    chain.conv(size * size * head, head <= in_channels, size * in_channels)
    chain.new(head)
    chain.new(spec.num_classes)
    return Segment(chain.peak, chain.current.size)


def arena_bytes(spec: SpaceSpec, arch: Arch) -> int:
    """Arena of the compiled ``arch`` (equal to ``plan_memory(structure_graph(spec, arch))``)."""
    plan = plan_net(spec, arch)
    seg = prefix_segment(spec, arch.resolution, arch.width)
    peak, carry = seg.peak_bytes, seg.carry_bytes
    for si in range(len(arch.stages)):
        blocks = [b for b in plan.blocks if b.stage == si]
        seg = stage_peak([BlockShape.of(b) for b in blocks], blocks[0].in_size, carry)
        peak, carry = max(peak, seg.peak_bytes), seg.carry_bytes
    seg = tail_segment(spec, plan.head_size, plan.blocks[-1].out_channels, arch.width, carry)
    return max(peak, seg.peak_bytes)


def planned_arena_bytes(spec: SpaceSpec, arch: Arch) -> int:
    """The compiler's own answer (structure graph, lowering, allocator): slow, authoritative."""
    from ..deploy import plan_memory, structure_graph

    return plan_memory(structure_graph(spec, arch)).arena_bytes
