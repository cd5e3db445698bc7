"""The Once-for-All elastic supernet over a ``SpaceSpec``.

stem (3x3 conv, stride 2) → first block (depthwise 3x3 + pointwise, expand 1) → elastic stages of
``ElasticMBConv`` → head (1x1 conv) → global average pool → linear classifier. All convs are
followed by BN and ReLU6 except the projections (linear bottleneck), as in MobileNetV2.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..space import Arch, SpaceSpec, largest_arch, same_out
from .elastic_bn import ElasticBatchNorm
from .elastic_conv import ElasticConv, ElasticDepthwise, ElasticLinear, ElasticPointwise
from .mbconv import ElasticMBConv


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


class OFASupernet(nn.Module):
    """Elastic supernet; ``set_active(arch)`` chooses the subnet that ``forward`` runs."""

    def __init__(self, spec: SpaceSpec) -> None:
        super().__init__()
        self.spec = spec
        top = plan_net(spec, largest_arch(spec))
        self.stem = ElasticConv(spec.in_channels, top.stem_channels, 3, spec.stem_stride)
        self.stem_bn = ElasticBatchNorm(top.stem_channels)
        self.first_dw = ElasticDepthwise(top.stem_channels, (3,), 1)
        self.first_dw_bn = ElasticBatchNorm(top.stem_channels)
        self.first_pw = ElasticPointwise(top.stem_channels, top.first_channels)
        self.first_pw_bn = ElasticBatchNorm(top.first_channels)
        self.stages = nn.ModuleList()
        for si in range(len(spec.stages)):
            blocks = [b for b in top.blocks if b.stage == si]
            self.stages.append(
                nn.ModuleList(
                    ElasticMBConv(b.in_channels, b.out_channels, b.mid_channels, spec.kernels, b.stride, b.residual)
                    for b in blocks
                )
            )
        self.head = ElasticPointwise(top.blocks[-1].out_channels, top.head_channels)
        self.head_bn = ElasticBatchNorm(top.head_channels)
        self.classifier = ElasticLinear(top.head_channels, spec.num_classes)
        self._plan = top

    def set_active(self, arch: Arch) -> None:
        self._plan = plan_net(self.spec, arch.validate(self.spec))

    @property
    def active_plan(self) -> NetPlan:
        return self._plan

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        plan = self._plan
        x = F.relu6(self.stem_bn(self.stem(x, plan.stem_channels)))
        x = F.relu6(self.first_dw_bn(self.first_dw(x, 3)))
        x = self.first_pw_bn(self.first_pw(x, plan.first_channels))
        for b in plan.blocks:
            x = self.stages[b.stage][b.index](x, b.mid_channels, b.kernel, b.out_channels)
        x = F.relu6(self.head_bn(self.head(x, plan.head_channels)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
