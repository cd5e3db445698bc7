"""``CostModel``: how expensive is this ``Arch`` on this board — every constrained metric, cached.

Exact parts: MACs, parameters, weight bytes, kernel calls and the arena (the compiler's memory
plan, see :mod:`edgenas.cost.memory`). Estimated parts: the firmware's own flash and RAM besides
the model (measured per core, :mod:`edgenas.cost.overhead`) and latency, from any object with
``predict(arch) -> float`` (a latency table; its unit is its own, e.g. instructions or ms).

:meth:`CostModel.minimum` gives the smallest achievable value of a metric over the whole space
(dynamic programming, no enumeration), so a search can refuse an impossible budget up front.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Protocol

from ..boards import Board
from ..errors import UsageError
from ..space import Arch, BlockChoice, SpaceSpec, same_out
from . import memory
from .metrics import (LayerCost, block_layers, kernel_calls, prefix_layers, tail_layers, uses_kx1_depthwise,
                      uses_kx1_long_depthwise, uses_strided_depthwise)
from .overhead import FirmwareOverhead, overhead_for_board

METRICS = ("sram_bytes", "flash_bytes", "latency", "macs", "params", "arena_bytes", "model_flash_bytes")
"""Metric names a constraint may name (all are "lower is better")."""


class LatencyPredictor(Protocol):
    def predict(self, arch: Arch) -> float: ...


@dataclass(frozen=True)
class Metrics:
    """Costs of one subnet.

    Attributes:
        macs, params: exact.
        model_flash_bytes: exact ``en_w_*`` bytes (``EN_MODEL_FLASH_BYTES``).
        arena_bytes: exact planner arena (``EN_ARENA_BYTES``).
        layers: kernel calls (``EN_MODEL_NUM_LAYERS``).
        flash_bytes: whole firmware image: weights + measured code/struct overhead (estimate).
        sram_bytes: whole firmware RAM: arena + harness buffers + stack reserve (estimate).
        latency: from the latency table, in its unit; None without one.
    """

    macs: int
    params: int
    model_flash_bytes: int
    arena_bytes: int
    layers: int
    flash_bytes: int
    sram_bytes: int
    latency: float | None = None

    def get(self, name: str) -> float:
        value = getattr(self, name, None) if name in METRICS else None
        if value is None:
            raise UsageError(f"metric {name!r} is not available",
                             hint=f"metrics: {', '.join(METRICS)} (latency needs a latency table)")
        return value

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Minimum:
    """Smallest value of a metric over a space and one architecture that reaches it."""

    metric: str
    value: float
    arch: Arch


@lru_cache(maxsize=200_000)
def _stage_peak(blocks: tuple[memory.BlockShape, ...], in_size: int, carry_bytes: int) -> memory.Segment:
    return memory.stage_peak(blocks, in_size, carry_bytes)


@lru_cache(maxsize=50_000)
def _tail_peak(spec: SpaceSpec, size: int, cin: int, width: float, carry_bytes: int) -> memory.Segment:
    return memory.tail_segment(spec, size, cin, width, carry_bytes)


_MINIMA: dict[tuple, Minimum] = {}
"""Minima depend only on (spec, overhead, metric): computed once per process."""


def clear_process_caches() -> None:
    """Forget the per-process memory-plan caches and minima, which outlive every ``CostModel``: a
    benchmark of a cold start (a search in a fresh process) clears them before each repeat."""
    _stage_peak.cache_clear()
    _tail_peak.cache_clear()
    _MINIMA.clear()


def _pareto(states: dict[tuple[int, int], tuple[int, tuple]]) -> dict[tuple[int, int], tuple[int, tuple]]:
    """Drop DP states beaten on carry, blocks and peak at once by another (they cannot win:
    a larger carry or more blocks never lowers a later peak or the RAM overhead)."""
    items = sorted(states.items(), key=lambda kv: (kv[1][0], kv[0]))
    kept: list[tuple[tuple[int, int], tuple[int, tuple]]] = []
    for (carry, n), val in items:
        if not any(c <= carry and m <= n and v[0] <= val[0] for (c, m), v in kept):
            kept.append(((carry, n), val))
    return dict(kept)


def _sums(layers: list[LayerCost]) -> tuple[int, int, int]:
    return sum(x.macs for x in layers), sum(x.params for x in layers), sum(x.flash_bytes for x in layers)


@dataclass(frozen=True)
class _Geometry:
    """Everything fixed by (resolution, width): stage input sizes and channels, stem and tail."""

    stage_sizes: tuple[int, ...]
    stage_in_channels: tuple[int, ...]
    stage_out_channels: tuple[int, ...]
    fixed: tuple[int, int, int]  # (macs, params, flash) of prefix + tail
    prefix: memory.Segment
    last_size: int


@dataclass(frozen=True)
class _StageCost:
    costs: tuple[int, int, int]  # (macs, params, flash)
    shapes: tuple[memory.BlockShape, ...]


class CostModel:
    """Costs of subnets of ``spec`` on ``board`` (memory overheads of its core) with an optional
    latency table. Without a board, ``sram_bytes``/``flash_bytes`` count the model alone.

    Args:
        spec: the search space.
        board: target board (its core selects the measured firmware overhead).
        latency_table: any object with ``predict(arch) -> float``.
        overhead: override the measured overhead (tests, other toolchains).
    """

    def __init__(self, spec: SpaceSpec, board: Board | None = None, latency_table: LatencyPredictor | None = None,
                 *, overhead: FirmwareOverhead | None = None) -> None:
        self.spec = spec
        self.board = board
        self.latency_table = latency_table
        self.overhead = overhead if overhead is not None else (overhead_for_board(board) if board else None)
        self._cache: dict[Arch, Metrics] = {}
        self._geometries: dict[tuple[int, float], _Geometry] = {}
        self._stages: dict[tuple, _StageCost] = {}

    # ------------------------------------------------------------------ per arch

    def _geometry(self, resolution: int, width: float) -> _Geometry:
        key = (resolution, width)
        hit = self._geometries.get(key)
        if hit is not None:
            return hit
        spec = self.spec
        size = same_out(resolution, spec.stem_stride)
        cin = spec.width_channels(spec.first_channels, width)
        sizes, ins, outs = [], [], []
        for sspec in spec.stages:
            sizes.append(size)
            ins.append(cin)
            cin = spec.width_channels(sspec.channels, width)
            outs.append(cin)
            size = same_out(size, sspec.stride)
        pm, pp, pf = _sums(prefix_layers(spec, resolution, width))
        tm, tp, tf = _sums(tail_layers(spec, size, cin, width))
        geo = _Geometry(tuple(sizes), tuple(ins), tuple(outs), (pm + tm, pp + tp, pf + tf),
                        memory.prefix_segment(spec, resolution, width), size)
        self._geometries[key] = geo
        return geo

    def _stage(self, geo: _Geometry, where: tuple[int, float, int], stage: tuple[BlockChoice, ...]) -> _StageCost:
        """Costs of one stage; ``where`` = (resolution, width, stage index) keys the cache."""
        key = (where, stage)
        hit = self._stages.get(key)
        if hit is not None:
            return hit
        si = where[2]
        shapes = self._shapes(geo, si, tuple(c.expand for c in stage))
        size = geo.stage_sizes[si]
        layers: list[LayerCost] = []
        for bi, (choice, shape) in enumerate(zip(stage, shapes)):
            layers += block_layers(f"s{si}b{bi}", size, shape.in_channels, shape.mid_channels, shape.out_channels,
                                   choice.kernel, shape.stride)
            size = same_out(size, shape.stride)
        cost = _StageCost(_sums(layers), shapes)
        self._stages[key] = cost
        return cost

    def _shapes(self, geo: _Geometry, si: int, expands: tuple[int, ...]) -> tuple[memory.BlockShape, ...]:
        """Block shapes of a stage (what memory depends on), without layer costs."""
        spec, sspec = self.spec, self.spec.stages[si]
        cin, cout = geo.stage_in_channels[si], geo.stage_out_channels[si]
        shapes = []
        for bi, e in enumerate(expands):
            shapes.append(memory.BlockShape(cin, spec.mid_channels(cin, e), cout, sspec.stride if bi == 0 else 1, bi > 0))
            cin = cout
        return tuple(shapes)

    def _static(self, arch: Arch) -> tuple[_Geometry, list[_StageCost], tuple[int, int, int]]:
        geo = self._geometry(arch.resolution, arch.width)
        stages = [self._stage(geo, (arch.resolution, arch.width, si), stage) for si, stage in enumerate(arch.stages)]
        m, p, f = geo.fixed
        for st in stages:
            m, p, f = m + st.costs[0], p + st.costs[1], f + st.costs[2]
        return geo, stages, (m, p, f)

    def _arena(self, geo: _Geometry, stages: list[_StageCost], width: float) -> int:
        peak, carry = geo.prefix.peak_bytes, geo.prefix.carry_bytes
        for si, st in enumerate(stages):
            seg = _stage_peak(st.shapes, geo.stage_sizes[si], carry)
            peak, carry = max(peak, seg.peak_bytes), seg.carry_bytes
        seg = _tail_peak(self.spec, geo.last_size, geo.stage_out_channels[-1], width, carry)
        return max(peak, seg.peak_bytes)

    def arena_bytes(self, arch: Arch) -> int:
        """Exact arena of ``arch`` (see :mod:`edgenas.cost.memory`)."""
        geo, stages, _ = self._static(arch)
        return self._arena(geo, stages, arch.width)

    def _flash_sram(self, arch: Arch, model_flash: int, arena: int) -> tuple[int, int]:
        if self.overhead is None:
            return model_flash, arena
        calls = kernel_calls(self.spec, arch)
        in_bytes = arch.resolution * arch.resolution * self.spec.in_channels
        return (model_flash + self.overhead.flash_bytes(calls, uses_strided_depthwise(self.spec, arch),
                                                            uses_kx1_depthwise(self.spec, arch),
                                                            uses_kx1_long_depthwise(self.spec, arch)),
                arena + self.overhead.ram_bytes(calls, in_bytes, self.spec.num_classes))

    def metrics(self, arch: Arch) -> Metrics:
        """All metrics of ``arch`` (cached; equal archs have equal canonical strings)."""
        key = arch
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        geo, stages, (macs, params, model_flash) = self._static(arch)
        arena = self._arena(geo, stages, arch.width)
        flash, sram = self._flash_sram(arch, model_flash, arena)
        latency = float(self.latency_table.predict(arch)) if self.latency_table is not None else None
        m = Metrics(macs=macs, params=params, model_flash_bytes=model_flash, arena_bytes=arena,
                    layers=kernel_calls(self.spec, arch), flash_bytes=flash, sram_bytes=sram, latency=latency)
        self._cache[key] = m
        return m

    def _additive(self, arch: Arch, name: str) -> float:
        """An additive metric without planning memory (fast path for :meth:`minimum`)."""
        if name == "latency":
            return self.metric(arch, name)
        _, _, (macs, params, model_flash) = self._static(arch)
        values = {"macs": macs, "params": params, "model_flash_bytes": model_flash,
                  "flash_bytes": self._flash_sram(arch, model_flash, 0)[0]}
        return values[name]

    def metric(self, arch: Arch, name: str) -> float:
        return self.metrics(arch).get(name)

    def planned_arena_bytes(self, arch: Arch) -> int:
        """The compiler's own arena for ``arch`` (slow; used to confirm a final answer)."""
        return memory.planned_arena_bytes(self.spec, arch)

    # ------------------------------------------------------------------ minimum over the space

    def minimum(self, name: str) -> Minimum:
        """Smallest achievable ``name`` over the space.

        Additive metrics (MACs, params, weight and firmware flash, latency from a per-block table)
        are minimised block by block: within a (resolution, width), a block's cost depends only on
        its position and choice, so each stage picks its cheapest depth and choices. Peak memory is
        a max over stages linked by one carried buffer size: a DP over stages whose state is (carry,
        blocks so far) keeps the smallest running peak. The value returned is always the metric of
        the returned arch, computed by :meth:`metrics` (so it is achievable); it is the exact minimum
        when latency is additive over blocks, as block-keyed tables are.
        """
        if name not in METRICS:
            raise UsageError(f"unknown metric {name!r}", hint=f"metrics: {', '.join(METRICS)}")
        if name == "latency" and self.latency_table is None:
            raise UsageError("latency needs a latency table", hint="pass a latency table to the cost model")
        key = (self.spec, self.overhead, name)
        if name != "latency" and key in _MINIMA:
            return _MINIMA[key]
        found = self._minimum(name)
        if name != "latency":
            _MINIMA[key] = found
        return found

    def _minimum(self, name: str) -> Minimum:
        best: Arch | None = None
        best_value = float("inf")
        for resolution in self.spec.resolutions:
            for width in self.spec.widths:
                if name in ("sram_bytes", "arena_bytes"):
                    arch = self._min_memory_arch(resolution, width, name)
                else:
                    arch = self._min_additive_arch(resolution, width, lambda a: self._additive(a, name))
                value = self.metric(arch, name)
                if value < best_value:
                    best, best_value = arch, value
        assert best is not None
        return Minimum(name, best_value, best)

    def _base_choice(self) -> BlockChoice:
        return BlockChoice(self.spec.kernels[0], self.spec.expands[0])

    def _min_additive_arch(self, resolution: int, width: float, f: Callable[[Arch], float]) -> Arch:
        c0 = self._base_choice()
        choices = [BlockChoice(k, e) for k in self.spec.kernels for e in self.spec.expands]
        base_stages = [tuple([c0] * s.depths[0]) for s in self.spec.stages]
        stages = list(base_stages)
        for si, sspec in enumerate(self.spec.stages):
            best_stage, best_cost = None, float("inf")
            for depth in sspec.depths:
                trial = list(base_stages)
                trial[si] = tuple([c0] * depth)
                ref = f(Arch(resolution, width, tuple(trial)))
                picked, cost = [], ref
                for j in range(depth):
                    deltas = []
                    for c in choices:
                        probe = list(trial[si])
                        probe[j] = c
                        trial2 = list(trial)
                        trial2[si] = tuple(probe)
                        deltas.append((f(Arch(resolution, width, tuple(trial2))) - ref, c))
                    delta, c = min(deltas, key=lambda t: (t[0], t[1]))
                    picked.append(c)
                    cost += delta
                if cost < best_cost:
                    best_stage, best_cost = tuple(picked), cost
            stages[si] = best_stage
        return Arch(resolution, width, tuple(stages))

    def _min_memory_arch(self, resolution: int, width: float, name: str) -> Arch:
        spec = self.spec
        c0 = self._base_choice()
        geo = self._geometry(resolution, width)
        # state (carry bytes, blocks so far) -> (running peak, stages chosen so far); the kernel
        # changes no buffer, so stages are enumerated over depths and expand ratios only.
        states: dict[tuple[int, int], tuple[int, tuple]] = {(geo.prefix.carry_bytes, 0): (geo.prefix.peak_bytes, ())}
        for si, sspec in enumerate(spec.stages):
            nxt: dict[tuple[int, int], tuple[int, tuple]] = {}
            for depth in sspec.depths:
                for expands in itertools.product(spec.expands, repeat=depth):
                    stage = tuple(BlockChoice(c0.kernel, e) for e in expands)
                    shapes = self._shapes(geo, si, expands)
                    for (carry, n), (peak, chosen) in states.items():
                        got = _stage_peak(shapes, geo.stage_sizes[si], carry)
                        key = (got.carry_bytes, n + depth)
                        cand = (max(peak, got.peak_bytes), chosen + (stage,))
                        if key not in nxt or cand[0] < nxt[key][0]:
                            nxt[key] = cand
            states = _pareto(nxt)
        best_arch, best_value = None, float("inf")
        for _peak, chosen in states.values():
            arch = Arch(resolution, width, chosen)
            value = self.metric(arch, name)
            if value < best_value:
                best_arch, best_value = arch, value
        assert best_arch is not None
        return best_arch
