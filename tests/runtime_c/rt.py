"""ctypes access to the host build of runtime_c, for tests that compare kernels with TFLite Micro.

The shared library is built with the runtime's own Makefile into ``build/runtime_c_py/<hash>``,
where the hash covers every runtime source, so an edit rebuilds and an unchanged tree reuses it.
Wrappers take and return numpy int8 arrays and raise on a non-zero status.
"""

from __future__ import annotations

import ctypes as C
import hashlib
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np

from edgenas.deploy.requant import AddQuant, SoftmaxParams
from edgenas.paths import REPO_ROOT, RUNTIME_C_DIR

EN_OK, EN_ERR_ARG, EN_ERR_ARENA = 0, -1, -2

I8P = C.POINTER(C.c_int8)
I32P = C.POINTER(C.c_int32)


class Dims(C.Structure):
    _fields_ = [("n", C.c_int32), ("h", C.c_int32), ("w", C.c_int32), ("c", C.c_int32)]


class ConvParams(C.Structure):
    _fields_ = [(f, C.c_int32) for f in
                ("stride_h", "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left")]


class Requant(C.Structure):
    _fields_ = [("input_zp", C.c_int32), ("output_zp", C.c_int32), ("mult", I32P),
                ("shift", I32P), ("per_channel", C.c_int32), ("act_min", C.c_int32),
                ("act_max", C.c_int32)]


class AddQuantC(C.Structure):
    """en_add_quant: the AddQuant fields, then the optional table (NULL unless set)."""

    _fields_ = [(f, C.c_int32) for f in AddQuant.__dataclass_fields__] + [("lut", I32P)]


class PoolParams(C.Structure):
    _fields_ = [(f, C.c_int32) for f in ("filter_h", "filter_w", "stride_h", "stride_w",
                                         "pad_top", "pad_left", "act_min", "act_max")]


class MeanQuant(C.Structure):
    _fields_ = [(f, C.c_int32) for f in ("input_zp", "output_zp", "mult", "shift")]


class SoftmaxParamsC(C.Structure):
    _fields_ = [(f, C.c_int32) for f in SoftmaxParams.__dataclass_fields__]


class PadParams(C.Structure):
    _fields_ = [("before", C.c_int32 * 4), ("after", C.c_int32 * 4), ("value", C.c_int32)]


def _source_hash() -> str:
    h = hashlib.sha256()
    for p in sorted(RUNTIME_C_DIR.rglob("*")):
        if p.is_file() and (p.suffix in (".c", ".h") or p.name == "Makefile"):
            h.update(str(p.relative_to(RUNTIME_C_DIR)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def build_dir(kind: str) -> Path:
    """build/<kind>/<source hash>; older hashes of the same kind are removed (stale builds)."""
    root = REPO_ROOT / "build" / kind
    here = root / _source_hash()
    if root.is_dir():
        for old in root.iterdir():
            if old != here and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
    return here


VARIANTS = ("ref", "armemu")
"""Host builds: the portable kernels, and the arm/ kernels with emulated DSP intrinsics."""

_variant = "ref"


def use(variant: str) -> None:
    """Select which host build the wrappers below call."""
    global _variant
    assert variant in VARIANTS
    _variant = variant


@lru_cache(maxsize=None)
def _load(variant: str) -> C.CDLL:
    out_dir = build_dir("runtime_c_py")
    suffix = "" if variant == "ref" else f"_{variant}"
    so = out_dir / f"libedgenas_rt{suffix}.so"
    if not so.exists():
        subprocess.run(
            ["make", "-s", "-C", str(RUNTIME_C_DIR), f"BUILD_DIR={out_dir}",
             f"VARIANT={variant}", "shared"],
            check=True, capture_output=True, text=True,
        )
    rt = C.CDLL(str(so))
    rt.en_dwconv2d_s8_scratch_bytes.restype = C.c_size_t
    rt.en_conv2d_packed_count.restype = C.c_size_t
    return rt


def lib() -> C.CDLL:
    """The selected host build of runtime_c, built once per source state."""
    return _load(_variant)


def _i8(a: np.ndarray) -> C._Pointer:
    assert a.dtype == np.int8 and a.flags.c_contiguous
    return a.ctypes.data_as(I8P)


def _i32(a: np.ndarray | None) -> C._Pointer | None:
    if a is None:
        return None
    assert a.dtype == np.int32 and a.flags.c_contiguous
    return a.ctypes.data_as(I32P)


def _dims(shape: tuple[int, ...]) -> Dims:
    return Dims(*shape)


def _check(status: int, name: str) -> None:
    if status != EN_OK:
        raise RuntimeError(f"{name} returned {status}")


def make_requant(input_zp: int, output_zp: int, mults: np.ndarray, shifts: np.ndarray,
                 act: tuple[int, int]) -> Requant:
    """A Requant struct; keep `mults`/`shifts` alive while it is used."""
    return Requant(input_zp, output_zp, _i32(mults), _i32(shifts), int(len(mults) > 1),
                   act[0], act[1])


def _weights(w: np.ndarray, packed: bool) -> tuple[C._Pointer, np.ndarray]:
    """Filter pointer for the plain (int8 OHWI) or packed (int8, codegen's layout) kernels,
    plus the array to keep alive while it is used."""
    if not packed:
        return _i8(w), w
    from edgenas.deploy.codegen import pack_conv_weights

    pw = np.ascontiguousarray(pack_conv_weights(w), dtype=np.int8)
    assert pw.size == lib().en_conv2d_packed_count(C.byref(_dims(w.shape)))
    return _i8(pw), pw


def conv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Requant,
           stride: tuple[int, int], pad: tuple[int, int], out_hw: tuple[int, int],
           dilation: tuple[int, int] = (1, 1), packed: bool = False) -> np.ndarray:
    """en_conv2d_s8, or en_conv2d_packed_s8 on the codegen-packed filter."""
    out = np.zeros((x.shape[0], *out_hw, w.shape[0]), np.int8)
    p = ConvParams(stride[0], stride[1], dilation[0], dilation[1], pad[0], pad[1])
    wp, _keep = _weights(w, packed)
    fn = lib().en_conv2d_packed_s8 if packed else lib().en_conv2d_s8
    st = fn(C.byref(p), C.byref(q), C.byref(_dims(x.shape)), _i8(x), C.byref(_dims(w.shape)), wp,
            _i32(bias), C.byref(_dims(out.shape)), _i8(out))
    _check(st, "en_conv2d_packed_s8" if packed else "en_conv2d_s8")
    return out


def conv2d_packed_in_place(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None,
                           q: Requant) -> np.ndarray:
    """en_conv2d_packed_in_place_s8 (1x1 conv, C_out <= C_in) over a copy of `x`; the output is
    the first N*H*W*C_out bytes of that buffer afterwards."""
    io = np.ascontiguousarray(x, np.int8).copy()
    out_shape = (*x.shape[:3], w.shape[0])
    wp, _keep = _weights(w, True)
    st = lib().en_conv2d_packed_in_place_s8(C.byref(q), C.byref(_dims(x.shape)), _i8(io),
                                            C.byref(_dims(w.shape)), wp, _i32(bias),
                                            C.byref(_dims(out_shape)))
    _check(st, "en_conv2d_packed_in_place_s8")
    return io.reshape(-1)[: int(np.prod(out_shape))].reshape(out_shape).copy()


def conv2d_add(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Requant, a: AddQuant,
               skip: np.ndarray, in_place: bool, stride: tuple[int, int] = (1, 1),
               pad: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1),
               packed: bool = False, lut: bool = True) -> np.ndarray:
    """Conv (any geometry; 1x1 by default) + residual add; with in_place the result overwrites
    (a copy of) `skip`, whose shape is the conv output's. With `lut` the ADD's table
    (codegen.add_lut, as generated code passes it) is set, else it is NULL."""
    from edgenas.deploy.codegen import add_lut

    skip = skip.copy()
    out = skip if in_place else np.zeros_like(skip)
    p = ConvParams(stride[0], stride[1], dilation[0], dilation[1], pad[0], pad[1])
    wp, _keep = _weights(w, packed)
    table = np.ascontiguousarray(add_lut(a), dtype=np.int32)
    ac = AddQuantC(*a.__dict__.values())
    if lut:
        ac.lut = _i32(table)
    fn = lib().en_conv2d_add_packed_s8 if packed else lib().en_conv2d_add_s8
    st = fn(C.byref(p), C.byref(q), C.byref(ac),
            C.byref(_dims(x.shape)), _i8(x), C.byref(_dims(w.shape)), wp,
            _i32(bias), _i8(skip), C.byref(_dims(out.shape)), _i8(out))
    _check(st, "en_conv2d_add_packed_s8" if packed else "en_conv2d_add_s8")
    return out


def dwconv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Requant,
             stride: tuple[int, int], pad: tuple[int, int], out_hw: tuple[int, int],
             in_place: bool = False, dilation: tuple[int, int] = (1, 1), entry: str | None = None) -> np.ndarray:
    """Depthwise conv; `w` is [1, KH, KW, C]. In place computes over a copy of `x`. Calls
    ``entry``, by default the entry point the compiler would call for this layer
    (``codegen.depthwise_entry``)."""
    from edgenas.deploy.codegen import depthwise_entry

    n, _, _, c = x.shape
    out_shape = (n, *out_hw, c)
    kernel = entry or depthwise_entry(w.shape[1:3], stride, dilation, x.shape, out_shape, in_place)
    p = ConvParams(stride[0], stride[1], dilation[0], dilation[1], pad[0], pad[1])
    in_d = _dims(x.shape)
    scratch_bytes = lib().en_dwconv2d_s8_scratch_bytes(C.byref(in_d), int(in_place))
    scratch = np.zeros(max(scratch_bytes, 1), np.int8)
    if in_place:
        # One buffer big enough for either tensor, input at its start (as an arena would).
        size = max(x.size, int(np.prod(out_shape)))
        buf = np.zeros(size, np.int8)
        buf[: x.size] = x.reshape(-1)
        st = getattr(lib(), kernel)(C.byref(p), C.byref(q), C.byref(in_d), _i8(buf),
                                    C.byref(_dims(w.shape)), _i8(w), _i32(bias),
                                    C.byref(_dims(out_shape)), _i8(buf), _i8(scratch))
        _check(st, kernel)
        return buf[: int(np.prod(out_shape))].reshape(out_shape).copy()
    out = np.zeros(out_shape, np.int8)
    st = getattr(lib(), kernel)(C.byref(p), C.byref(q), C.byref(in_d), _i8(x),
                                C.byref(_dims(w.shape)), _i8(w), _i32(bias),
                                C.byref(_dims(out_shape)), _i8(out), None)
    _check(st, kernel)
    return out


def fc(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Requant) -> np.ndarray:
    out = np.zeros((x.shape[0], w.shape[0]), np.int8)
    st = lib().en_fc_s8(C.byref(q), x.shape[0], x.shape[1], _i8(x), w.shape[0], _i8(w),
                        _i32(bias), _i8(out))
    _check(st, "en_fc_s8")
    return out


def fc_packed(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, q: Requant, wide: bool = False) -> np.ndarray:
    """en_fc_packed_s8 on codegen's packed weights and folded bias (``wide``: en_fc_wide_s8 on the
    int16 ones); same result as fc()."""
    from edgenas.deploy.codegen import fold_fc_bias, pack_fc_weights, pack_fc_wide

    kind = "wide" if wide else "packed"
    pw = np.ascontiguousarray(pack_fc_wide(w) if wide else pack_fc_weights(w))
    getattr(lib(), f"en_fc_{kind}_count").restype = C.c_size_t
    assert pw.size == getattr(lib(), f"en_fc_{kind}_count")(w.shape[1], w.shape[0])
    folded = fold_fc_bias(w, bias, q.input_zp)
    out = np.zeros((x.shape[0], w.shape[0]), np.int8)
    st = getattr(lib(), f"en_fc_{kind}_s8")(C.byref(q), x.shape[0], x.shape[1], _i8(x), w.shape[0],
                                             pw.ctypes.data_as(C.c_void_p), _i32(folded), _i8(out))
    _check(st, f"en_fc_{kind}_s8")
    return out


def add(a: AddQuant, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x1)
    st = lib().en_add_s8(C.byref(AddQuantC(*a.__dict__.values())), x1.size, _i8(x1), _i8(x2),
                         _i8(out))
    _check(st, "en_add_s8")
    return out


def avgpool2d(x: np.ndarray, filt: tuple[int, int], stride: tuple[int, int],
              pad: tuple[int, int], out_hw: tuple[int, int], act: tuple[int, int]) -> np.ndarray:
    out = np.zeros((x.shape[0], *out_hw, x.shape[3]), np.int8)
    p = PoolParams(filt[0], filt[1], stride[0], stride[1], pad[0], pad[1], act[0], act[1])
    st = lib().en_avgpool2d_s8(C.byref(p), C.byref(_dims(x.shape)), _i8(x),
                               C.byref(_dims(out.shape)), _i8(out))
    _check(st, "en_avgpool2d_s8")
    return out


def mean(x: np.ndarray, input_zp: int, output_zp: int, mult: int, shift: int) -> np.ndarray:
    out = np.zeros((x.shape[0], 1, 1, x.shape[3]), np.int8)
    q = MeanQuant(input_zp, output_zp, mult, shift)
    st = lib().en_mean_s8(C.byref(q), C.byref(_dims(x.shape)), _i8(x), _i8(out))
    _check(st, "en_mean_s8")
    return out


def softmax(p: SoftmaxParams, x: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x)
    depth = x.shape[-1]
    st = lib().en_softmax_s8(C.byref(SoftmaxParamsC(*p.__dict__.values())), x.size // depth,
                             depth, _i8(x), _i8(out))
    _check(st, "en_softmax_s8")
    return out


def pad(x: np.ndarray, before: tuple[int, ...], after: tuple[int, ...], value: int) -> np.ndarray:
    out_shape = tuple(d + b + a for d, b, a in zip(x.shape, before, after))
    out = np.zeros(out_shape, np.int8)
    p = PadParams((C.c_int32 * 4)(*before), (C.c_int32 * 4)(*after), value)
    st = lib().en_pad_s8(C.byref(p), C.byref(_dims(x.shape)), _i8(x), C.byref(_dims(out_shape)),
                         _i8(out))
    _check(st, "en_pad_s8")
    return out
