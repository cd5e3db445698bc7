"""Standalone subnets: plain ``nn.Conv2d``/``BatchNorm2d`` modules holding only active weights.

``extract_subnet`` copies the active slices (and the transformed small kernels) out of the
supernet, so the subnet computes exactly what the supernet computes with that arch active —
and can be BN-recalibrated, exported to ONNX and quantized without any elastic machinery.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..data.batches import model_device
from ..space import Arch, NetPlan, SpaceSpec, plan_net, same_out
from .elastic_bn import ElasticBatchNorm
from .padding import conv2d_same, split_same_padding
from .ofa import OFASupernet


class SameConv2d(nn.Conv2d):
    """``nn.Conv2d`` with TFLite SAME padding for a known square input size; no bias.

    The padding is fixed at construction (a subnet has one resolution), so exported graphs carry
    constant pads and the architecture's kernel; it is split between the conv and an explicit pad
    as ``conv2d_same`` splits it. Training runs ``conv2d_same`` itself, which skips the taps that
    only ever read padding: the same outputs and gradients, faster.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, groups: int, in_size: int) -> None:
        conv_pad, (before, after) = split_same_padding(in_size, kernel, stride)
        super().__init__(cin, cout, kernel, stride, conv_pad, groups=groups, bias=False)
        self.explicit = (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return conv2d_same(x, self.weight, self.stride[0], self.groups)
        if any(self.explicit):
            x = F.pad(x, self.explicit)
        return super().forward(x)


class ConvBNAct(nn.Sequential):
    """Conv (no bias) → BN → optional ReLU6; ``groups == channels`` makes it depthwise."""

    def __init__(
        self, cin: int, cout: int, kernel: int, in_size: int, stride: int = 1, groups: int = 1, act: bool = True
    ) -> None:
        layers: list[nn.Module] = [SameConv2d(cin, cout, kernel, stride, groups, in_size), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6())
        super().__init__(*layers)

    @property
    def conv(self) -> SameConv2d:
        return self[0]

    @property
    def bn(self) -> nn.BatchNorm2d:
        return self[1]


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, mid: int, cout: int, kernel: int, stride: int, residual: bool, in_size: int) -> None:
        super().__init__()
        self.residual = residual
        self.expand = ConvBNAct(cin, mid, 1, in_size)
        self.depthwise = ConvBNAct(mid, mid, kernel, in_size, stride, groups=mid)
        self.project = ConvBNAct(mid, cout, 1, same_out(in_size, stride), act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.depthwise(self.expand(x)))
        return x + y if self.residual else y


class Subnet(nn.Module):
    """A fixed MobileNetV2-style network for one ``Arch``; input ``(N, C, R, R)`` floats in [0, 1]."""

    def __init__(self, spec: SpaceSpec, arch: Arch) -> None:
        super().__init__()
        self.spec = spec
        self.arch = arch.validate(spec)
        plan = plan_net(spec, arch)
        self.plan: NetPlan = plan
        self.stem = ConvBNAct(plan.in_channels, plan.stem_channels, 3, arch.resolution, spec.stem_stride)
        size = plan.stem_size
        self.first_dw = ConvBNAct(plan.stem_channels, plan.stem_channels, 3, size, groups=plan.stem_channels)
        self.first_pw = ConvBNAct(plan.stem_channels, plan.first_channels, 1, size, act=False)
        self.blocks = nn.Sequential(*(
            InvertedResidual(b.in_channels, b.mid_channels, b.out_channels, b.kernel, b.stride, b.residual, b.in_size)
            for b in plan.blocks))
        self.head = ConvBNAct(plan.blocks[-1].out_channels, plan.head_channels, 1, plan.head_size)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(plan.head_channels, plan.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.first_pw(self.first_dw(self.stem(x)))
        x = self.head(self.blocks(x))
        return self.classifier(torch.flatten(self.pool(x), 1))


def _copy_bn(dst: nn.BatchNorm2d, src: ElasticBatchNorm) -> None:
    c = dst.num_features
    for name in ("weight", "bias", "running_mean", "running_var"):
        getattr(dst, name).data.copy_(getattr(src, name).data[:c])
    dst.eps = src.eps
    dst.momentum = src.momentum


@torch.no_grad()
def extract_subnet(net: OFASupernet, arch: Arch) -> Subnet:
    """Copy the active weights of ``arch`` out of ``net`` into a standalone ``Subnet`` (eval mode),
    on the device ``net`` is on."""
    sub = Subnet(net.spec, arch).to(model_device(net))
    plan = sub.plan
    sub.stem.conv.weight.copy_(net.stem.active_weight(plan.in_channels, plan.stem_channels))
    _copy_bn(sub.stem.bn, net.stem_bn)
    sub.first_dw.conv.weight.copy_(net.first_dw.active_weight(plan.stem_channels, 3))
    _copy_bn(sub.first_dw.bn, net.first_dw_bn)
    sub.first_pw.conv.weight.copy_(net.first_pw.active_weight(plan.stem_channels, plan.first_channels))
    _copy_bn(sub.first_pw.bn, net.first_pw_bn)
    for b, block in zip(plan.blocks, sub.blocks):
        src = net.stages[b.stage][b.index]
        block.expand.conv.weight.copy_(src.expand.active_weight(b.in_channels, b.mid_channels))
        _copy_bn(block.expand.bn, src.expand_bn)
        block.depthwise.conv.weight.copy_(src.depthwise.active_weight(b.mid_channels, b.kernel))
        _copy_bn(block.depthwise.bn, src.depthwise_bn.for_kernel(b.kernel))
        block.project.conv.weight.copy_(src.project.active_weight(b.mid_channels, b.out_channels))
        _copy_bn(block.project.bn, src.project_bn)
    sub.head.conv.weight.copy_(net.head.active_weight(plan.blocks[-1].out_channels, plan.head_channels))
    _copy_bn(sub.head.bn, net.head_bn)
    weight, bias = net.classifier.active_weight(plan.head_channels)
    sub.classifier.weight.copy_(weight)
    sub.classifier.bias.copy_(bias)
    return sub.eval()
