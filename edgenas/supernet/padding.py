"""TensorFlow "SAME" padding, so trained nets map onto TFLite convs without PAD ops.

For stride 2 on an even input, SAME pads one pixel less at the top/left than PyTorch's symmetric
``padding=k//2`` — which would shift every window by one pixel in the int8 model. All convs here
pad with these amounts instead, split for speed (``split_same_padding``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..space import live_taps, same_out, same_padding


def split_same_padding(size: int, kernel: int, stride: int) -> tuple[int, tuple[int, int]]:
    """SAME padding of one dimension as ``(conv padding, (explicit before, explicit after))``.

    Usually the symmetric part goes through the conv itself (no copy) and only an asymmetric
    SAME's extra bottom/right pixel is padded explicitly. When the kernel is larger than the
    input (7x7 on the last 3x3 or 5x5 maps), oneDNN's padded depthwise backward is 2-3x slower
    than padding first (measured on CPU), so all of it is padded explicitly there.
    """
    before, after = same_padding(size, kernel, stride)
    if kernel > size:
        return 0, (before, after)
    return before, (0, after - before)


def same_plan(size: int, kernel: int, stride: int) -> tuple[slice, int, tuple[int, int]]:
    """How ``conv2d_same`` runs one dimension: ``(live taps, conv padding, (explicit before, after))``."""
    lo, hi = live_taps(size, kernel, stride)
    if hi - lo == kernel:
        conv_pad, explicit = split_same_padding(size, kernel, stride)
        return slice(0, kernel), conv_pad, explicit
    before = same_padding(size, kernel, stride)[0] - lo
    after = max(0, (same_out(size, stride) - 1) * stride + hi - lo - size - before)
    return slice(lo, hi), 0, (before, after)


def conv2d_same(x: torch.Tensor, weight: torch.Tensor, stride: int = 1, groups: int = 1) -> torch.Tensor:
    """``F.conv2d`` with SAME padding on ``(N, C, H, W)``; ``weight`` is ``(out, in/groups, k, k)``.

    Kernels wider than the map run over their live taps only (``live_taps``): on the last maps of
    a 24 px subnet a 7x7 depthwise step (forward and backward) is then about 3x faster on CPU,
    with the same results.
    """
    kernel = weight.shape[-1]
    taps_h, conv_h, (top, bottom) = same_plan(x.shape[-2], kernel, stride)
    taps_w, conv_w, (left, right) = same_plan(x.shape[-1], kernel, stride)
    if top or bottom or left or right:
        x = F.pad(x, (left, right, top, bottom))
    return F.conv2d(x, weight[..., taps_h, taps_w], stride=stride, padding=(conv_h, conv_w), groups=groups)
