"""Drop the kernel taps of SAME convolutions that only ever read padding.

A 7x7 depthwise conv on a 3x3 map reads padding with its outer ring at every output, and a 7x7
one on a 2x2 map with its two outer rings. TFLite's kernels skip taps outside the image, so these
add nothing; cropping them symmetrically (``edgenas.space.dead_ring``) leaves a SAME conv with a
smaller kernel and the same windows. The compiled model then gives the same int8 outputs bit for
bit with fewer multiply-adds and less flash, and small kernels reach faster strategies (a 7x7 on
a 2x2 map becomes a 3x3). Searched subnets at 24 px put large kernels on such maps.

Only the C compiler sees the cropped graph: ``.tflite`` and ``.onnx`` artifacts keep the
architecture's kernels.
"""

from __future__ import annotations

from dataclasses import replace

from ..space import dead_ring
from .ir import Graph, Op

CONV_KINDS = ("conv2d", "depthwise_conv2d")


def cropped_kernel(size: int, kernel: int, stride: int) -> int:
    """The kernel length a SAME conv runs with along one dimension once its dead taps are dropped."""
    return kernel - 2 * dead_ring(size, kernel, stride)


def _ring(graph: Graph, op: Op, readers: dict[str, list[int]]) -> tuple[int, int]:
    """Taps ``op`` may drop from each end of its kernel along (H, W); (0, 0) when it keeps all
    (or shares its filter with another op)."""
    a = op.attrs
    if op.kind not in CONV_KINDS or a.get("padding") != "same" or a.get("dilation_h", 1) != 1 \
            or a.get("dilation_w", 1) != 1 or len(readers[op.inputs[1]]) != 1:
        return 0, 0
    _, h, w, _ = graph.tensor(op.inputs[0]).shape
    _, kh, kw, _ = graph.tensor(op.inputs[1]).shape
    return dead_ring(h, kh, a["stride_h"]), dead_ring(w, kw, a["stride_w"])


def crop_dead_taps(graph: Graph) -> Graph:
    """``graph`` with every SAME conv's padding-only taps dropped (its filter tensor replaced,
    under the same name); the input graph is left as it was."""
    readers = graph.consumers()
    tensors = dict(graph.tensors)
    for op in graph.ops:
        ch, cw = _ring(graph, op, readers)
        if ch or cw:
            w = graph.tensor(op.inputs[1])
            _, kh, kw, _ = w.shape
            data = w.data[:, ch : kh - ch, cw : kw - cw, :].copy()
            tensors[w.name] = replace(w, shape=data.shape, data=data)
    return replace(graph, tensors=tensors, ops=list(graph.ops))
