"""Run runtime_c kernel calls on an emulated board and the same calls on the host build.

``kernel_server/`` is a firmware fixture with the generated-model contract: each "inference"
takes a blob holding up to 16 calls (each a header of int32 fields, then the arrays it points
at) and runs them in order, so one QEMU session runs many random calls, and a call's per-layer
count is the kernel's own instruction count (SysTick resolution). The serial link moves every
blob byte (tens of microseconds each), so calls are packed densely and the blob is small.
Each :class:`Call` also knows the same call on the host reference build (``rt``), the oracle
the firmware's bytes are compared with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgenas.boards import Board
from edgenas.deploy.codegen import add_lut, fold_fc_bias, pack_conv_weights, pack_fc_weights, pack_fc_wide
from edgenas.deploy.requant import AddQuant

from . import rt

SERVER_DIR = Path(__file__).resolve().parent / "kernel_server"
INPUT_BYTES = 16384   # kernel_server/model.h defaults
OUTPUT_BYTES = 4096
MAX_CALLS = 16
HDR_WORDS = 64
(OP_FC, OP_CONV, OP_CONV_PACKED, OP_CONV_PACKED_IN_PLACE, OP_CONV_ADD, OP_CONV_ADD_PACKED, OP_DWCONV, OP_ADD,
 OP_AVGPOOL, OP_FC_PACKED, OP_DWCONV_KX1, OP_FC_WIDE) = range(1, 13)
H_OP, H_IN_DIMS, H_W_DIMS, H_OUT_DIMS, H_CONV, H_RQ, H_ADD, H_FC = 0, 1, 5, 9, 13, 19, 24, 36
H_X, H_W, H_BIAS, H_MULT, H_SHIFT, H_SKIP, H_OUT, H_SCRATCH, H_OUT_BYTES, H_SIZE, H_NEXT, H_POOL = range(39, 51)
H_LUT = 58  # offset of en_add_quant.lut (-1 = NULL)
_OFFSET_FIELDS = [H_X, H_W, H_BIAS, H_MULT, H_SHIFT, H_SKIP, H_OUT, H_SCRATCH, H_LUT]


@dataclass(frozen=True)
class Quant:
    """Requantisation of a conv / depthwise / FC call (per channel when len(mults) > 1)."""

    input_zp: int
    output_zp: int
    mults: np.ndarray
    shifts: np.ndarray
    act: tuple[int, int] = (-128, 127)

    def host(self) -> rt.Requant:
        """The ctypes struct (keep this Quant alive while it is used)."""
        return rt.make_requant(self.input_zp, self.output_zp, self.mults, self.shifts, self.act)


@dataclass
class Call:
    """One kernel call: its blob (offsets from its own start) and the host build's result."""

    name: str
    blob: bytes
    out_shape: tuple[int, ...]
    host: Callable[[], np.ndarray] = field(repr=False)
    macs: int = 0

    def expected(self) -> np.ndarray:
        return np.asarray(self.host(), np.int8).reshape(self.out_shape)


@dataclass(frozen=True)
class Result:
    status: int
    output: np.ndarray
    instructions: int


class _Blob:
    """Header words plus 16-byte aligned arrays, addressed by byte offset from the blob start."""

    def __init__(self, op: int) -> None:
        self.hdr = np.zeros(HDR_WORDS, np.int32)
        self.hdr[H_OP] = op
        self.hdr[[H_BIAS, H_MULT, H_SHIFT, H_SKIP, H_SCRATCH, H_LUT]] = -1
        self.data = bytearray(HDR_WORDS * 4)

    def put(self, a: np.ndarray | None, nbytes: int | None = None) -> int:
        """Append `a` (or `nbytes` zero bytes) at the next 16-byte boundary; its offset."""
        if a is None and nbytes is None:
            return -1
        self.data.extend(b"\0" * (-len(self.data) % 16))
        off = len(self.data)
        self.data.extend(np.ascontiguousarray(a).tobytes() if a is not None else b"\0" * max(nbytes or 0, 1))
        return off

    def set(self, index: int, values: Sequence[int]) -> None:
        self.hdr[index:index + len(values)] = values

    def quant(self, q: Quant) -> None:
        self.set(H_RQ, [q.input_zp, q.output_zp, int(len(q.mults) > 1), *q.act])
        self.hdr[H_MULT] = self.put(np.asarray(q.mults, np.int32))
        self.hdr[H_SHIFT] = self.put(np.asarray(q.shifts, np.int32))

    def conv(self, stride: tuple[int, int], dilation: tuple[int, int], pad: tuple[int, int]) -> None:
        self.set(H_CONV, [*stride, *dilation, *pad])

    def finish(self, out_off: int, out_bytes: int) -> bytes:
        self.hdr[H_OUT] = out_off
        self.hdr[H_OUT_BYTES] = out_bytes
        self.hdr[H_NEXT] = -1
        self.data[: HDR_WORDS * 4] = self.hdr.astype("<i4").tobytes()
        self.data.extend(b"\0" * (-len(self.data) % 16))
        return bytes(self.data)


def _relocate(blob: bytes, base: int, next_off: int) -> bytes:
    """A call's blob moved to `base`: its offsets shifted, H_NEXT set."""
    hdr = np.frombuffer(blob[: HDR_WORDS * 4], "<i4").copy()
    for i in _OFFSET_FIELDS:
        if hdr[i] >= 0:
            hdr[i] += base
    hdr[H_NEXT] = next_off
    return hdr.tobytes() + blob[HDR_WORDS * 4:]


def pack(calls: Sequence[Call], input_bytes: int = INPUT_BYTES, output_bytes: int = OUTPUT_BYTES
         ) -> list[list[int]]:
    """Indices of `calls` grouped into blobs that fit the server (greedy, in order)."""
    groups: list[list[int]] = []
    size = out = 0
    for i, c in enumerate(calls):
        n_out = 4 + int(np.prod(c.out_shape))
        if len(c.blob) > input_bytes or n_out > output_bytes:
            raise ValueError(f"{c.name} call needs {len(c.blob)} blob bytes / {n_out} output bytes; the server "
                             f"takes {input_bytes} / {output_bytes}")
        if not groups or size + len(c.blob) > input_bytes or out + n_out > output_bytes \
                or len(groups[-1]) == MAX_CALLS:
            groups.append([])
            size = out = 0
        groups[-1].append(i)
        size += len(c.blob)
        out += n_out
    return groups


def _blob(calls: Sequence[Call], input_bytes: int) -> bytes:
    data = bytearray()
    for k, c in enumerate(calls):
        base = len(data)
        nxt = base + len(c.blob) if k + 1 < len(calls) else -1
        data.extend(_relocate(c.blob, base, nxt))
    return bytes(data) + b"\0" * (input_bytes - len(data))


def fc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Quant) -> Call:
    """en_fc_s8: x [N, C_in], w [C_out, C_in]."""
    b = _Blob(OP_FC)
    b.quant(q)
    b.set(H_FC, [x.shape[0], x.shape[1], w.shape[0]])
    b.hdr[H_X], b.hdr[H_W], b.hdr[H_BIAS] = b.put(x), b.put(w), b.put(bias)
    out_shape = (x.shape[0], w.shape[0])
    blob = b.finish(b.put(None, int(np.prod(out_shape))), int(np.prod(out_shape)))
    return Call("fc", blob, out_shape, lambda: rt.fc(x, w, bias, q.host()), macs=x.shape[0] * w.size)


def fc_packed(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Quant, wide: bool = False) -> Call:
    """en_fc_packed_s8 on codegen's packed weights and folded bias (``wide``: en_fc_wide_s8 on
    the int16 ones); the oracle is the host ref en_fc_s8 on the plain ones."""
    b = _Blob(OP_FC_WIDE if wide else OP_FC_PACKED)
    b.quant(q)
    b.set(H_FC, [x.shape[0], x.shape[1], w.shape[0]])
    b.hdr[H_X], b.hdr[H_W] = b.put(x), b.put(pack_fc_wide(w) if wide else pack_fc_weights(w))
    b.hdr[H_BIAS] = b.put(fold_fc_bias(w, bias, q.input_zp))
    out_shape = (x.shape[0], w.shape[0])
    blob = b.finish(b.put(None, int(np.prod(out_shape))), int(np.prod(out_shape)))
    return Call("fc_wide" if wide else "fc_packed", blob, out_shape, lambda: rt.fc(x, w, bias, q.host()),
                macs=x.shape[0] * w.size)


def conv(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Quant, stride: tuple[int, int],
         pad: tuple[int, int], out_hw: tuple[int, int], dilation: tuple[int, int] = (1, 1),
         packed: bool = True) -> Call:
    """en_conv2d_packed_s8 (or en_conv2d_s8): x NHWC, w OHWI."""
    b = _Blob(OP_CONV_PACKED if packed else OP_CONV)
    b.quant(q)
    b.conv(stride, dilation, pad)
    out_shape = (x.shape[0], *out_hw, w.shape[0])
    b.set(H_IN_DIMS, x.shape)
    b.set(H_W_DIMS, w.shape)
    b.set(H_OUT_DIMS, out_shape)
    b.hdr[H_X] = b.put(x)
    b.hdr[H_W] = b.put(pack_conv_weights(w).astype(np.int8) if packed else w)
    b.hdr[H_BIAS] = b.put(bias)
    n = int(np.prod(out_shape))
    return Call("conv_packed" if packed else "conv", b.finish(b.put(None, n), n), out_shape,
                lambda: rt.conv2d(x, w, bias, q.host(), stride, pad, out_hw, dilation, packed),
                macs=n * int(np.prod(w.shape[1:])))


def conv_in_place(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Quant) -> Call:
    """en_conv2d_packed_in_place_s8: a 1x1 conv written over its input (C_out <= C_in)."""
    b = _Blob(OP_CONV_PACKED_IN_PLACE)
    b.quant(q)
    out_shape = (*x.shape[:3], w.shape[0])
    b.set(H_IN_DIMS, x.shape)
    b.set(H_W_DIMS, w.shape)
    b.set(H_OUT_DIMS, out_shape)
    io = b.put(x)
    b.hdr[H_W], b.hdr[H_BIAS] = b.put(pack_conv_weights(w).astype(np.int8)), b.put(bias)
    n = int(np.prod(out_shape))
    return Call("conv_in_place", b.finish(io, n), out_shape,
                lambda: rt.conv2d_packed_in_place(x, w, bias, q.host()), macs=n * w.shape[3])


def conv_add(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Quant, a: AddQuant,
             skip: np.ndarray, in_place: bool, stride: tuple[int, int], pad: tuple[int, int],
             dilation: tuple[int, int] = (1, 1), packed: bool = True, lut: bool = True) -> Call:
    """en_conv2d_add_packed_s8 (or en_conv2d_add_s8); in place writes over the skip tensor.
    With `lut` the ADD's table (codegen.add_lut) is passed, as generated code does."""
    b = _Blob(OP_CONV_ADD_PACKED if packed else OP_CONV_ADD)
    b.quant(q)
    b.conv(stride, dilation, pad)
    b.set(H_ADD, list(a.__dict__.values()))
    if lut:
        b.hdr[H_LUT] = b.put(add_lut(a))
    b.set(H_IN_DIMS, x.shape)
    b.set(H_W_DIMS, w.shape)
    b.set(H_OUT_DIMS, skip.shape)
    b.hdr[H_X] = b.put(x)
    b.hdr[H_W] = b.put(pack_conv_weights(w).astype(np.int8) if packed else w)
    b.hdr[H_BIAS] = b.put(bias)
    b.hdr[H_SKIP] = b.put(skip)
    n = skip.size
    out = b.hdr[H_SKIP] if in_place else b.put(None, n)
    return Call("conv_add" + ("_packed" if packed else ""), b.finish(int(out), n), skip.shape,
                lambda: rt.conv2d_add(x, w, bias, q.host(), a, skip, in_place, stride, pad, dilation, packed, lut),
                macs=n * int(np.prod(w.shape[1:])))


def dwconv(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Quant, stride: tuple[int, int],
           pad: tuple[int, int], out_hw: tuple[int, int], in_place: bool = False,
           dilation: tuple[int, int] = (1, 1), kx1: bool = False) -> Call:
    """en_dwconv2d_s8 (kx1: en_dwconv2d_kx1_s8, or en_dwconv2d_kx1_long_s8 from 5 taps): w [1, KH,
    KW, C]; in place with a scratch of one channel plane."""
    b = _Blob(OP_DWCONV_KX1 if kx1 else OP_DWCONV)
    b.quant(q)
    b.conv(stride, dilation, pad)
    out_shape = (x.shape[0], *out_hw, x.shape[3])
    n = int(np.prod(out_shape))
    b.set(H_IN_DIMS, x.shape)
    b.set(H_W_DIMS, w.shape)
    b.set(H_OUT_DIMS, out_shape)
    if in_place:
        buf = np.zeros(max(x.size, n), np.int8)
        buf[: x.size] = x.reshape(-1)
        b.hdr[H_X] = b.put(buf)
        b.hdr[H_SCRATCH] = b.put(None, x.shape[0] * x.shape[1] * x.shape[2])
        out = int(b.hdr[H_X])
    else:
        b.hdr[H_X] = b.put(x)
        out = -2
    b.hdr[H_W], b.hdr[H_BIAS] = b.put(w), b.put(bias)
    if out == -2:
        out = b.put(None, n)
    return Call("dwconv", b.finish(out, n), out_shape,
                lambda: rt.dwconv2d(x, w, bias, q.host(), stride, pad, out_hw, in_place, dilation),
                macs=n * w.shape[1] * w.shape[2])


def add(a: AddQuant, x1: np.ndarray, x2: np.ndarray, in_place: bool = False) -> Call:
    """en_add_s8 over two same-shape tensors; in place writes over x1."""
    b = _Blob(OP_ADD)
    b.set(H_ADD, list(a.__dict__.values()))
    b.hdr[H_SIZE] = x1.size
    b.hdr[H_X], b.hdr[H_SKIP] = b.put(x1), b.put(x2)
    out = int(b.hdr[H_X]) if in_place else b.put(None, x1.size)
    return Call("add", b.finish(out, x1.size), x1.shape, lambda: rt.add(a, x1, x2))


def avgpool(x: np.ndarray, filt: tuple[int, int], stride: tuple[int, int], pad: tuple[int, int],
            out_hw: tuple[int, int], act: tuple[int, int]) -> Call:
    """en_avgpool2d_s8 (padding taps not counted)."""
    b = _Blob(OP_AVGPOOL)
    out_shape = (x.shape[0], *out_hw, x.shape[3])
    b.set(H_IN_DIMS, x.shape)
    b.set(H_OUT_DIMS, out_shape)
    b.set(H_POOL, [*filt, *stride, *pad, *act])
    b.hdr[H_X] = b.put(x)
    n = int(np.prod(out_shape))
    return Call("avgpool", b.finish(b.put(None, n), n), out_shape,
                lambda: rt.avgpool2d(x, filt, stride, pad, out_hw, act))


def build(board: Board, out_dir: Path, input_bytes: int = INPUT_BYTES, output_bytes: int = OUTPUT_BYTES,
          runtime_dir: Path | None = None, opt: str = "-O2"):  # noqa: ANN201 (Firmware)
    """The server firmware for ``board`` (runtime kernels picked for its core as in any build;
    ``runtime_dir``: another runtime_c tree, e.g. an older commit's)."""
    from edgenas.paths import RUNTIME_C_DIR
    from edgenas.targets.cortex_m import build_firmware

    return build_firmware(SERVER_DIR, board, out_dir, opt=opt, runtime_dir=runtime_dir or RUNTIME_C_DIR,
                          defines={"EN_KS_INPUT_BYTES": input_bytes, "EN_KS_OUTPUT_BYTES": output_bytes})


def build_on(board_name: str, out_dir: Path, opt: str = "-O2"):  # noqa: ANN201 (Firmware)
    """The server firmware for a built-in board profile (no user directory or plugin boards, so a
    test sees the same board everywhere)."""
    from edgenas.boards import BoardRegistry

    return build(BoardRegistry(entry_points=False, user_dir=None).get(board_name), out_dir, opt=opt)


def run(firmware, calls: Sequence[Call], input_bytes: int = INPUT_BYTES,  # noqa: ANN001 (Firmware)
        output_bytes: int = OUTPUT_BYTES) -> list[Result]:
    """Run every call on the board in one session (sizes as the firmware was built with)."""
    from edgenas.targets.cortex_m import driver

    groups = pack(calls, input_bytes, output_bytes)
    blobs = [_blob([calls[i] for i in g], input_bytes) for g in groups]
    results: list[Result] = []
    for g, m in zip(groups, driver.run(firmware, blobs)):
        raw = np.frombuffer(m.output, np.uint8)
        pos = 0
        for k, i in enumerate(g):
            c = calls[i]
            n = int(np.prod(c.out_shape))
            status = int(np.frombuffer(raw[pos:pos + 4].tobytes(), "<i4")[0])
            out = raw[pos + 4:pos + 4 + n].view(np.int8).reshape(c.out_shape).copy()
            results.append(Result(status, out, int(m.per_layer[2 * k + 1])))
            pos += 4 + n
    return results


def check(server, calls: list[Call]) -> list[Result]:  # noqa: ANN001 (a built kernel-server firmware)
    """Run ``calls`` on ``server``; assert each returned 0 and equals the host reference build."""
    results = run(server, calls)
    rt.use("ref")
    for i, (c, r) in enumerate(zip(calls, results)):
        want = c.expected()
        assert r.status == 0, f"call {i} ({c.name}) returned {r.status}"
        diff = np.flatnonzero(r.output != want)
        assert diff.size == 0, (f"call {i} ({c.name}, out {c.out_shape}): {diff.size} values differ, first at "
                                f"{diff[0]}: {r.output.reshape(-1)[diff[0]]} vs ref {want.reshape(-1)[diff[0]]}")
    return results
