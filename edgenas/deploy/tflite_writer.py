"""Export an edgenas graph IR as a ``.tflite`` flatbuffer that TFLite Micro and LiteRT run.

The file follows what the TFLite converter emits for int8 models: schema version 3, the
``TFL3`` identifier, operator codes with both ``builtin_code`` and the int8
``deprecated_builtin_code`` (older runtimes only read the latter), an empty buffer 0 that all
activation tensors point at, one buffer per constant, and per-channel quantisation with
``quantized_dimension``. Constant buffers are 16-byte aligned so int32 bias and int8 weights can
be used in place on a microcontroller.

A bias-less CONV_2D / DEPTHWISE_CONV_2D gets an explicit all-zero bias: LiteRT's int8 conv
refuses a missing bias and TFLM's depthwise conv crashes on a -1 bias index (tflite-micro
2026-10). Other trailing absent optional inputs are omitted rather than written as -1.
The IR's canonical RESHAPE and MEAN carry their target shape / axes as attributes; the writer
materialises them as the int32 constant inputs TFLite expects. Output is a pure function of
the graph: the same graph always gives the same bytes.
"""

from __future__ import annotations

from typing import Any

import flatbuffers
import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from . import tflite_schema as fb
from .ir import Graph, Op, QuantParams, Tensor

S = fb.schema

_BUILTINS = {
    "conv2d": fb.CONV_2D,
    "depthwise_conv2d": fb.DEPTHWISE_CONV_2D,
    "add": fb.ADD,
    "avg_pool2d": fb.AVERAGE_POOL_2D,
    "mean": fb.MEAN,
    "fully_connected": fb.FULLY_CONNECTED,
    "reshape": fb.RESHAPE,
    "softmax": fb.SOFTMAX,
    "pad": fb.PAD,
}

# Operator versions as the converter assigns them for int8 kernels; runtimes check them
# against the range each kernel registers.
_VERSIONS = {
    "conv2d": 3,
    "depthwise_conv2d": 3,
    "add": 2,
    "avg_pool2d": 2,
    "mean": 2,
    "fully_connected": 4,
    "reshape": 1,
    "softmax": 2,
    "pad": 2,
}
_FC_PER_CHANNEL_VERSION = 12

_BUFFER_ALIGN = 16


class _AlignedBufferT(S.BufferT):  # type: ignore[misc, name-defined]
    """A Buffer whose data vector starts on a 16-byte boundary of the finished file."""

    def Pack(self, builder: flatbuffers.Builder) -> int:  # noqa: N802 (generated API name)
        data_off = None
        if self.data is not None:
            raw = bytes(self.data)
            builder.StartVector(1, len(raw), _BUFFER_ALIGN)
            builder.head -= len(raw)
            builder.Bytes[builder.head : builder.head + len(raw)] = raw
            data_off = builder.EndVector()
        S.BufferStart(builder)
        if data_off is not None:
            S.BufferAddData(builder, data_off)
        return S.BufferEnd(builder)


def write_tflite(graph: Graph, description: str = "edgenas") -> bytes:
    """Serialise ``graph`` to ``.tflite`` bytes (deterministic for a given graph).

    Raises:
        ModelFormatError: the graph is inconsistent (see :meth:`Graph.validate`).
        UnsupportedOpError: an op kind or dtype TFLite cannot express.
    """
    graph.validate()
    return _Writer(graph).build(description)


class _Writer:
    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.tensors: list[Any] = []
        self.index: dict[str, int] = {}
        self.buffers: list[Any] = [_AlignedBufferT()]  # buffer 0: the empty sentinel
        self.opcodes: list[Any] = []
        self.opcode_index: dict[tuple[int, int], int] = {}

    def build(self, description: str) -> bytes:
        for t in self.graph.tensors.values():
            self._add_tensor(t)
        ops = [self._op(i, op) for i, op in enumerate(self.graph.ops)]

        sg = S.SubGraphT()
        sg.tensors = self.tensors
        sg.inputs = np.array([self.index[n] for n in self.graph.inputs], dtype=np.int32)
        sg.outputs = np.array([self.index[n] for n in self.graph.outputs], dtype=np.int32)
        sg.operators = ops
        sg.name = self.graph.name

        model = S.ModelT()
        model.version = fb.SCHEMA_VERSION
        model.operatorCodes = self.opcodes
        model.subgraphs = [sg]
        model.description = description
        model.buffers = self.buffers

        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=fb.FILE_IDENTIFIER)
        return bytes(builder.Output())

    # -- tensors ----------------------------------------------------------------------------

    def _add_tensor(self, t: Tensor) -> int:
        code = fb.TENSOR_TYPE_CODES.get(t.dtype)
        if code is None:
            raise UnsupportedOpError(f"tensor {t.name!r} has dtype {t.dtype}, which TFLite export does not support")
        tt = S.TensorT()
        tt.name = t.name
        tt.shape = np.array(t.shape, dtype=np.int32)
        tt.type = code
        tt.hasRank = True
        if t.quant is not None:
            q = S.QuantizationParametersT()
            q.scale = np.array(t.quant.scale, dtype=np.float32)
            q.zeroPoint = np.array(t.quant.zero_point, dtype=np.int64)
            q.quantizedDimension = int(t.quant.axis)
            tt.quantization = q
        if t.data is not None:
            arr = np.asarray(t.data)
            if arr.shape != tuple(t.shape):
                raise ModelFormatError(f"tensor {t.name!r}: data shape {arr.shape} != declared shape {t.shape}")
            buf = _AlignedBufferT()
            buf.data = np.ascontiguousarray(arr, dtype=np.dtype(t.dtype).newbyteorder("<")).tobytes()
            tt.buffer = len(self.buffers)
            self.buffers.append(buf)
        else:
            tt.buffer = 0
        self.index[t.name] = len(self.tensors)
        self.tensors.append(tt)
        return self.index[t.name]

    def _const_int32(self, base: str, values: tuple[int, ...]) -> int:
        name, k = base, 1
        while name in self.index:
            name, k = f"{base}_{k}", k + 1
        return self._add_tensor(Tensor(name, (len(values),), "int32", None, np.array(values, dtype=np.int32)))

    def _zero_bias(self, op: Op) -> int:
        """An explicit all-zero int32 bias (scale in_scale * w_scale[c]) for a bias-less conv."""
        x, w = self.graph.tensor(op.inputs[0]), self.graph.tensor(op.inputs[1])
        channels = w.shape[0] if op.kind == "conv2d" else w.shape[3]
        if x.quant is None or w.quant is None:
            raise ModelFormatError(f"op {op.name or op.kind}: int8 conv needs quantised input and weights")
        w_scales = w.quant.scale if w.quant.per_channel else w.quant.scale * channels
        scales = tuple(float(np.float32(x.quant.scale[0]) * np.float32(s)) for s in w_scales)
        name, k = f"{op.outputs[0]}/zero_bias", 1
        while name in self.index or name in self.graph.tensors:
            name, k = f"{op.outputs[0]}/zero_bias_{k}", k + 1
        bias = Tensor(name, (channels,), "int32", QuantParams(scales, (0,) * channels, 0), np.zeros(channels, np.int32))
        return self._add_tensor(bias)

    # -- operators --------------------------------------------------------------------------

    def _opcode(self, kind: str, version: int) -> int:
        code = _BUILTINS.get(kind)
        if code is None:
            raise UnsupportedOpError(f"op kind {kind!r} has no TFLite builtin")
        key = (code, version)
        if key not in self.opcode_index:
            oc = S.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, fb.PLACEHOLDER_FOR_GREATER_OP_CODES)
            oc.version = version
            self.opcode_index[key] = len(self.opcodes)
            self.opcodes.append(oc)
        return self.opcode_index[key]

    def _op(self, i: int, op: Op) -> Any:
        version = _VERSIONS.get(op.kind, 1)
        names = list(op.inputs)
        while names and not names[-1]:
            names.pop()
        inputs = [self.index[n] if n else -1 for n in names]
        if op.kind in ("conv2d", "depthwise_conv2d") and len(inputs) < 3:
            inputs.append(self._zero_bias(op))
        a = op.attrs
        o = S.OperatorT()
        if op.kind in ("conv2d", "depthwise_conv2d"):
            opts = S.Conv2DOptionsT() if op.kind == "conv2d" else S.DepthwiseConv2DOptionsT()
            opts.padding = fb.PADDING_CODES[a["padding"]]
            opts.strideH, opts.strideW = int(a["stride_h"]), int(a["stride_w"])
            opts.dilationHFactor = int(a.get("dilation_h", 1))
            opts.dilationWFactor = int(a.get("dilation_w", 1))
            opts.fusedActivationFunction = fb.ACTIVATION_CODES[a.get("activation", "none")]
            if op.kind == "depthwise_conv2d":
                opts.depthMultiplier = 1
            tag = fb.OPT_CONV2D if op.kind == "conv2d" else fb.OPT_DEPTHWISE_CONV2D
        elif op.kind == "avg_pool2d":
            opts = S.Pool2DOptionsT()
            opts.padding = fb.PADDING_CODES[a["padding"]]
            opts.strideH, opts.strideW = int(a["stride_h"]), int(a["stride_w"])
            opts.filterHeight, opts.filterWidth = int(a["filter_h"]), int(a["filter_w"])
            opts.fusedActivationFunction = fb.ACTIVATION_CODES[a.get("activation", "none")]
            tag = fb.OPT_POOL2D
        elif op.kind == "add":
            opts = S.AddOptionsT()
            opts.fusedActivationFunction = fb.ACTIVATION_CODES[a.get("activation", "none")]
            tag = fb.OPT_ADD
        elif op.kind == "fully_connected":
            opts = S.FullyConnectedOptionsT()
            opts.fusedActivationFunction = fb.ACTIVATION_CODES[a.get("activation", "none")]
            opts.keepNumDims = bool(a.get("keep_num_dims", False))
            tag = fb.OPT_FULLY_CONNECTED
            w = self.graph.tensor(op.inputs[1])
            if w.quant is not None and w.quant.per_channel:
                version = _FC_PER_CHANNEL_VERSION
        elif op.kind == "softmax":
            opts = S.SoftmaxOptionsT()
            opts.beta = float(a.get("beta", 1.0))
            tag = fb.OPT_SOFTMAX
        elif op.kind == "reshape":
            new_shape = tuple(int(d) for d in a["new_shape"])
            opts = S.ReshapeOptionsT()
            opts.newShape = np.array(new_shape, dtype=np.int32)
            tag = fb.OPT_RESHAPE
            if len(inputs) == 1:
                inputs.append(self._const_int32(f"{op.outputs[0]}/shape", new_shape))
        elif op.kind == "mean":
            opts = S.ReducerOptionsT()
            opts.keepDims = bool(a.get("keep_dims", False))
            tag = fb.OPT_REDUCER
            if len(inputs) == 1:
                inputs.append(self._const_int32(f"{op.outputs[0]}/axes", tuple(int(x) for x in a["axes"])))
        elif op.kind == "pad":
            opts, tag = S.PadOptionsT(), fb.OPT_PAD
        else:
            raise UnsupportedOpError(f"op {i} ({op.name or op.kind}): kind {op.kind!r} has no TFLite builtin")
        o.opcodeIndex = self._opcode(op.kind, version)
        o.inputs = np.array(inputs, dtype=np.int32)
        o.outputs = np.array([self.index[n] for n in op.outputs], dtype=np.int32)
        o.builtinOptionsType = tag
        o.builtinOptions = opts
        return o
