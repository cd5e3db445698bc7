"""Batch norm over the first ``C`` of its channels; running statistics are shared slices."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class ElasticBatchNorm(nn.BatchNorm2d):
    """``BatchNorm2d`` allocated at the largest width; a narrower input uses the first channels.

    Slices of ``running_mean``/``running_var`` are views, so training updates the shared buffers
    in place — the statistics of a subnet are re-estimated anyway (``bn_calibration.py``).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        if c == self.num_features:
            return super().forward(x)
        factor = 0.0
        if self.training:
            self.num_batches_tracked += 1
            factor = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        return F.batch_norm(
            x,
            self.running_mean[:c],
            self.running_var[:c],
            self.weight[:c],
            self.bias[:c],
            self.training,
            factor,
            self.eps,
        )


class KernelBatchNorm(nn.ModuleDict):
    """One ``ElasticBatchNorm`` per depthwise kernel size: the batch norm after a depthwise
    convolution belongs to that kernel, as its weights do (``ElasticDepthwise``)."""

    def __init__(self, num_features: int, kernels: tuple[int, ...]) -> None:
        super().__init__({str(k): ElasticBatchNorm(num_features) for k in sorted(kernels)})

    def for_kernel(self, kernel: int) -> ElasticBatchNorm:
        return self[str(kernel)]

    def forward(self, x: torch.Tensor, kernel: int) -> torch.Tensor:  # type: ignore[override]
        return self.for_kernel(kernel)(x)
