"""TensorFlow "SAME" padding, so trained nets map onto TFLite convs without PAD ops.

For stride 2 on an even input, SAME pads one pixel less at the top/left than PyTorch's symmetric
``padding=k//2`` — which would shift every window by one pixel in the int8 model. All convs here
pad with these amounts instead: the symmetric part through the convolution itself (no copy),
only the extra bottom/right pixel of an asymmetric SAME through an explicit pad.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``(before, after)`` padding of TFLite's SAME scheme for one spatial dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_same(x: torch.Tensor, weight: torch.Tensor, stride: int = 1, groups: int = 1) -> torch.Tensor:
    """``F.conv2d`` with SAME padding on ``(N, C, H, W)``; ``weight`` is ``(out, in/groups, k, k)``."""
    kernel = weight.shape[-1]
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    if bottom > top or right > left:
        x = F.pad(x, (0, right - left, 0, bottom - top))
    return F.conv2d(x, weight, stride=stride, padding=(top, left), groups=groups)
