"""TensorFlow "SAME" padding, so trained nets map onto TFLite convs without PAD ops.

For stride 2 on an even input, SAME pads one pixel less at the top/left than PyTorch's symmetric
``padding=k//2`` — which would shift every window by one pixel in the int8 model. All convs here
pad explicitly with these amounts instead.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``(before, after)`` padding of TFLite's SAME scheme for one spatial dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def pad_same(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Zero-pad ``(N, C, H, W)`` for a SAME convolution (a no-op when nothing is needed)."""
    top, bottom = same_padding(x.shape[-2], kernel, stride)
    left, right = same_padding(x.shape[-1], kernel, stride)
    if top == bottom == left == right == 0:
        return x
    return F.pad(x, (left, right, top, bottom))
