"""Convolutions whose active channels and kernel size change per forward pass.

Weights are allocated at the largest configuration; a smaller configuration uses a slice.
Channels are taken from the front, so reordering channels by importance (``importance.py``)
decides which ones a narrow subnet keeps.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .padding import conv2d_same


class ElasticPointwise(nn.Module):
    """1x1 convolution, no bias: active ``(out, in)`` is ``weight[:out, :in]``."""

    def __init__(self, max_in: int, max_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(max_out, max_in, 1, 1))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    def active_weight(self, in_channels: int, out_channels: int) -> torch.Tensor:
        return self.weight[:out_channels, :in_channels]

    def forward(self, x: torch.Tensor, out_channels: int) -> torch.Tensor:
        return F.conv2d(x, self.active_weight(x.shape[1], out_channels))


class ElasticConv(nn.Module):
    """Dense KxK convolution with fixed kernel and stride whose channels are elastic (the stem)."""

    def __init__(self, max_in: int, max_out: int, kernel: int, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.kernel = kernel
        self.weight = nn.Parameter(torch.empty(max_out, max_in, kernel, kernel))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")

    def active_weight(self, in_channels: int, out_channels: int) -> torch.Tensor:
        return self.weight[:out_channels, :in_channels]

    def forward(self, x: torch.Tensor, out_channels: int) -> torch.Tensor:
        return conv2d_same(x, self.active_weight(x.shape[1], out_channels), self.stride)


class ElasticDepthwise(nn.Module):
    """Depthwise convolution with elastic kernel size: one private kernel per size.

    Once-for-All derives a smaller kernel from the centre of the larger one through a learned
    transform. Measured on the bundled supernet, that sharing is where inheritance lost most: the
    all-3x3 subnet trailed the same net trained alone by 4 points while the 7x7 one did not, and
    training either size pulled the other's weights away (``bench/kernel_sharing.py``). Depthwise
    weights are k*k per channel, a few percent of the parameters, so each size keeps its own;
    the pointwise convolutions around them stay shared. Channels are still sliced from the front.
    """

    def __init__(self, max_channels: int, kernels: tuple[int, ...], stride: int) -> None:
        super().__init__()
        self.kernels = tuple(sorted(kernels))
        self.stride = stride
        self.weights = nn.ParameterDict({str(k): nn.Parameter(torch.empty(max_channels, 1, k, k)) for k in self.kernels})
        for weight in self.weights.values():
            nn.init.kaiming_normal_(weight, mode="fan_out")

    def active_weight(self, channels: int, kernel: int) -> torch.Tensor:
        """``(channels, 1, kernel, kernel)`` weight for the active configuration."""
        return self.weights[str(kernel)][:channels]

    def forward(self, x: torch.Tensor, kernel: int) -> torch.Tensor:
        channels = x.shape[1]
        return conv2d_same(x, self.active_weight(channels, kernel), self.stride, groups=channels)


class ElasticLinear(nn.Module):
    """Classifier whose input features are elastic: ``weight[:, :in]``."""

    def __init__(self, max_in: int, out_features: int) -> None:
        super().__init__()
        self.linear = nn.Linear(max_in, out_features)

    def active_weight(self, in_features: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.linear.weight[:, :in_features], self.linear.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight, bias = self.active_weight(x.shape[1])
        return F.linear(x, weight, bias)
