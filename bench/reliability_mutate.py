"""Seeded .tflite mutants: byte damage and field-level edits of a valid model.

Mutant ``i`` of a run with seed ``s`` is a pure function of ``(s, i, base bytes)``, so a failure
names a reproducible case (``mutant(bases, seed, i)``). Two families:

- **bytes**: bit flips, random bytes, aligned u32 words set to values that make offsets and
  lengths lie (0, 1, 0x7fffffff, 0xffffffff, ...), inserted/deleted bytes and truncation. Most
  byte edits land in the tables and vtables (the bytes outside weight buffers), where damage
  changes structure rather than just a weight.
- **fields**: the model unpacked with the generated schema's object API, one field changed and the
  model packed again, so the result is a well-formed flatbuffer that *lies*: a shape dim, a rank,
  a scale or zero point, the quantised axis, strides, dilations, padding, filter size, activation,
  an op's tensor index, its opcode or options type, a buffer's length or the buffer a tensor uses.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np

from edgenas.deploy import tflite_schema as fb

S = fb.schema
WORDS = (0, 1, 2, 3, 4, 7, 8, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE)
DIMS = (0, 1, 2, 3, 7, 8, 127, 1 << 16, 1 << 20, (1 << 31) - 1, -1, -2)
SCALES = (0.0, -1.0, float("nan"), float("inf"), 1e-38, 1e-12, 1e12, 3.4e38, 1.0)
ZERO_POINTS = (-129, -128, -1, 1, 5, 127, 128, 255, 1 << 20, -(1 << 40))
SMALL_INTS = (-1, 0, 1, 2, 3, 4, 7, 100, 1 << 20, (1 << 31) - 1, -(1 << 31))


@dataclass(frozen=True)
class Mutant:
    """One damaged model and how to make it again."""

    index: int
    base: str
    family: str
    kind: str
    detail: str
    data: bytes

    @property
    def sha(self) -> str:
        return hashlib.sha256(self.data).hexdigest()[:16]


# --- bytes ---------------------------------------------------------------------------------


def structure_positions(data: bytes) -> np.ndarray:
    """Byte positions outside every buffer's data: the tables, vtables, shapes and strings."""
    mask = np.ones(len(data), dtype=bool)
    root = S.Model.GetRootAs(data, 0)
    for i in range(root.BuffersLength()):
        tab = root.Buffers(i)._tab
        o = tab.Offset(4)
        if o:
            start = tab.Vector(o)
            mask[start : start + tab.VectorLen(o)] = False
    return np.flatnonzero(mask)


def _byte_mutant(rng: np.random.Generator, data: bytes, where: np.ndarray) -> tuple[str, str, bytes]:
    buf = bytearray(data)
    pick = (lambda: int(rng.choice(where))) if rng.random() < 0.8 else (lambda: int(rng.integers(len(buf))))
    kind = str(rng.choice(["bitflip", "random_bytes", "word", "insert_delete", "truncate"],
                          p=[0.3, 0.2, 0.3, 0.1, 0.1]))
    if kind == "bitflip":
        flips = [(pick(), int(rng.integers(8))) for _ in range(int(rng.integers(1, 9)))]
        for pos, bit in flips:
            buf[pos] ^= 1 << bit
        return kind, f"bits {flips}", bytes(buf)
    if kind == "random_bytes":
        edits = [(pick(), int(rng.integers(256))) for _ in range(int(rng.integers(1, 17)))]
        for pos, value in edits:
            buf[pos] = value
        return kind, f"bytes {edits}", bytes(buf)
    if kind == "word":
        edits = [(pick() & ~3, int(rng.choice(WORDS)) if rng.random() < 0.8 else int(rng.integers(1 << 32)))
                 for _ in range(int(rng.integers(1, 4)))]
        for pos, value in edits:
            if pos + 4 <= len(buf):
                struct.pack_into("<I", buf, pos, value)
        return kind, f"u32 {edits}", bytes(buf)
    if kind == "insert_delete":
        pos, n = pick(), int(rng.integers(1, 9))
        if rng.random() < 0.5:
            return "insert", f"{n} bytes at {pos}", bytes(buf[:pos] + rng.bytes(n) + buf[pos:])
        return "delete", f"{n} bytes at {pos}", bytes(buf[:pos] + buf[pos + n :])
    cut = int(rng.integers(len(buf)))
    return kind, f"to {cut} bytes", bytes(buf[:cut])


# --- fields --------------------------------------------------------------------------------


def _pack(model: Any) -> bytes:
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=fb.FILE_IDENTIFIER)
    return bytes(builder.Output())


def _choice(rng: np.random.Generator, values: tuple) -> Any:
    return values[int(rng.integers(len(values)))]


def _shape(rng, m) -> str:  # noqa: ANN001
    t = _pick_tensor(rng, m)
    shape = [int(d) for d in t.shape] if t.shape is not None else []
    if not shape:
        return "skip"
    i = int(rng.integers(len(shape)))
    old = shape[i]
    shape[i] = int(_choice(rng, (*DIMS, old + 1, old - 1, 2 * old, old // 2)))
    t.shape = np.array(shape, dtype=np.int32)
    return f"tensor {t.name!r} dim {i}: {old} -> {shape[i]}"


def _rank(rng, m) -> str:  # noqa: ANN001
    t = _pick_tensor(rng, m)
    shape = [int(d) for d in t.shape] if t.shape is not None else []
    old = list(shape)
    if shape and rng.random() < 0.5:
        shape.pop(int(rng.integers(len(shape))))
    else:
        shape.insert(int(rng.integers(len(shape) + 1)), int(_choice(rng, (1, 1, 2, 3))))
    t.shape = np.array(shape, dtype=np.int32)
    return f"tensor {t.name!r} shape {old} -> {shape}"


def _quant(rng, m) -> str:  # noqa: ANN001
    t = _pick_tensor(rng, m, quantised=True)
    q = t.quantization
    if q is None:
        return "skip"
    what = str(rng.choice(["scale", "zero_point", "axis", "scale_len", "zp_len", "drop"]))
    if what == "scale" and q.scale is not None and len(q.scale):
        i = int(rng.integers(len(q.scale)))
        q.scale = np.array(q.scale, dtype=np.float32)
        q.scale[i] = np.float32(_choice(rng, (*SCALES, float(q.scale[i]) * 1000, float(q.scale[i]) / 1000)))
        return f"tensor {t.name!r} scale[{i}] = {q.scale[i]!r}"
    if what == "zero_point" and q.zeroPoint is not None and len(q.zeroPoint):
        i = int(rng.integers(len(q.zeroPoint)))
        q.zeroPoint = np.array(q.zeroPoint, dtype=np.int64)
        q.zeroPoint[i] = int(_choice(rng, ZERO_POINTS))
        return f"tensor {t.name!r} zero_point[{i}] = {int(q.zeroPoint[i])}"
    if what == "axis":
        q.quantizedDimension = int(_choice(rng, (-1, 0, 1, 2, 3, 4, 100)))
        return f"tensor {t.name!r} quantized_dimension = {q.quantizedDimension}"
    if what in ("scale_len", "zp_len"):
        attr = "scale" if what == "scale_len" else "zeroPoint"
        v = getattr(q, attr)
        if v is None or not len(v):
            return "skip"
        v = v[:-1] if rng.random() < 0.5 else np.concatenate([v, v[-1:]])
        setattr(q, attr, v)
        return f"tensor {t.name!r} {attr} now has {len(v)} entries"
    t.quantization = None
    return f"tensor {t.name!r} quantization dropped"


def _tensor_meta(rng, m) -> str:  # noqa: ANN001
    t = _pick_tensor(rng, m)
    sg = m.subgraphs[0]
    if rng.random() < 0.5:
        old, t.type = t.type, int(rng.integers(0, 18))
        return f"tensor {t.name!r} type {old} -> {t.type}"
    old, t.buffer = t.buffer, int(_choice(rng, (0, -1, len(m.buffers), int(rng.integers(len(m.buffers))))))
    return f"tensor {t.name!r} buffer {old} -> {t.buffer} (of {len(m.buffers)}, {len(sg.tensors)} tensors)"


def _buffer(rng, m) -> str:  # noqa: ANN001
    full = [i for i, b in enumerate(m.buffers) if b.data is not None and len(b.data)]
    if not full:
        return "skip"
    i = int(rng.choice(full))
    b = m.buffers[i]
    old = len(b.data)
    new = int(_choice(rng, (0, 1, old - 1, old + 1, old // 2, old * 2, old - 4, old + 4)))
    data = np.asarray(b.data, dtype=np.uint8)
    b.data = data[:new] if new <= old else np.concatenate([data, rng.integers(0, 256, new - old, dtype=np.uint8)])
    return f"buffer {i} length {old} -> {new}"


_OPTION_FIELDS = ("padding", "strideW", "strideH", "dilationWFactor", "dilationHFactor", "fusedActivationFunction",
                  "depthMultiplier", "filterWidth", "filterHeight", "keepDims", "keepNumDims", "beta", "newShape",
                  "weightsFormat", "asymmetricQuantizeInputs", "potScaleInt16")


def _options(rng, m) -> str:  # noqa: ANN001
    ops = [o for o in m.subgraphs[0].operators if o.builtinOptions is not None]
    if not ops:
        return "skip"
    o = ops[int(rng.integers(len(ops)))]
    fields = [f for f in _OPTION_FIELDS if hasattr(o.builtinOptions, f)]
    if rng.random() < 0.1 or not fields:
        old, o.builtinOptionsType = o.builtinOptionsType, int(_choice(rng, (0, 1, 2, 5, 8, 9, 11, 17, 22, 27, 100)))
        return f"op options type {old} -> {o.builtinOptionsType}"
    f = fields[int(rng.integers(len(fields)))]
    old = getattr(o.builtinOptions, f)
    if f == "newShape":
        new: Any = np.array([int(_choice(rng, DIMS)) for _ in range(int(rng.integers(0, 5)))], dtype=np.int32)
    elif f == "beta":
        new = float(_choice(rng, (0.0, -1.0, float("nan"), float("inf"), 1e30, 2.0)))
    elif f in ("padding", "fusedActivationFunction", "weightsFormat"):
        new = int(rng.integers(-2, 8))
    elif isinstance(old, bool):
        new = not old
    else:
        new = int(_choice(rng, SMALL_INTS))
    setattr(o.builtinOptions, f, new)
    return f"op {_op_name(m, o)} {f}: {old!r} -> {new!r}"


def _op_io(rng, m) -> str:  # noqa: ANN001
    sg = m.subgraphs[0]
    o = sg.operators[int(rng.integers(len(sg.operators)))]
    attr = "inputs" if rng.random() < 0.7 else "outputs"
    v = np.array(getattr(o, attr), dtype=np.int32)
    if rng.random() < 0.2:
        v = v[:-1] if len(v) > 1 and rng.random() < 0.5 else np.concatenate([v, v[:1]])
        setattr(o, attr, v)
        return f"op {_op_name(m, o)} {attr} now {v.tolist()}"
    i = int(rng.integers(len(v)))
    old = int(v[i])
    v[i] = int(_choice(rng, (-1, len(sg.tensors), int(rng.integers(len(sg.tensors))), int(rng.integers(len(sg.tensors))))))
    setattr(o, attr, v)
    return f"op {_op_name(m, o)} {attr}[{i}]: {old} -> {int(v[i])}"


def _opcode(rng, m) -> str:  # noqa: ANN001
    sg = m.subgraphs[0]
    if rng.random() < 0.5:
        o = sg.operators[int(rng.integers(len(sg.operators)))]
        old, o.opcodeIndex = o.opcodeIndex, int(_choice(rng, (0xFFFFFFFF, len(m.operatorCodes), int(rng.integers(len(m.operatorCodes))))))
        return f"op {old}th opcode index -> {o.opcodeIndex}"
    c = m.operatorCodes[int(rng.integers(len(m.operatorCodes)))]
    new = int(_choice(rng, (0, 1, 3, 4, 9, 22, 25, 34, 40, 6, 114, 17, 127, 200, -1)))
    old = (c.builtinCode, c.deprecatedBuiltinCode)
    c.builtinCode, c.deprecatedBuiltinCode = new, max(-128, min(new, 127))
    return f"opcode {old} -> {new}"


def _graph_io(rng, m) -> str:  # noqa: ANN001
    sg = m.subgraphs[0]
    attr = "inputs" if rng.random() < 0.5 else "outputs"
    v = np.array(getattr(sg, attr), dtype=np.int32)
    old = v.tolist()
    v = np.array([int(rng.integers(-1, len(sg.tensors) + 1)) for _ in range(max(1, len(v)))], dtype=np.int32)
    setattr(sg, attr, v)
    return f"subgraph {attr} {old} -> {v.tolist()}"


def _pick_tensor(rng, m, quantised: bool = False):  # noqa: ANN001, ANN202
    ts = m.subgraphs[0].tensors
    if quantised:
        ts = [t for t in ts if t.quantization is not None and t.quantization.scale is not None] or ts
    return ts[int(rng.integers(len(ts)))]


def _op_name(m, o) -> str:  # noqa: ANN001
    sg = m.subgraphs[0]
    outs = list(o.outputs) if o.outputs is not None else []
    if outs and 0 <= int(outs[0]) < len(sg.tensors):
        return repr(sg.tensors[int(outs[0])].name.decode(errors="replace")[:40])
    return "?"


FIELD_EDITS: dict[str, Callable[..., str]] = {
    "shape": _shape, "rank": _rank, "quant": _quant, "tensor_meta": _tensor_meta, "buffer_len": _buffer,
    "options": _options, "op_io": _op_io, "opcode": _opcode, "graph_io": _graph_io,
}
FIELD_WEIGHTS = {"shape": 0.22, "rank": 0.05, "quant": 0.2, "tensor_meta": 0.07, "buffer_len": 0.08,
                 "options": 0.22, "op_io": 0.08, "opcode": 0.04, "graph_io": 0.04}


def _field_mutant(rng: np.random.Generator, data: bytes) -> tuple[str, str, bytes]:
    kinds = list(FIELD_EDITS)
    for _ in range(20):
        kind = str(rng.choice(kinds, p=[FIELD_WEIGHTS[k] for k in kinds]))
        model = S.ModelT.InitFromPackedBuf(data, 0)
        detail = FIELD_EDITS[kind](rng, model)
        if detail == "skip":
            continue
        try:
            return kind, detail, _pack(model)
        except (TypeError, ValueError, struct.error):  # a value the field's type cannot hold: draw again
            continue
    raise RuntimeError("no field of this model could be edited")


# --- the stream ------------------------------------------------------------------------------


def mutant(bases: dict[str, bytes], seed: int, index: int, where: dict[str, np.ndarray] | None = None) -> Mutant:
    """Mutant ``index`` of the run seeded ``seed``: base and family drawn, then one edit."""
    rng = np.random.default_rng([seed, index])
    names = sorted(bases)
    base = names[int(rng.integers(len(names)))]
    data = bases[base]
    if rng.random() < 0.5:
        kind, detail, out = _field_mutant(rng, data)
        return Mutant(index, base, "fields", kind, detail, out)
    pos = where[base] if where is not None else structure_positions(data)
    kind, detail, out = _byte_mutant(rng, data, pos)
    return Mutant(index, base, "bytes", kind, detail, out)


def mutants(bases: dict[str, bytes], seed: int, count: int) -> Iterator[Mutant]:
    """``count`` distinct mutants (none equal to a base or to an earlier mutant), in index order."""
    where = {name: structure_positions(data) for name, data in bases.items()}
    seen = {hashlib.sha256(d).hexdigest()[:16] for d in bases.values()}
    index = made = 0
    while made < count:
        m = mutant(bases, seed, index, where)
        index += 1
        if m.sha not in seen:
            seen.add(m.sha)
            made += 1
            yield m
