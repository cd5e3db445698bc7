"""Every channel count and feature-map size of one subnet, resolved from (spec, arch) in one place.

The supernet, extraction, quantization, the cost model, the profiler and the report all read a
:class:`NetPlan`; none of them works a channel count or a map size out on its own. Torch-free, so
the cost model and the search never load torch for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .arch import Arch
from .spec import SpaceSpec, same_out


@dataclass(frozen=True)
class BlockPlan:
    """Channel counts and geometry of one active block, derived from (spec, arch) in one place."""

    stage: int
    index: int
    in_channels: int
    mid_channels: int
    out_channels: int
    kernel: int
    stride: int
    residual: bool
    in_size: int

    @property
    def out_size(self) -> int:
        return same_out(self.in_size, self.stride)


@dataclass(frozen=True)
class NetPlan:
    """Every channel count of a subnet; the supernet, extraction, quantization and cost read it."""

    resolution: int
    in_channels: int
    stem_channels: int
    first_channels: int
    blocks: tuple[BlockPlan, ...]
    head_channels: int
    num_classes: int
    stem_size: int
    """Feature-map size after the stem (the first block's too)."""

    @property
    def head_size(self) -> int:
        """Feature-map size entering the head (the last block's output)."""
        return self.blocks[-1].out_size


def plan_net(spec: SpaceSpec, arch: Arch) -> NetPlan:
    """Resolve the active channel counts and feature-map sizes of ``arch`` in ``spec``."""
    w = arch.width
    stem = spec.width_channels(spec.stem_channels, w)
    first = spec.width_channels(spec.first_channels, w)
    blocks = []
    in_ch = first
    size = stem_size = same_out(arch.resolution, spec.stem_stride)
    for si, (stage, sspec) in enumerate(zip(arch.stages, spec.stages)):
        out_ch = spec.width_channels(sspec.channels, w)
        for bi, choice in enumerate(stage):
            stride = sspec.stride if bi == 0 else 1
            blocks.append(
                BlockPlan(
                    stage=si,
                    index=bi,
                    in_channels=in_ch,
                    mid_channels=spec.mid_channels(in_ch, choice.expand),
                    out_channels=out_ch,
                    kernel=choice.kernel,
                    stride=stride,
                    residual=bi > 0,
                    in_size=size,
                )
            )
            in_ch = out_ch
            size = blocks[-1].out_size
    head = spec.width_channels(spec.head_channels, w)
    return NetPlan(arch.resolution, spec.in_channels, stem, first, tuple(blocks), head, spec.num_classes, stem_size)
