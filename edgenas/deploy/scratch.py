"""Scratch bytes each kernel call needs: Python mirrors of the C ``*_scratch_bytes()`` functions.

The planner reserves these in the arena; a test builds the C functions and checks both sides
agree, so the arena can never be smaller than what a kernel touches.
"""

from __future__ import annotations

from .fuse import Step
from .ir import Graph


def dwconv2d_s8_scratch_bytes(in_shape: tuple[int, ...], in_place: bool) -> int:
    """Mirror of en_dwconv2d_s8_scratch_bytes: one input channel plane per batch (N*H*W) when in
    place (the kernel saves channel c before overwriting it), else 0; 0 for invalid dims."""
    n, h, w, c = in_shape
    if min(n, h, w, c) < 1 or not in_place:
        return 0
    return n * h * w


#: EN_CONV_IN_PLACE_MAX_CIN of kernels.h: in-place pointwise convs up to this C_in call the
#: kernel once; wider ones go through the one-row scratch in chunks of pixels.
CONV_IN_PLACE_MAX_CIN = 576


def pointwise_in_place_one_call(cin: int, cout: int) -> bool:
    """An in-place pointwise conv that one en_conv2d_packed_in_place_s8 call does (the kernel
    holds each pixel group's input on its stack, so no arena scratch)."""
    return cout <= cin <= CONV_IN_PLACE_MAX_CIN


def banded_scratch_bytes(graph: Graph, step: Step) -> int:
    """Row scratch of a banded step (generated code, not a kernel): the fused-ADD variant
    stages one conv output row (OW*C_out); the in-place pointwise variant saves one input
    row (W*C_in) before overwriting it, unless one kernel call does it without scratch."""
    if step.residual is not None:
        _, _, ow, cout = graph.tensor(step.output).shape
        return ow * cout
    _, _, w, cin = graph.tensor(step.input).shape
    if pointwise_in_place_one_call(cin, graph.tensor(step.output).shape[3]):
        return 0
    return w * cin


def step_scratch_bytes(graph: Graph, step: Step) -> int:
    """Scratch bytes for one scheduled step (0 when it needs none)."""
    if step.banded:
        return banded_scratch_bytes(graph, step)
    if step.kind == "depthwise_conv2d":
        return dwconv2d_s8_scratch_bytes(graph.tensor(step.input).shape, step.in_place)
    return 0
