"""Static arena allocation: buffer lifetimes and sizes in, aligned offsets and a peak out.

A pure function with no knowledge of graphs, so the compiler and the cost model share it and
its tests can replay any lifetimes. Problem: each buffer lives over an inclusive step interval
``[first_step, last_step]``; two buffers whose intervals intersect must not share bytes.
Minimising the arena is NP-hard (it is 2-D strip packing with fixed x positions), so we run
several greedy heuristics and keep the smallest arena:

1. Sort the buffers by one of several keys (size, lifetime length, size x lifetime, first use,
   last use; ties broken by name so the result is deterministic).
2. Take them in that order. For each, list the already placed buffers whose lifetimes
   intersect it, sorted by offset, and scan the gaps between them.
   - *first-fit* places it in the lowest gap that is large enough;
   - *best-fit* places it in the smallest gap that is large enough (least waste), and above
     everything only when no gap fits.
3. The arena of that run is the highest end offset; keep the best run (first heuristic wins ties).

Every offset is a multiple of ``alignment`` (default 8: int32/int64 scratch and word-wise
kernel loads stay aligned on Cortex-M, and the C arena is declared ``aligned(8)``); sizes are
rounded up to it. Cost: O(h * n^2) for h heuristics and n buffers, trivial for MCU graphs.
No guarantee of optimality: compare ``arena_bytes`` with :func:`lifetime_lower_bound`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import MemoryOverflowError

DEFAULT_ALIGNMENT = 8


@dataclass(frozen=True)
class BufferRequest:
    """One buffer to place: ``size_bytes`` live from ``first_step`` to ``last_step`` inclusive."""

    name: str
    size_bytes: int
    first_step: int
    last_step: int

    def overlaps_in_time(self, other: BufferRequest) -> bool:
        return self.first_step <= other.last_step and other.first_step <= self.last_step


@dataclass(frozen=True)
class Allocation:
    """Offsets by buffer name, the arena size they need, and the heuristic that found them."""

    offsets: dict[str, int]
    arena_bytes: int
    heuristic: str


def align_up(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def lifetime_lower_bound(requests: Sequence[BufferRequest]) -> int:
    """Max over steps of the bytes live at that step (unaligned): no placement can beat it."""
    if not requests:
        return 0
    steps = range(min(r.first_step for r in requests), max(r.last_step for r in requests) + 1)
    return max(sum(r.size_bytes for r in requests if r.first_step <= s <= r.last_step) for s in steps)


_ORDERINGS: dict[str, Callable[[BufferRequest], tuple]] = {
    "size": lambda r: (-r.size_bytes, r.first_step, r.name),
    "size_x_life": lambda r: (-r.size_bytes * (r.last_step - r.first_step + 1), -r.size_bytes, r.name),
    "life": lambda r: (-(r.last_step - r.first_step), -r.size_bytes, r.name),
    "first_use": lambda r: (r.first_step, -r.size_bytes, r.name),
    "last_use": lambda r: (-r.last_step, -r.size_bytes, r.name),
}


def _place(req: BufferRequest, size: int, placed: list[tuple[int, int, BufferRequest]], best_fit: bool, alignment: int) -> int:
    """Offset for ``req`` among ``placed`` (offset, aligned size, request) triples."""
    busy = sorted((off, off + sz) for off, sz, other in placed if other.overlaps_in_time(req))
    cursor = 0
    best: tuple[int, int] | None = None  # (waste, offset)
    for start, end in busy:
        gap = start - cursor
        if gap >= size:
            if not best_fit:
                return cursor
            if best is None or gap - size < best[0]:
                best = (gap - size, cursor)
        cursor = max(cursor, end)
    if best is not None:
        return best[1]
    return align_up(cursor, alignment)


def _run(requests: Sequence[BufferRequest], key: Callable[[BufferRequest], tuple], best_fit: bool, alignment: int) -> tuple[dict[str, int], int]:
    placed: list[tuple[int, int, BufferRequest]] = []
    offsets: dict[str, int] = {}
    arena = 0
    for req in sorted(requests, key=key):
        size = align_up(req.size_bytes, alignment)
        off = _place(req, size, placed, best_fit, alignment)
        placed.append((off, size, req))
        offsets[req.name] = off
        arena = max(arena, off + size)
    return offsets, arena


def allocate(
    requests: Sequence[BufferRequest],
    *,
    alignment: int = DEFAULT_ALIGNMENT,
    arena_limit_bytes: int | None = None,
) -> Allocation:
    """Place every request in one arena, trying each ordering with first-fit and best-fit.

    Args:
        requests: buffers with unique names, positive sizes and ``first_step <= last_step``.
        alignment: power of two every offset (and rounded size) is a multiple of.
        arena_limit_bytes: raise if the best arena found is larger.

    Returns:
        The smallest allocation found; ties go to the earlier heuristic in a fixed list.

    Raises:
        ValueError: malformed requests (duplicate names, bad sizes or lifetimes).
        MemoryOverflowError: the arena exceeds ``arena_limit_bytes``.
    """
    if alignment <= 0 or alignment & (alignment - 1):
        raise ValueError(f"alignment must be a power of two, got {alignment}")
    names = [r.name for r in requests]
    if len(set(names)) != len(names):
        raise ValueError("buffer names must be unique")
    for r in requests:
        if r.size_bytes < 0 or r.first_step > r.last_step:
            raise ValueError(f"bad buffer request {r}")
    best: Allocation | None = None
    for order_name, key in _ORDERINGS.items():
        for best_fit in (False, True):
            offsets, arena = _run(requests, key, best_fit, alignment)
            if best is None or arena < best.arena_bytes:
                heuristic = f"{order_name}/{'best' if best_fit else 'first'}-fit"
                best = Allocation(offsets=offsets, arena_bytes=arena, heuristic=heuristic)
    if best is None:
        best = Allocation(offsets={}, arena_bytes=0, heuristic="empty")
    if arena_limit_bytes is not None and best.arena_bytes > arena_limit_bytes:
        lb = lifetime_lower_bound(requests)
        raise MemoryOverflowError(
            f"arena needs {best.arena_bytes} bytes, over the limit of {arena_limit_bytes} bytes "
            f"(lower bound {lb} bytes)",
            hint="pick a smaller subnet (lower resolution, width or expand ratio) or raise the RAM budget",
        )
    return best


def find_overlaps(requests: Sequence[BufferRequest], offsets: dict[str, int], alignment: int = 1) -> list[tuple[str, str]]:
    """Pairs of buffers that are live at the same step and share at least one byte."""
    bad: list[tuple[str, str]] = []
    reqs = list(requests)
    for i, a in enumerate(reqs):
        for b in reqs[i + 1 :]:
            if not a.overlaps_in_time(b) or a.size_bytes == 0 or b.size_bytes == 0:
                continue
            a0, b0 = offsets[a.name], offsets[b.name]
            if a0 < b0 + b.size_bytes and b0 < a0 + a.size_bytes:
                bad.append((a.name, b.name))
    return bad
