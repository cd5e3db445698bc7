"""The Once-for-All elastic supernet over a ``SpaceSpec``.

stem (3x3 conv, stride 2) → first block (depthwise 3x3 + pointwise, expand 1) → elastic stages of
``ElasticMBConv`` → head (1x1 conv) → global average pool → linear classifier. All convs are
followed by BN and ReLU6 except the projections (linear bottleneck), as in MobileNetV2.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..space import Arch, NetPlan, SpaceSpec, largest_arch, plan_net
from .elastic_bn import ElasticBatchNorm
from .elastic_conv import ElasticConv, ElasticDepthwise, ElasticLinear, ElasticPointwise
from .mbconv import ElasticMBConv


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
