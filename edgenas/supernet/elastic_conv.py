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
    """Depthwise convolution with elastic kernel size, as in Once-for-All.

    A smaller kernel is the centre of the next larger one passed through a learned linear
    transform (``k*k x k*k``, shared by all channels, initialised to identity), so small kernels
    can differ from the centre crop without extra per-channel weights.
    """

    def __init__(self, max_channels: int, kernels: tuple[int, ...], stride: int) -> None:
        super().__init__()
        self.kernels = tuple(sorted(kernels))
        self.stride = stride
        kmax = self.kernels[-1]
        self.weight = nn.Parameter(torch.empty(max_channels, 1, kmax, kmax))
        nn.init.kaiming_normal_(self.weight, mode="fan_out")
        self.transforms = nn.ParameterDict(
            {f"{big}to{small}": nn.Parameter(torch.eye(small * small)) for big, small in self._steps()}
        )

    def _steps(self) -> list[tuple[int, int]]:
        ks = self.kernels[::-1]
        return list(zip(ks[:-1], ks[1:]))

    def active_weight(self, channels: int, kernel: int) -> torch.Tensor:
        """``(channels, 1, kernel, kernel)`` weight for the active configuration."""
        weight = self.weight[:channels]
        for big, small in self._steps():
            if big == kernel:
                break
            start = (big - small) // 2
            centre = weight[:, :, start : start + small, start : start + small]
            flat = centre.reshape(channels, small * small) @ self.transforms[f"{big}to{small}"]
            weight = flat.reshape(channels, 1, small, small)
        return weight

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
