"""The graph IR shared by the quantizer, the TFLite importer, the planner, codegen and the cost model.

One small typed graph: int8 tensors with shape and quantization, ops with attributes, in
topological order. Layouts follow TFLite so import/export is a relabelling, not a transpose:

- activations: NHWC (batch is always 1)
- CONV_2D weights: OHWI ``[C_out, KH, KW, C_in]``
- DEPTHWISE_CONV_2D weights: ``[1, KH, KW, C]`` (multiplier 1)
- FULLY_CONNECTED weights: ``[C_out, C_in]``
- bias: int32 ``[C_out]`` with scale = input_scale * weight_scale[c] and zero point 0

Zero points are stored as exported (``zero_point``), never negated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ModelFormatError

OP_KINDS = (
    "conv2d",
    "depthwise_conv2d",
    "add",
    "avg_pool2d",
    "mean",
    "fully_connected",
    "reshape",
    "softmax",
    "pad",
)
"""Every op kind the IR knows; importers map TFLite builtins onto these names."""

ACTIVATIONS = ("none", "relu", "relu6")
DTYPES = ("int8", "int16", "int32", "float32")


@dataclass(frozen=True)
class QuantParams:
    """Affine quantization: ``real = scale * (q - zero_point)``.

    Per-tensor when ``scale`` has one entry; per-channel along ``axis`` otherwise.
    """

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass
class Tensor:
    """A tensor of the graph; ``data`` is set for constants (weights, bias, shapes)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: QuantParams | None = None
    data: np.ndarray | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def nbytes(self) -> int:
        """Bytes the tensor occupies (element count times element size)."""
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Op:
    """One operator. ``inputs``/``outputs`` name tensors; ``""`` marks an absent optional input.

    Attributes by kind (all ints unless noted):
      conv2d, depthwise_conv2d: stride_h, stride_w, dilation_h, dilation_w,
          padding ("same"|"valid"), activation ("none"|"relu"|"relu6")
      avg_pool2d: filter_h, filter_w, stride_h, stride_w, padding, activation
      mean: axes (tuple), keep_dims (bool)
      add, fully_connected: activation
      reshape: new_shape (tuple)
      softmax: beta (float)
      pad: (paddings are the constant second input, int32 ``[rank, 2]``)
    """

    kind: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str = ""


@dataclass
class Graph:
    """Tensors by name, ops in execution order, and the graph's input/output tensor names."""

    tensors: dict[str, Tensor]
    ops: list[Op]
    inputs: list[str]
    outputs: list[str]
    name: str = "model"

    def tensor(self, name: str) -> Tensor:
        try:
            return self.tensors[name]
        except KeyError:
            raise ModelFormatError(f"graph {self.name!r} has no tensor {name!r}") from None

    def producers(self) -> dict[str, int]:
        """Map each op-produced tensor name to the index of the op producing it."""
        return {out: i for i, op in enumerate(self.ops) for out in op.outputs}

    def consumers(self) -> dict[str, list[int]]:
        """Map each tensor name to the indices of the ops reading it, in order."""
        users: dict[str, list[int]] = {}
        for i, op in enumerate(self.ops):
            for t in op.inputs:
                if t:
                    users.setdefault(t, []).append(i)
        return users

    def validate(self) -> None:
        """Check names resolve, kinds are known, and ops are in topological order.

        Raises:
            ModelFormatError: naming the first offending op or tensor.
        """
        available = {n for n, t in self.tensors.items() if t.is_const} | set(self.inputs)
        for i, op in enumerate(self.ops):
            where = f"op {i} ({op.name or op.kind})"
            if op.kind not in OP_KINDS:
                raise ModelFormatError(f"{where}: unknown op kind {op.kind!r}")
            for t in op.inputs:
                if not t:
                    continue
                if t not in self.tensors:
                    raise ModelFormatError(f"{where}: input tensor {t!r} does not exist")
                if t not in available:
                    raise ModelFormatError(f"{where}: input {t!r} is used before it is produced")
            for t in op.outputs:
                if t not in self.tensors:
                    raise ModelFormatError(f"{where}: output tensor {t!r} does not exist")
                available.add(t)
        for t in self.outputs:
            if t not in available:
                raise ModelFormatError(f"graph output {t!r} is never produced")
