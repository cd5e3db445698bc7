"""Import an int8 ``.tflite`` model into the edgenas graph IR.

Supported: one subgraph of int8 CONV_2D, DEPTHWISE_CONV_2D (multiplier 1), ADD, AVERAGE_POOL_2D,
MEAN, FULLY_CONNECTED, RESHAPE, SOFTMAX and PAD with per-tensor or per-channel quantisation.
Anything else raises UnsupportedOpError naming the builtin and the node.

Float-interface models (a QUANTIZE after a float input or a DEQUANTIZE before a float output) are
rejected on purpose: the deployed firmware takes and returns int8, so the model must be
converted with ``inference_input_type=tf.int8, inference_output_type=tf.int8``. Operator codes
that are declared but never used (ResNet-8 from MLPerf Tiny lists QUANTIZE and DEQUANTIZE without
using them) are ignored.

Canonical IR form: RESHAPE keeps only its data input (the target shape, taken from the output
tensor, is the ``new_shape`` attribute) and MEAN keeps only its data input (``axes`` attribute);
their shape/axis constants are not IR tensors. PAD keeps its paddings constant as input 1.
Trailing absent optional inputs (bias index -1) are dropped, so a bias-less conv has 2 inputs.
Ops are named after their first output tensor, as TFLite ops have no names of their own.

Untrusted bytes are parsed with a bounds-checked flatbuffers accessor: every offset and length
is checked before use, so damaged files raise ModelFormatError and never crash or hang.
"""

from __future__ import annotations

import struct
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelFormatError, UnsupportedOpError
from . import tflite_schema as fb
from .ir import Graph, Op, QuantParams, Tensor

_HINT = "the file is truncated or not a .tflite flatbuffer; re-export it from the converter"
_MAX_ELEMENTS = 1 << 31
"""No tensor of a microcontroller model comes near 2**31 elements; larger claims are damage."""
_MAX_POOL_TAPS = 1 << 16
"""runtime_c's avgpool2d_s8 refuses larger windows (its int32 window sum must not overflow)."""


def _bad(msg: str) -> ModelFormatError:
    return ModelFormatError(f"malformed .tflite: {msg}", hint=_HINT)


# --- bounds-checked flatbuffers access ------------------------------------------------------


class _Buf:
    """Raw bytes with checked little-endian reads."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def check(self, pos: int, nbytes: int, what: str) -> None:
        if pos < 0 or nbytes < 0 or pos + nbytes > self.size:
            raise _bad(f"{what} at byte {pos} (+{nbytes}) lies outside the {self.size}-byte file")

    def read(self, fmt: str, pos: int, what: str) -> Any:
        self.check(pos, struct.calcsize(fmt), what)
        return struct.unpack_from("<" + fmt, self.data, pos)[0]


class _Table:
    """One flatbuffers table; fields are addressed by schema id (0-based)."""

    def __init__(self, buf: _Buf, pos: int, what: str) -> None:
        self.buf, self.pos, self.what = buf, pos, what
        vtable = pos - buf.read("i", pos, f"{what} vtable offset")
        vt_size = buf.read("H", vtable, f"{what} vtable size")
        obj_size = buf.read("H", vtable + 2, f"{what} object size")
        if vt_size < 4 or vt_size % 2 or obj_size < 4:
            raise _bad(f"{what} has an invalid vtable ({vt_size} bytes, object {obj_size} bytes)")
        buf.check(vtable, vt_size, f"{what} vtable")
        buf.check(pos, obj_size, f"{what} object")
        self.vtable, self.vt_size, self.obj_size = vtable, vt_size, obj_size

    def _field(self, fid: int) -> int:
        slot = 4 + 2 * fid
        if slot + 2 > self.vt_size:
            return 0
        off = self.buf.read("H", self.vtable + slot, f"{self.what} vtable entry")
        if off == 0:
            return 0
        if off >= self.obj_size:
            raise _bad(f"{self.what} field {fid} points past its object")
        return self.pos + off

    def scalar(self, fid: int, fmt: str, default: Any = 0) -> Any:
        p = self._field(fid)
        return default if p == 0 else self.buf.read(fmt, p, f"{self.what} field {fid}")

    def _target(self, fid: int) -> int:
        p = self._field(fid)
        return 0 if p == 0 else p + self.buf.read("I", p, f"{self.what} field {fid} offset")

    def table(self, fid: int, what: str) -> _Table | None:
        t = self._target(fid)
        return None if t == 0 else _Table(self.buf, t, what)

    def _vector(self, fid: int, elem_size: int, what: str) -> tuple[int, int] | None:
        t = self._target(fid)
        if t == 0:
            return None
        length = self.buf.read("I", t, f"{what} length")
        self.buf.check(t + 4, length * elem_size, what)  # bounds the element count by file size
        return t + 4, length

    def numbers(self, fid: int, dtype: str, what: str) -> np.ndarray | None:
        dt = np.dtype(dtype).newbyteorder("<")
        v = self._vector(fid, dt.itemsize, what)
        if v is None:
            return None
        return np.frombuffer(self.buf.data, dtype=dt, count=v[1], offset=v[0]).astype(dtype)

    def raw(self, fid: int, what: str) -> bytes | None:
        v = self._vector(fid, 1, what)
        return None if v is None else self.buf.data[v[0] : v[0] + v[1]]

    def string(self, fid: int, what: str) -> str | None:
        b = self.raw(fid, what)
        return None if b is None else b.decode("utf-8", errors="replace")

    def tables(self, fid: int, what: str) -> list[_Table]:
        v = self._vector(fid, 4, what)
        if v is None:
            return []
        out = []
        for i in range(v[1]):
            p = v[0] + 4 * i
            out.append(_Table(self.buf, p + self.buf.read("I", p, what), f"{what}[{i}]"))
        return out


# --- model -> IR ----------------------------------------------------------------------------

_KINDS = {
    fb.CONV_2D: "conv2d",
    fb.DEPTHWISE_CONV_2D: "depthwise_conv2d",
    fb.ADD: "add",
    fb.AVERAGE_POOL_2D: "avg_pool2d",
    fb.MEAN: "mean",
    fb.FULLY_CONNECTED: "fully_connected",
    fb.RESHAPE: "reshape",
    fb.SOFTMAX: "softmax",
    fb.PAD: "pad",
}
_OPTION_TAGS = {
    fb.CONV_2D: fb.OPT_CONV2D,
    fb.DEPTHWISE_CONV_2D: fb.OPT_DEPTHWISE_CONV2D,
    fb.ADD: fb.OPT_ADD,
    fb.AVERAGE_POOL_2D: fb.OPT_POOL2D,
    fb.MEAN: fb.OPT_REDUCER,
    fb.FULLY_CONNECTED: fb.OPT_FULLY_CONNECTED,
    fb.RESHAPE: fb.OPT_RESHAPE,
    fb.SOFTMAX: fb.OPT_SOFTMAX,
    fb.PAD: fb.OPT_PAD,
}
_FLOAT_IO_HINT = (
    "edgenas deploys int8 in/int8 out: convert with inference_input_type=tf.int8 and "
    "inference_output_type=tf.int8 so the model has no QUANTIZE/DEQUANTIZE at its edges"
)


def read_tflite(source: bytes | bytearray | memoryview | str | PathLike[str]) -> Graph:
    """Parse an int8 ``.tflite`` model into a validated :class:`Graph`.

    Args:
        source: the model bytes, or a path to a ``.tflite`` file.

    Raises:
        UnsupportedOpError: an operator, tensor type or option edgenas does not implement,
            naming the builtin op and node.
        ModelFormatError: the bytes are not a well-formed TFLite model.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise ModelFormatError(f"cannot read model {source}: {e.strerror}", hint="check the path") from None
    try:
        return _Reader(_Buf(data)).graph()
    except ModelFormatError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, struct.error, MemoryError) as e:
        # Belt and braces: any slip in the checks above still surfaces as a format error.
        raise _bad(f"{type(e).__name__}: {e}") from e


class _Reader:
    def __init__(self, buf: _Buf) -> None:
        self.buf = buf
        if buf.size < 8:
            raise _bad(f"only {buf.size} bytes")
        if buf.data[4:8] != fb.FILE_IDENTIFIER:
            raise _bad(f"file identifier is {buf.data[4:8]!r}, expected {fb.FILE_IDENTIFIER!r}")
        self.model = _Table(buf, buf.read("I", 0, "root offset"), "model")
        version = self.model.scalar(0, "I", 0)
        if version != fb.SCHEMA_VERSION:
            raise ModelFormatError(
                f"schema version {version} is not supported (expected {fb.SCHEMA_VERSION})",
                hint="re-export the model with a current TFLite converter",
            )

    def graph(self) -> Graph:
        opcodes = [self._opcode(t) for t in self.model.tables(1, "operator_codes")]
        subgraphs = self.model.tables(2, "subgraphs")
        if len(subgraphs) != 1:
            raise UnsupportedOpError(
                f"model has {len(subgraphs)} subgraphs; edgenas supports exactly one",
                hint="control flow (WHILE/IF) and multi-signature models are not supported",
            )
        buffers = self.model.tables(4, "buffers")
        sg = subgraphs[0]
        ttables = sg.tables(0, "tensors")
        names = self._unique_names(ttables)
        raw_ops = sg.tables(3, "operators")
        g_inputs = self._indices(sg, 1, "subgraph inputs", len(ttables))
        g_outputs = self._indices(sg, 2, "subgraph outputs", len(ttables))

        tensors = [self._tensor(t, names[i], buffers) for i, t in enumerate(ttables)]
        ops = [self._op(i, t, opcodes, tensors) for i, t in enumerate(raw_ops)]

        used = {n for op in ops for n in (*op.inputs, *op.outputs) if n}
        used |= {tensors[i].name for i in (*g_inputs, *g_outputs)}
        graph = Graph(
            tensors={t.name: t for t in tensors if t.name in used},
            ops=ops,
            inputs=[tensors[i].name for i in g_inputs],
            outputs=[tensors[i].name for i in g_outputs],
            name=sg.string(4, "subgraph name") or "model",
        )
        for n in graph.inputs:
            t = graph.tensors[n]
            if t.shape[:1] != (1,):
                raise UnsupportedOpError(f"graph input {n!r} has shape {t.shape}", hint="export with batch size 1")
            if t.is_const:
                raise _bad(f"graph input {n!r} is a constant")
            if t.dtype != "int8":
                raise UnsupportedOpError(
                    f"graph input {n!r} is {t.dtype}; edgenas deploys int8 models", hint=_FLOAT_IO_HINT
                )
        for n in graph.outputs:
            if graph.tensors[n].is_const:  # no op computes it: the reference and codegen have nothing to return
                raise _bad(f"graph output {n!r} is a constant")
        for i, op in enumerate(ops):  # the reference and `edgenas run` carry one batch row through the graph
            out = graph.tensors[op.outputs[0]]
            if out.shape[:1] != (1,):
                raise UnsupportedOpError(
                    f"op {i} ({op.name or op.kind}) output {out.name!r} has shape {out.shape}; "
                    "edgenas deploys batch-1 models (every activation's first dimension 1)",
                    hint="export with batch size 1; a FULLY_CONNECTED over several rows of one input is not supported",
                )
        graph.validate()
        return graph

    # -- tables -----------------------------------------------------------------------------

    def _opcode(self, t: _Table) -> tuple[int, str | None]:
        deprecated = t.scalar(0, "b", 0)
        builtin = t.scalar(3, "i", 0)
        return max(deprecated, builtin), t.string(1, "custom_code")

    def _indices(self, t: _Table, fid: int, what: str, limit: int, allow_absent: bool = False) -> list[int]:
        arr = t.numbers(fid, "int32", what)
        out = [] if arr is None else [int(v) for v in arr]
        for v in out:
            if not (0 <= v < limit or (allow_absent and v == -1)):
                raise _bad(f"{what} refer to tensor {v}, but there are {limit} tensors")
        return out

    @staticmethod
    def _unique_names(ttables: list[_Table]) -> list[str]:
        names, seen = [], set()
        for i, t in enumerate(ttables):
            base = t.string(3, f"tensor {i} name") or f"tensor_{i}"
            name = base if base not in seen else f"{base}#{i}"
            seen.add(name)
            names.append(name)
        return names

    def _tensor(self, t: _Table, name: str, buffers: list[_Table]) -> Tensor:
        where = f"tensor {name!r}"
        type_code = t.scalar(1, "b", 0)
        dtype = fb.TENSOR_TYPES.get(type_code)
        if dtype is None:
            tname = fb.TENSOR_TYPE_NAMES.get(type_code, str(type_code))
            raise UnsupportedOpError(f"{where} has type {tname}", hint="edgenas supports int8 models (int32 bias)")
        if t.scalar(5, "B", 0):
            raise UnsupportedOpError(f"{where} is a variable tensor", hint="stateful models are not supported")
        if t.table(6, f"{where} sparsity") is not None:
            raise UnsupportedOpError(f"{where} is sparse", hint="densify the model before export")
        shape_arr = t.numbers(0, "int32", f"{where} shape")
        shape = tuple(int(d) for d in shape_arr) if shape_arr is not None else ()
        count = 1
        for d in shape:
            if d < 0:
                raise UnsupportedOpError(f"{where} has a dynamic shape {shape}", hint="export with a fixed batch of 1")
            count *= d
            if count > _MAX_ELEMENTS:
                raise _bad(f"{where} claims shape {shape}")
        return Tensor(name, shape, dtype, self._quant(t, where, shape), self._data(t, where, shape, dtype, count, buffers))

    def _quant(self, t: _Table, where: str, shape: tuple[int, ...]) -> QuantParams | None:
        q = t.table(4, f"{where} quantization")
        if q is None:
            return None
        scale = q.numbers(2, "float32", f"{where} scales")
        zp = q.numbers(3, "int64", f"{where} zero points")
        if scale is None or len(scale) == 0:
            return None
        if zp is None or len(zp) != len(scale):
            raise _bad(f"{where} has {len(scale)} scales but {0 if zp is None else len(zp)} zero points")
        axis = int(q.scalar(6, "i", 0))
        if len(scale) > 1 and not (0 <= axis < len(shape) and shape[axis] == len(scale)):
            raise _bad(f"{where} has {len(scale)} scales along axis {axis} of shape {shape}")
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise _bad(f"{where} has non-positive or non-finite scales")
        return QuantParams(tuple(float(s) for s in scale), tuple(int(z) for z in zp), axis)

    def _data(
        self, t: _Table, where: str, shape: tuple[int, ...], dtype: str, count: int, buffers: list[_Table]
    ) -> np.ndarray | None:
        index = t.scalar(2, "I", 0)
        if index == 0:
            return None
        if index >= len(buffers):
            raise _bad(f"{where} refers to buffer {index} of {len(buffers)}")
        b = buffers[index]
        raw = b.raw(0, f"buffer {index}")
        if raw is None or len(raw) == 0:
            offset, size = b.scalar(1, "Q", 0), b.scalar(2, "Q", 0)
            if offset <= 1:  # 0/1 mean "no external data" in the large-model layout
                return None
            self.buf.check(offset, size, f"buffer {index} external data")
            raw = self.buf.data[offset : offset + size]
        nbytes = count * np.dtype(dtype).itemsize
        if len(raw) != nbytes:
            raise _bad(f"{where} {shape} {dtype} needs {nbytes} bytes but its buffer has {len(raw)}")
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)

    # -- operators --------------------------------------------------------------------------

    def _op(self, index: int, t: _Table, opcodes: list[tuple[int, str | None]], tensors: list[Tensor]) -> Op:
        code_index = t.scalar(0, "I", 0)
        if code_index >= len(opcodes):
            raise _bad(f"operator {index} uses opcode {code_index} of {len(opcodes)}")
        code, custom = opcodes[code_index]
        ins = self._indices(t, 1, f"operator {index} inputs", len(tensors), allow_absent=True)
        outs = self._indices(t, 2, f"operator {index} outputs", len(tensors))
        node = tensors[outs[0]].name if outs else f"#{index}"
        bname = fb.builtin_name(code)
        where = f"op {index} ({bname}, node {node!r})"
        if custom is not None and code == 32:  # BuiltinOperator.CUSTOM
            raise UnsupportedOpError(f"op {index} (CUSTOM {custom!r}, node {node!r}) is not supported")
        if code in (fb.QUANTIZE, fb.DEQUANTIZE):
            raise UnsupportedOpError(f"{where} converts between float and int8", hint=_FLOAT_IO_HINT)
        kind = _KINDS.get(code)
        if kind is None:
            raise UnsupportedOpError(
                f"{where} is not supported",
                hint="supported: " + ", ".join(fb.builtin_name(c) for c in _KINDS),
            )
        if len(outs) != 1:
            raise _bad(f"{where} has {len(outs)} outputs")
        tag = t.scalar(3, "B", 0)
        opts = t.table(4, f"{where} options")
        if opts is not None and tag != _OPTION_TAGS[code]:
            raise _bad(f"{where} carries options of union type {tag}")
        in_t = [tensors[i] if i >= 0 else None for i in ins]
        out_t = tensors[outs[0]]
        return _Convert(where, kind, in_t, out_t, opts).op(name=node)


class _Convert:
    """Check one operator's tensors and options and build its IR op."""

    def __init__(self, where: str, kind: str, ins: list[Tensor | None], out: Tensor, opts: _Table | None):
        self.where, self.kind, self.ins, self.out, self.opts = where, kind, ins, out, opts

    def fail(self, msg: str, hint: str = "") -> UnsupportedOpError:
        return UnsupportedOpError(f"{self.where}: {msg}", hint=hint)

    def op(self, name: str) -> Op:
        attrs = getattr(self, "_" + self.kind)()
        inputs = [t.name if t is not None else "" for t in self.ins]
        if self.kind in ("reshape", "mean"):
            inputs = inputs[:1]
        while inputs and not inputs[-1]:
            inputs.pop()
        return Op(self.kind, inputs, [self.out.name], attrs, name=name)

    # -- checks -----------------------------------------------------------------------------

    def _arity(self, lo: int, hi: int) -> None:
        if not lo <= len(self.ins) <= hi:
            raise _bad(f"{self.where} has {len(self.ins)} inputs, expected {lo}..{hi}")
        for i, t in enumerate(self.ins[:lo]):
            if t is None:
                raise _bad(f"{self.where} input {i} is missing")

    def _int8_act(self, t: Tensor, role: str) -> None:
        if t.dtype != "int8":
            raise self.fail(f"{role} {t.name!r} is {t.dtype}", hint="only int8 activations are supported")
        if t.quant is None or t.quant.per_channel:
            raise self.fail(f"{role} {t.name!r} needs per-tensor quantisation")
        if not -128 <= t.quant.zero_point[0] <= 127:
            raise _bad(f"{self.where}: {role} {t.name!r} has int8 zero point {t.quant.zero_point[0]}")
        if t.is_const and role == "output":
            raise _bad(f"{self.where} writes to constant {t.name!r}")

    def _act(self, code: int) -> str:
        act = fb.ACTIVATIONS.get(code)
        if act is None:
            raise self.fail(
                f"fused activation {fb.ACTIVATION_NAMES.get(code, code)} is not supported",
                hint="supported fused activations: NONE, RELU, RELU6",
            )
        return act

    def _padding(self, code: int) -> str:
        if code not in fb.PADDINGS:
            raise _bad(f"{self.where} has padding code {code}")
        return fb.PADDINGS[code]

    def _opt(self, fid: int, fmt: str, default: Any) -> Any:
        return default if self.opts is None else self.opts.scalar(fid, fmt, default)

    def _weights(self, w: Tensor | None, bias: Tensor | None, channels: int, axis: int) -> None:
        if w is None or not w.is_const or w.dtype != "int8" or w.quant is None:
            raise self.fail("weights must be a constant int8 tensor with quantisation")
        if w.quant.per_channel and (len(w.quant.scale) != channels or w.quant.axis != axis):
            raise self.fail(f"per-channel weight scales must run along axis {axis} ({channels} channels)")
        if any(z != 0 for z in w.quant.zero_point):
            raise self.fail("int8 weights must be symmetric (zero point 0), as TFLite's int8 spec requires")
        if bias is not None:
            if not bias.is_const or bias.dtype != "int32" or bias.shape != (channels,):
                raise self.fail(f"bias must be a constant int32 tensor of shape ({channels},)")

    def _shape_rank(self, t: Tensor, rank: int, role: str) -> None:
        if len(t.shape) != rank:
            raise self.fail(f"{role} {t.name!r} has shape {t.shape}, expected rank {rank}")

    # -- per kind ---------------------------------------------------------------------------

    def _conv_operands(self) -> tuple[Tensor, Tensor, Tensor | None]:
        """Input, weights and optional bias of a (depthwise) conv, with the checks both share."""
        self._arity(2, 3)
        x, w, b = self.ins[0], self.ins[1], (self.ins[2] if len(self.ins) > 2 else None)
        assert x is not None and w is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        self._shape_rank(x, 4, "input")
        self._shape_rank(w, 4, "weights")
        self._shape_rank(self.out, 4, "output")
        return x, w, b

    def _conv2d(self) -> dict[str, Any]:
        x, w, b = self._conv_operands()
        if w.shape[3] != x.shape[3] or w.shape[0] != self.out.shape[3]:
            raise self.fail(f"weights {w.shape} do not match input {x.shape} / output {self.out.shape}",
                            hint="grouped convolutions are not supported")
        self._weights(w, b, w.shape[0], 0)
        attrs = self._conv_attrs(0, 1, 2, 3, 4, 5)
        self._spatial_output(x, w.shape[1], w.shape[2], attrs)
        return attrs

    def _depthwise_conv2d(self) -> dict[str, Any]:
        x, w, b = self._conv_operands()
        c = x.shape[3]
        if w.shape[0] != 1 or w.shape[3] != c or self.out.shape[3] != c:
            raise self.fail(f"depth multiplier must be 1 (input {x.shape}, weights {w.shape}, output {self.out.shape})")
        self._weights(w, b, c, 3)
        attrs = self._conv_attrs(0, 1, 2, 4, 5, 6)
        self._spatial_output(x, w.shape[1], w.shape[2], attrs)
        return attrs

    def _spatial_output(self, x: Tensor, kh: int, kw: int, attrs: dict[str, Any]) -> None:
        """The output's batch and height/width must be what the window, stride, dilation and
        padding make of the input (TFLM's ``Prepare`` computes them the same way): a model that
        says otherwise would have the kernels read or write outside its tensors."""
        want = [x.shape[0]]
        for size, k, stride, dilation in ((x.shape[1], kh, attrs["stride_h"], attrs.get("dilation_h", 1)),
                                          (x.shape[2], kw, attrs["stride_w"], attrs.get("dilation_w", 1))):
            # Taps more than the input apart: at most one per window reaches it, and SAME padding
            # would grow with the dilation (2**31 - 1 overflows int32 offsets; the reference pads in memory).
            if k > 1 and dilation > max(size, 1):
                raise _bad(f"{self.where} has dilation {dilation} on an input of size {size}: "
                           f"at most one tap of each {kh}x{kw} window could reach the input")
            span = (k - 1) * dilation + 1
            if attrs["padding"] == "same":
                want.append(-(-size // stride))
            else:
                want.append(-(-(size - span + 1) // stride) if size >= span else 0)
        if tuple(self.out.shape[:3]) != tuple(want) or 0 in want:
            raise _bad(f"{self.where}: output {self.out.shape} does not follow from input {x.shape}, "
                       f"window {kh}x{kw} and {attrs} (expected {tuple(want)} before the channels)")

    def _conv_attrs(self, pad: int, sw: int, sh: int, act: int, dw: int, dh: int) -> dict[str, Any]:
        attrs = {
            "stride_h": int(self._opt(sh, "i", 0)),
            "stride_w": int(self._opt(sw, "i", 0)),
            "dilation_h": int(self._opt(dh, "i", 1)),
            "dilation_w": int(self._opt(dw, "i", 1)),
            "padding": self._padding(self._opt(pad, "b", 0)),
            "activation": self._act(self._opt(act, "b", 0)),
        }
        if min(attrs["stride_h"], attrs["stride_w"], attrs["dilation_h"], attrs["dilation_w"]) < 1:
            raise _bad(f"{self.where} has strides/dilations {attrs}")
        return attrs

    def _add(self) -> dict[str, Any]:
        self._arity(2, 2)
        for i, t in enumerate(self.ins):
            assert t is not None
            self._int8_act(t, f"input {i}")
        self._int8_act(self.out, "output")
        try:
            shape = np.broadcast_shapes(self.ins[0].shape, self.ins[1].shape)  # type: ignore[union-attr]
        except ValueError:
            shape = None
        if shape != self.out.shape:
            raise _bad(f"{self.where} cannot broadcast its inputs to {self.out.shape}")
        return {"activation": self._act(self._opt(0, "b", 0))}

    def _avg_pool2d(self) -> dict[str, Any]:
        self._arity(1, 1)
        x = self.ins[0]
        assert x is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        self._shape_rank(x, 4, "input")
        self._shape_rank(self.out, 4, "output")
        attrs = {
            "filter_h": int(self._opt(4, "i", 0)),
            "filter_w": int(self._opt(3, "i", 0)),
            "stride_h": int(self._opt(2, "i", 0)),
            "stride_w": int(self._opt(1, "i", 0)),
            "padding": self._padding(self._opt(0, "b", 0)),
            "activation": self._act(self._opt(5, "b", 0)),
        }
        if min(attrs["filter_h"], attrs["filter_w"], attrs["stride_h"], attrs["stride_w"]) < 1:
            raise _bad(f"{self.where} has filter/stride {attrs}")
        if attrs["filter_h"] * attrs["filter_w"] > _MAX_POOL_TAPS:
            raise self.fail(f"pool window {attrs['filter_h']}x{attrs['filter_w']} has more than "
                            f"{_MAX_POOL_TAPS:,} taps", hint="the C runtime sums a window in int32 and refuses larger ones")
        if x.shape[3] != self.out.shape[3]:
            raise _bad(f"{self.where} pools {x.shape} into {self.out.shape}: the channels must not change")
        self._spatial_output(x, attrs["filter_h"], attrs["filter_w"], attrs)
        return attrs

    def _mean(self) -> dict[str, Any]:
        self._arity(2, 2)
        x, axes = self.ins[0], self.ins[1]
        assert x is not None and axes is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        if not axes.is_const or axes.dtype != "int32":
            raise self.fail("axes must be a constant int32 tensor")
        rank = len(x.shape)
        norm = []
        for a in axes.data.reshape(-1):  # type: ignore[union-attr]
            a = int(a) + rank if int(a) < 0 else int(a)
            if not 0 <= a < rank:
                raise _bad(f"{self.where} reduces axis {a} of a rank-{rank} tensor")
            if a not in norm:
                norm.append(a)
        keep = bool(self._opt(0, "B", 0))
        want = tuple(1 if i in norm else d for i, d in enumerate(x.shape)) if keep else tuple(
            d for i, d in enumerate(x.shape) if i not in norm)
        if int(np.prod(want, dtype=np.int64)) != int(np.prod(self.out.shape, dtype=np.int64)):
            raise _bad(f"{self.where} reduces {x.shape} over axes {tuple(norm)} but its output is {self.out.shape}")
        return {"axes": tuple(norm), "keep_dims": keep}

    def _fully_connected(self) -> dict[str, Any]:
        self._arity(2, 3)
        x, w, b = self.ins[0], self.ins[1], (self.ins[2] if len(self.ins) > 2 else None)
        assert x is not None and w is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        self._shape_rank(w, 2, "weights")
        if self._opt(1, "b", 0) != 0:
            raise self.fail("shuffled weight formats are not supported")
        depth = w.shape[1]
        size = int(np.prod(x.shape, dtype=np.int64))
        if depth == 0 or size % depth or self.out.shape[-1:] != (w.shape[0],):
            raise self.fail(f"weights {w.shape} do not match input {x.shape} / output {self.out.shape}")
        if int(np.prod(self.out.shape, dtype=np.int64)) != size // depth * w.shape[0]:
            raise _bad(f"{self.where}: input {x.shape} holds {size // depth} rows of {depth}, "
                       f"so the output must hold {size // depth} x {w.shape[0]} values, not {self.out.shape}")
        self._weights(w, b, w.shape[0], 0)
        attrs: dict[str, Any] = {"activation": self._act(self._opt(0, "b", 0))}
        if self._opt(2, "B", 0):
            attrs["keep_num_dims"] = True
        return attrs

    def _reshape(self) -> dict[str, Any]:
        self._arity(1, 2)
        x = self.ins[0]
        assert x is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        if int(np.prod(x.shape, dtype=np.int64)) != int(np.prod(self.out.shape, dtype=np.int64)):
            raise _bad(f"{self.where} reshapes {x.shape} to {self.out.shape}")
        return {"new_shape": tuple(self.out.shape)}

    def _softmax(self) -> dict[str, Any]:
        self._arity(1, 1)
        x = self.ins[0]
        assert x is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        if x.shape != self.out.shape:
            raise _bad(f"{self.where} changes shape {x.shape} -> {self.out.shape}")
        q = self.out.quant
        assert q is not None
        if q.zero_point[0] != -128 or np.float32(q.scale[0]) != np.float32(1.0 / 256):
            raise self.fail("int8 softmax output must have scale 1/256 and zero point -128")
        beta = float(self._opt(0, "f", 0.0))
        return {"beta": beta}

    def _pad(self) -> dict[str, Any]:
        self._arity(2, 2)
        x, p = self.ins[0], self.ins[1]
        assert x is not None and p is not None
        self._int8_act(x, "input")
        self._int8_act(self.out, "output")
        if not p.is_const or p.dtype != "int32" or p.shape != (len(x.shape), 2):
            raise self.fail(f"paddings must be a constant int32 tensor of shape ({len(x.shape)}, 2)")
        pads = p.data  # type: ignore[assignment]
        want = tuple(int(d + a + b) for d, (a, b) in zip(x.shape, pads))
        if (pads < 0).any() or want != self.out.shape:
            raise _bad(f"{self.where} pads {x.shape} by {pads.tolist()} but its output is {self.out.shape}")
        return {}
