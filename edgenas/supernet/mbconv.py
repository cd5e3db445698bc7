"""The elastic inverted-residual block (MobileNetV2): expand 1x1 → depthwise KxK → project 1x1."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .elastic_bn import ElasticBatchNorm, KernelBatchNorm
from .elastic_conv import ElasticDepthwise, ElasticPointwise


class ElasticMBConv(nn.Module):
    """Inverted residual block with elastic expand ratio, kernel size and width.

    Each kernel size has its own depthwise weights and batch norm; expand and project are shared.

    The residual connection exists when the block keeps resolution and channels (stride 1 and
    not the first block of a stage); it never depends on the active configuration.
    """

    def __init__(self, max_in: int, max_out: int, max_mid: int, kernels: tuple[int, ...], stride: int, residual: bool) -> None:
        super().__init__()
        self.stride = stride
        self.residual = residual
        self.expand = ElasticPointwise(max_in, max_mid)
        self.expand_bn = ElasticBatchNorm(max_mid)
        self.depthwise = ElasticDepthwise(max_mid, kernels, stride)
        self.depthwise_bn = KernelBatchNorm(max_mid, kernels)
        self.project = ElasticPointwise(max_mid, max_out)
        self.project_bn = ElasticBatchNorm(max_out)

    def forward(self, x: torch.Tensor, mid: int, kernel: int, out: int) -> torch.Tensor:
        y = F.relu6(self.expand_bn(self.expand(x, mid)))
        y = F.relu6(self.depthwise_bn(self.depthwise(y, kernel), kernel))
        y = self.project_bn(self.project(y, out))
        return x + y if self.residual else y
