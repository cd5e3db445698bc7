"""Generate ``model.c``/``model.h``: a straight-line int8 model over one static arena.

The output is plain C99 calling the kernels of ``runtime_c/include/edgenas/kernels.h``. Every
shape, per-channel multiplier/shift and clamp is baked in as ``static const`` data, weights are
arrays named ``en_w_*`` (the ELF memory accounting counts that prefix as model weights), and
the one arena is ``uint8_t en_arena[EN_ARENA_BYTES]`` (external linkage, so the ELF reader can
find it) laid out by the :class:`~edgenas.deploy.plan.MemoryPlan`. The text is a pure function
of the graph and the plan (no timestamps, sorted nothing by hash), so diffs are reviewable and
builds cache by content.

``en_model_invoke(in, out)`` copies the input into the arena, runs each step, calls
``en_profile_mark(i)`` after step i, copies the output out, and returns a kernel's status as
soon as one fails (EN_OK otherwise).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import __version__
from ..errors import UnsupportedOpError
from . import requant
from .fuse import Step
from .ir import Graph, Op, Tensor
from .plan import MemoryPlan
from .scratch import pointwise_in_place_one_call

CODEGEN_REVISION = 2
"""Raised whenever the code compiled for a graph changes (a pass, a layout, a strategy choice):
latency tables carry GENERATOR_VERSION in their fingerprint, so tables measured before go stale.
2: kernel taps that only read padding are dropped (``crop_taps``)."""
GENERATOR_VERSION = f"edgenas-codegen {__version__} r{CODEGEN_REVISION}"
_PER_LINE = 16


@dataclass
class GeneratedModel:
    """The generated sources and the numbers the headers state.

    Attributes:
        model_c, model_h: file contents.
        flash_bytes: bytes of the ``en_w_*`` constant arrays (weights, biases, multipliers,
            shifts); parameter structs and code are not included.
        layers: one record per profiled layer (index, kind, op names, decisions).
    """

    model_c: str
    model_h: str
    flash_bytes: int
    layers: list[dict] = field(default_factory=list)


def _c_ident(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z_]", "_", text)


def _comment(text: str) -> str:
    return text.replace("*/", "* /")


class _Emitter:
    """Accumulates constant data and invoke statements for one model."""

    def __init__(self, graph: Graph, plan: MemoryPlan, fc_wide_max_weights: int = 0) -> None:
        self.graph = graph
        self.plan = plan
        self.fc_wide_max_weights = fc_wide_max_weights
        self.data: list[str] = []
        self.body: list[str] = []
        self.flash_bytes = 0

    # -------------------------------------------------------------- constant data

    def array(self, name: str, ctype: str, values: Sequence[int] | np.ndarray, weight: bool = True) -> str:
        """Emit ``static const ctype name[n]``; weight arrays count as flash and get the prefix."""
        vals = [int(v) for v in np.asarray(values).reshape(-1)]
        if not vals:
            raise UnsupportedOpError(f"empty constant array {name}", hint="check the model's constant tensors")
        sym = f"en_w_{name}" if weight else f"en_{name}"
        size = {"int8_t": 1, "int16_t": 2, "int32_t": 4}[ctype]
        if weight:
            self.flash_bytes += size * len(vals)
        lines = []
        for i in range(0, len(vals), _PER_LINE):
            lines.append("    " + ", ".join(str(v) for v in vals[i : i + _PER_LINE]) + ",")
        self.data.append(f"static const {ctype} {sym}[{len(vals)}] EN_ALIGN4 = {{\n" + "\n".join(lines) + "\n};")
        return sym

    def used_data(self) -> list[str]:
        """Declarations reachable from the invoke body (directly or through another struct)."""
        sym = re.compile(r"\b(en_[A-Za-z0-9_]+)\b")
        names = [re.search(r"(en_[A-Za-z0-9_]+)(\[| =)", d).group(1) for d in self.data]  # type: ignore[union-attr]
        used = set(sym.findall("\n".join(self.body)))
        for _ in range(3):  # body -> struct -> array: depth 2 is enough
            used |= {m for d, n in zip(self.data, names) if n in used for m in sym.findall(d.split("=", 1)[1])}
        return [d for d, n in zip(self.data, names) if n in used]

    def struct(self, ctype: str, name: str, fields: Sequence[object]) -> str:
        sym = f"en_{name}"
        self.data.append(f"static const {ctype} {sym} = {{{', '.join(str(f) for f in fields)}}};")
        return sym

    def dims(self, name: str, shape: Sequence[int]) -> str:
        return self.struct("en_dims", name, _nhwc(shape))

    # -------------------------------------------------------------- helpers

    def ptr(self, tensor: str) -> str:
        return f"EN_ARENA_PTR({self.plan.tensor_offsets[tensor]})"

    def scratch(self, step: Step) -> str:
        return f"((void *)(en_arena + {self.plan.scratch[step.index][0]}))"

    def call(self, expr: str) -> None:
        self.body.append(f"    st = {expr};")
        self.body.append("    if (st != EN_OK) {\n        return (int)st;\n    }")

    def requant_struct(self, name: str, x: Tensor, w: Tensor, y: Tensor, activation: str, fc: bool) -> str:
        """en_requant for a conv/depthwise/FC: per-channel along the output channel (y's last dim)."""
        assert x.quant and w.quant and y.quant
        cout = y.shape[-1]
        if fc and not w.quant.per_channel:
            m, s = requant.fc_quant(x.quant.scale[0], w.quant.scale[0], y.quant.scale[0])
            mults, shifts, per_channel = [m], [s], 0
        else:
            mults, shifts = requant.conv_quant(x.quant.scale[0], w.quant.scale, y.quant.scale[0])
            per_channel = 1 if w.quant.per_channel else 0
            if per_channel and len(mults) != cout:
                raise UnsupportedOpError(f"{len(mults)} weight scales for {cout} output channels",
                                         hint="per-channel quantization must be along the output channel")
        lo, hi = requant.activation_range(activation, y.quant.scale[0], y.quant.zero_point[0])
        msym = self.array(f"{name}_mult", "int32_t", mults)
        ssym = self.array(f"{name}_shift", "int32_t", shifts)
        return self.struct("en_requant", f"{name}_rq",
                           [x.quant.zero_point[0], y.quant.zero_point[0], msym, ssym, per_channel, lo, hi])

    def add_struct(self, name: str, in1: Tensor, in2: Tensor, out: Tensor, activation: str,
                   lut: bool = False) -> str:
        """en_add_quant; with ``lut`` also its 2 KB table of scaled input terms (``add_lut``),
        for the kernels that use one (the fused conv + ADD), else a NULL table."""
        assert in1.quant and in2.quant and out.quant
        a = requant.add_quant((in1.quant.scale[0], in1.quant.zero_point[0]),
                              (in2.quant.scale[0], in2.quant.zero_point[0]),
                              (out.quant.scale[0], out.quant.zero_point[0]), activation)
        table = self.array(f"{name}_add_lut", "int32_t", add_lut(a)) if lut else "NULL"
        return self.struct("en_add_quant", f"{name}_add",
                           [a.in1_zp, a.in2_zp, a.out_zp, a.in1_mult, a.in1_shift, a.in2_mult, a.in2_shift,
                            a.out_mult, a.out_shift, a.left_shift, a.act_min, a.act_max, table])

    # -------------------------------------------------------------- steps

    def step(self, s: Step) -> None:
        op = self.graph.ops[s.op_index]
        getattr(self, f"_{op.kind}")(s, op, f"l{s.index}")

    def _conv_common(self, s: Step, op: Op, name: str) -> tuple[str, str, str, str, str, str, Tensor, Tensor]:
        g = self.graph
        x, w = g.tensor(s.input), g.tensor(op.inputs[1])
        y = g.tensor(s.conv_output or op.outputs[0])
        bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] else ""
        depthwise = op.kind == "depthwise_conv2d"
        kh, kw = w.shape[1], w.shape[2]
        pt = _pad_before(x.shape[1], y.shape[1], kh, op.attrs["stride_h"], op.attrs.get("dilation_h", 1), op.attrs["padding"])
        pl = _pad_before(x.shape[2], y.shape[2], kw, op.attrs["stride_w"], op.attrs.get("dilation_w", 1), op.attrs["padding"])
        p = self.struct("en_conv_params", f"{name}_conv", [op.attrs["stride_h"], op.attrs["stride_w"],
                        op.attrs.get("dilation_h", 1), op.attrs.get("dilation_w", 1), pt, pl])
        q = self.requant_struct(name, x, w, y, op.attrs.get("activation", "none"), fc=False)
        if depthwise:
            wsym = self.array(f"{name}_filter", "int8_t", w.data)  # type: ignore[arg-type]
        else:
            wsym = self.array(f"{name}_filter", "int8_t", pack_conv_weights(np.asarray(w.data)))
        bsym = self.array(f"{name}_bias", "int32_t", g.tensor(bias).data) if bias else "NULL"  # type: ignore[arg-type]
        wd = self.dims(f"{name}_wdims", w.shape if not depthwise else (1, kh, kw, w.shape[3]))
        return p, q, wsym, bsym, wd, self.dims(f"{name}_in", x.shape), x, y

    def _pointwise_in_place(self, s: Step, p: str, q: str, wsym: str, bsym: str, wd: str, name: str,
                            in_shape: tuple[int, ...], cout: int) -> None:
        """In-place 1x1 conv. Up to CONV_IN_PLACE_MAX_CIN input channels one
        en_conv2d_packed_in_place_s8 call does it (the step's row scratch stays unused). Wider
        inputs run over the flat pixel list in chunks of P pixels (P * C_in <= the
        one-row scratch): save chunk k's input, then write its output over it. Output pixel i
        lies at byte i * C_out <= i * C_in (C_out <= C_in), so it only overwrites pixels
        already consumed. P is a multiple of 4, the kernel's pixel group, where the row allows,
        so no chunk but the last takes the kernel's slow one-pixel tail."""
        n, h, wdt, cin = in_shape
        ptr_in, ptr_out = self.ptr(s.input), self.ptr(s.output)
        if pointwise_in_place_one_call(cin, cout):
            # one call: the kernel holds each pixel group's input on its stack
            ind, outd = self.dims(f"{name}_io_in", in_shape), self.dims(f"{name}_io_out", (n, h, wdt, cout))
            self.call(f"en_conv2d_packed_in_place_s8(&{q}, &{ind}, {ptr_in}, &{wd}, {wsym}, {bsym}, &{outd})")
            return
        total = n * h * wdt
        chunk = wdt - wdt % 4 if wdt >= 4 else wdt
        full, rest = divmod(total, chunk)
        scratch = self.scratch(s)
        cin_d = self.dims(f"{name}_chunk_in", (1, 1, chunk, cin))
        cout_d = self.dims(f"{name}_chunk_out", (1, 1, chunk, cout))
        self.body.append(
            f"    for (int32_t k = 0; k < {full}; ++k) {{\n"
            f"        /* save input pixels [k * {chunk}, +{chunk}), then write their outputs over them */\n"
            f"        memcpy({scratch}, {ptr_in} + k * {chunk * cin}, {chunk * cin});\n"
            f"        st = en_conv2d_packed_s8(&{p}, &{q}, &{cin_d}, (const int8_t *){scratch}, &{wd}, {wsym}, {bsym}, &{cout_d}, {ptr_out} + k * {chunk * cout});\n"
            f"        if (st != EN_OK) {{\n            return (int)st;\n        }}\n    }}"
        )
        if rest:
            rin = self.dims(f"{name}_rest_in", (1, 1, rest, cin))
            rout = self.dims(f"{name}_rest_out", (1, 1, rest, cout))
            self.body.append(f"    memcpy({scratch}, {ptr_in} + {full * chunk * cin}, {rest * cin});")
            self.call(f"en_conv2d_packed_s8(&{p}, &{q}, &{rin}, (const int8_t *){scratch}, &{wd}, {wsym}, {bsym}, &{rout}, {ptr_out} + {full * chunk * cout})")

    def _conv2d(self, s: Step, op: Op, name: str) -> None:
        p, q, wsym, bsym, wd, ind, x, y = self._conv_common(s, op, name)
        outd = self.dims(f"{name}_out", y.shape)
        if s.residual is None and not s.banded:
            self.call(f"en_conv2d_packed_s8(&{p}, &{q}, &{ind}, {self.ptr(s.input)}, &{wd}, {wsym}, {bsym}, &{outd}, {self.ptr(s.output)})")
            return
        if s.residual is None:  # in-place pointwise conv, in chunks of pixels
            self._pointwise_in_place(s, p, q, wsym, bsym, wd, name, x.shape, y.shape[3])
            return
        g = self.graph
        add_op = g.ops[s.add_op_index]  # type: ignore[index]
        a = self.add_struct(name, y, g.tensor(s.residual), g.tensor(s.output), add_op.attrs.get("activation", "none"),
                            lut=not s.banded and add_lut_wanted(int(np.prod(y.shape))))
        if not s.banded:
            self.call(f"en_conv2d_add_packed_s8(&{p}, &{q}, &{a}, &{ind}, {self.ptr(s.input)}, &{wd}, {wsym}, {bsym}, "
                      f"{self.ptr(s.residual)}, &{outd}, {self.ptr(s.output)})")
            return
        # Banded fused ADD: conv output row r into the row scratch, then ADD it over skip row r.
        _, h, wdt, cin = x.shape
        _, oh, ow, cout = y.shape
        sh, dh, kh = op.attrs["stride_h"], op.attrs.get("dilation_h", 1), g.tensor(op.inputs[1]).shape[1]
        pt = _pad_before(h, oh, kh, sh, dh, op.attrs["padding"])
        rout = self.dims(f"{name}_row_out", (1, 1, ow, cout))
        row = ow * cout
        self.body.append(
            f"    for (int32_t r = 0; r < {oh}; ++r) {{\n"
            f"        /* input rows of output row r, clipped to the tensor; the clipped part is padding */\n"
            f"        const int32_t top = r * {sh} - {pt};\n"
            f"        const int32_t lo = top < 0 ? 0 : top;\n"
            f"        const int32_t last = top + {(kh - 1) * dh};\n"
            f"        const int32_t hi = last > {h - 1} ? {h - 1} : last;\n"
            f"        en_conv_params p = {p};\n"
            f"        const en_dims rin = {{1, hi - lo + 1, {wdt}, {cin}}};\n"
            f"        p.pad_top = lo - top;\n"
            f"        st = en_conv2d_packed_s8(&p, &{q}, &rin, {self.ptr(s.input)} + lo * {wdt * cin}, &{wd}, {wsym}, {bsym}, &{rout}, (int8_t *){self.scratch(s)});\n"
            f"        if (st != EN_OK) {{\n            return (int)st;\n        }}\n"
            f"        st = en_add_s8(&{a}, {row}, (const int8_t *){self.scratch(s)}, {self.ptr(s.residual)} + r * {row}, {self.ptr(s.output)} + r * {row});\n"
            f"        if (st != EN_OK) {{\n            return (int)st;\n        }}\n    }}"
        )

    def _depthwise_conv2d(self, s: Step, op: Op, name: str) -> None:
        p, q, wsym, bsym, wd, ind, _, y = self._conv_common(s, op, name)
        outd = self.dims(f"{name}_out", y.shape)
        scratch = self.scratch(s) if s.index in self.plan.scratch else "NULL"
        a, kh, kw = op.attrs, *self.graph.tensor(op.inputs[1]).shape[1:3]
        kernel = depthwise_entry((kh, kw), (a["stride_h"], a["stride_w"]), (a.get("dilation_h", 1), a.get("dilation_w", 1)),
                                 self.graph.tensor(s.input).shape, y.shape, s.in_place)
        self.call(f"{kernel}(&{p}, &{q}, &{ind}, {self.ptr(s.input)}, &{wd}, {wsym}, {bsym}, &{outd}, {self.ptr(s.output)}, {scratch})")

    def _fully_connected(self, s: Step, op: Op, name: str) -> None:
        g = self.graph
        x, w, y = g.tensor(s.input), g.tensor(op.inputs[1]), g.tensor(op.outputs[0])
        bias = op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] else ""
        cout, cin = w.shape
        batches = int(np.prod(x.shape)) // cin
        q = self.requant_struct(name, x, w, y, op.attrs.get("activation", "none"), fc=True)
        assert x.quant
        wdata = np.asarray(w.data)
        folded = fold_fc_bias(wdata, np.asarray(g.tensor(bias).data) if bias else None, x.quant.zero_point[0])
        wide = cout * cin <= self.fc_wide_max_weights
        wsym = self.array(f"{name}_weights", "int16_t" if wide else "int8_t",
                          pack_fc_wide(wdata) if wide else pack_fc_weights(wdata))
        bsym = self.array(f"{name}_bias", "int32_t", folded) if folded is not None else "NULL"
        entry = "en_fc_wide_s8" if wide else "en_fc_packed_s8"
        self.call(f"{entry}(&{q}, {batches}, {cin}, {self.ptr(s.input)}, {cout}, {wsym}, {bsym}, {self.ptr(s.output)})")

    def _add(self, s: Step, op: Op, name: str) -> None:
        g = self.graph
        acts = [t for t in op.inputs if t]
        x1, x2, y = g.tensor(acts[0]), g.tensor(acts[1]), g.tensor(op.outputs[0])
        if not (x1.shape == x2.shape == y.shape):
            raise UnsupportedOpError(f"op {s.op_index}: broadcasting ADD {x1.shape} + {x2.shape}",
                                     hint="the C runtime adds same-shape tensors only")
        a = self.add_struct(name, x1, x2, y, op.attrs.get("activation", "none"))
        self.call(f"en_add_s8(&{a}, {int(np.prod(y.shape))}, {self.ptr(acts[0])}, {self.ptr(acts[1])}, {self.ptr(s.output)})")

    def _avg_pool2d(self, s: Step, op: Op, name: str) -> None:
        g = self.graph
        x, y = g.tensor(s.input), g.tensor(op.outputs[0])
        at = op.attrs
        pt = _pad_before(x.shape[1], y.shape[1], at["filter_h"], at["stride_h"], 1, at["padding"])
        pl = _pad_before(x.shape[2], y.shape[2], at["filter_w"], at["stride_w"], 1, at["padding"])
        assert y.quant
        lo, hi = requant.activation_range(at.get("activation", "none"), y.quant.scale[0], y.quant.zero_point[0])
        p = self.struct("en_pool_params", f"{name}_pool", [at["filter_h"], at["filter_w"], at["stride_h"], at["stride_w"], pt, pl, lo, hi])
        ind, outd = self.dims(f"{name}_in", x.shape), self.dims(f"{name}_out", y.shape)
        self.call(f"en_avgpool2d_s8(&{p}, &{ind}, {self.ptr(s.input)}, &{outd}, {self.ptr(s.output)})")

    def _mean(self, s: Step, op: Op, name: str) -> None:
        g = self.graph
        x, y = g.tensor(s.input), g.tensor(op.outputs[0])
        if len(x.shape) != 4 or tuple(sorted(op.attrs["axes"])) != (1, 2):
            raise UnsupportedOpError(f"op {s.op_index}: MEAN over axes {op.attrs['axes']} of {x.shape}",
                                     hint="only the global spatial mean (axes 1, 2 of NHWC) is supported")
        assert x.quant and y.quant
        m, sh = requant.mean_quant(x.quant.scale[0], y.quant.scale[0])
        q = self.struct("en_mean_quant", f"{name}_mean", [x.quant.zero_point[0], y.quant.zero_point[0], m, sh])
        self.call(f"en_mean_s8(&{q}, &{self.dims(f'{name}_in', x.shape)}, {self.ptr(s.input)}, {self.ptr(s.output)})")

    def _softmax(self, s: Step, op: Op, name: str) -> None:
        x = self.graph.tensor(s.input)
        assert x.quant
        sp = requant.softmax_params(op.attrs.get("beta", 1.0), x.quant.scale[0])
        p = self.struct("en_softmax_params", f"{name}_softmax", [sp.input_mult, sp.input_left_shift, sp.diff_min])
        depth = x.shape[-1]
        rows = int(np.prod(x.shape)) // depth
        self.call(f"en_softmax_s8(&{p}, {rows}, {depth}, {self.ptr(s.input)}, {self.ptr(s.output)})")

    def _pad(self, s: Step, op: Op, name: str) -> None:
        g = self.graph
        x, y = g.tensor(s.input), g.tensor(op.outputs[0])
        pads = np.asarray(g.tensor(op.inputs[1]).data).reshape(-1, 2)
        if len(x.shape) != 4:
            raise UnsupportedOpError(f"op {s.op_index}: PAD of a rank-{len(x.shape)} tensor", hint="pad NHWC tensors only")
        assert y.quant
        before = "{" + ", ".join(str(int(v)) for v in pads[:, 0]) + "}"
        after = "{" + ", ".join(str(int(v)) for v in pads[:, 1]) + "}"
        p = self.struct("en_pad_params", f"{name}_pad", [before, after, y.quant.zero_point[0]])
        self.call(f"en_pad_s8(&{p}, &{self.dims(f'{name}_in', x.shape)}, {self.ptr(s.input)}, "
                  f"&{self.dims(f'{name}_out', y.shape)}, {self.ptr(s.output)})")


def pack_conv_weights(w: np.ndarray) -> np.ndarray:
    """OHWI int8 conv filters -> the int8 layout of ``en_conv2d_packed_s8`` (runtime_c kernels.h).

    One row per output channel: its KH*KW*C_in weights in OHWI order, zero-padded to a multiple
    of 4 so each row starts word-aligned for the DSP loop (4 weights per load, sign-extended
    in registers). When KH*KW*C_in % 4 == 0 this is the OHWI tensor itself: filters cost
    exactly their int8 bytes in flash.

    Returns:
        a flat int8 array of ``en_conv2d_packed_count(w_dims)`` values.
    """
    w = np.asarray(w)
    cout, kh, kw, cin = w.shape
    taps = kh * kw * cin
    taps4 = -(-taps // 4) * 4
    a = np.zeros((cout, taps4), np.int8)
    a[:, :taps] = w.reshape(cout, taps)
    return a.reshape(-1)


def pack_fc_weights(w: np.ndarray) -> np.ndarray:
    """int8 [C_out, C_in] FC weights -> the int8 layout of ``en_fc_packed_s8`` (kernels.h).

    Rows are zero-padded to L4 = C_in rounded up to a multiple of 4 and grouped: groups of 4
    rows, then the C_out % 4 rows left as a group of 2 and/or of 1 (3 = 2 + 1). Within a group
    of g rows the 4-byte chunks are interleaved by row (chunk k of row j at (k * g + j) * 4 from
    the group's start), so a kernel reads a group's weights for 4 inputs as 4 * g consecutive
    bytes. Costs C_out * L4 bytes: exactly the int8 weights when C_in % 4 == 0.

    Returns:
        a flat int8 array of ``en_fc_packed_count(C_in, C_out)`` values.
    """
    w = np.asarray(w)
    cout, cin = w.shape
    cin4 = -(-cin // 4) * 4
    rows = np.zeros((cout, cin4), np.int8)
    rows[:, :cin] = w
    sizes = [4] * (cout // 4) + [s for s in (2, 1) if cout % 4 & s]
    parts, r0 = [], 0
    for gsize in sizes:
        chunks = rows[r0 : r0 + gsize].reshape(gsize, cin4 // 4, 4)  # (row, chunk, byte)
        parts.append(chunks.transpose(1, 0, 2).reshape(-1))  # chunk-major: rows interleaved
        r0 += gsize
    return np.concatenate(parts)


def pack_fc_wide(w: np.ndarray) -> np.ndarray:
    """int8 [C_out, C_in] FC weights -> the int16 layout of ``en_fc_wide_s8`` (kernels.h): the
    packed layout (:func:`pack_fc_weights`) with values widened and each 4-input chunk's
    middle two swapped (inputs 0, 2, 1, 3: the lanes of the kernel's expanded input).

    Opt-in (``compile_graph(fc_wide_max_weights=N)``, ``edgenas compile --fc-wide N``): on the
    ARMv7E-M build a group of four rows then costs 11 instructions per 16 MACs instead of 18,
    for one more flash byte per weight. Not the default: a classifier head is a thousandth of a
    model's instructions, while flash binds the small-budget searches (the 32 and 64 KB picks
    fill their flash to within 4 KB)."""
    chunks = pack_fc_weights(w).astype(np.int16).reshape(-1, 4)
    return np.ascontiguousarray(chunks[:, [0, 2, 1, 3]]).reshape(-1)


ADD_LUT_BYTES = 512 * 4
"""Flash of one fused ADD's table (:func:`add_lut`)."""
ADD_LUT_MIN_ELEMENTS = 4096
"""Fewest elements a fused ADD needs to get its table: the 2 KB then cost at most half a byte of
flash per element, each about 40 instructions faster (ResNet-8's three ADDs, 4,096-16,384
elements: 17.07M -> 15.45M instructions on the M7). Smaller ADDs keep the flash and take the
exact per-element path: a flash-bound subnet gains more from 2 KB of weights."""


def add_lut_wanted(elements: int) -> bool:
    """Whether a fused ADD of ``elements`` outputs gets its table (codegen and the cost model
    both ask here, so estimated flash stays exact)."""
    return elements >= ADD_LUT_MIN_ELEMENTS


def add_lut(a: requant.AddQuant) -> np.ndarray:
    """The table ``en_add_quant.lut`` points at (runtime_c kernels.h): each ADD input's scaled
    term for every int8 value, exactly as TFLite computes it per element,
    a_k(x) = MultiplyByQuantizedMultiplier((x - in_k_zp) << left_shift, in_k_mult, in_k_shift),
    a_1 at [x + 128] and a_2 at [256 + x + 128] for x in [-128, 127]: 512 int32 (2 KB of
    flash). With it a kernel's ADD is two table loads, a sum and the output requantisation.
    """
    from .reference import _mbqm_pos

    x = np.arange(-128, 128, dtype=np.int64)
    t1 = _mbqm_pos((x - a.in1_zp) << a.left_shift, a.in1_mult, a.in1_shift)
    t2 = _mbqm_pos((x - a.in2_zp) << a.left_shift, a.in2_mult, a.in2_shift)
    return np.concatenate([t1, t2]).astype(np.int32)


def fold_fc_bias(w: np.ndarray, bias: np.ndarray | None, input_zp: int) -> np.ndarray | None:
    """The bias ``en_fc_packed_s8`` takes: bias[o] - input_zp * sum_i w[o, i], wrapped to int32.

    With the zero point folded in at compile time the kernel sums raw int8 products. The value is
    kept modulo 2^32 (the kernel adds modulo 2^32, and TFLite's own accumulator bound makes the
    final sum exact). Returns None (no bias array) when there is no bias and input_zp == 0.
    """
    if bias is None and input_zp == 0:
        return None
    b = np.zeros(w.shape[0], np.int64) if bias is None else np.asarray(bias, np.int64)
    folded = b - int(input_zp) * np.asarray(w, np.int64).sum(axis=1)
    return ((folded + 2**31) % 2**32 - 2**31).astype(np.int32)


def _c_float(v: float) -> str:
    """A C float literal that round-trips the float32 value (``1.0f``, ``0.00390625f``)."""
    return f"{float(np.float32(v))!r}f"


def _nhwc(shape: Sequence[int]) -> tuple[int, int, int, int]:
    """NHWC dims of an activation; rank-2 [N, C] maps to {N, 1, 1, C}."""
    if len(shape) == 4:
        return tuple(int(v) for v in shape)  # type: ignore[return-value]
    if len(shape) == 2:
        return int(shape[0]), 1, 1, int(shape[1])
    if len(shape) == 1:
        return 1, 1, 1, int(shape[0])
    if len(shape) == 3:
        return 1, int(shape[0]), int(shape[1]), int(shape[2])
    raise UnsupportedOpError(f"tensor of rank {len(shape)}", hint="use NHWC (rank 4) or [N, C] tensors")


STRIDED_TAPS = (16, 64)
"""Window sizes (taps) the runtime's strided depthwise entry point takes (kernels.h)."""


def strided_window(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> bool:
    """Whether a depthwise layer calls ``en_dwconv2d_strided_s8``: undilated, stride >= 2 on both
    axes, 16 to 64 taps. Chosen here, per layer, so firmware without such layers does not link
    that strategy; the kernel still checks the shape and falls back, so this only decides code
    size and speed, never results."""
    return (tuple(dilation) == (1, 1) and min(stride) >= 2
            and STRIDED_TAPS[0] <= kernel[0] * kernel[1] <= STRIDED_TAPS[1])


KX1_TAPS = (2, 4)
"""Kernel heights the runtime's Kx1 depthwise entry point takes (kernels.h)."""
KX1_LONG_TAPS = (5, 32)
"""Kernel heights its long-Kx1 entry point takes (kernels.h: row pairs)."""


def kx1_window(kernel: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> bool:
    """Whether a depthwise layer calls ``en_dwconv2d_kx1_s8``: an undilated K x 1 kernel with
    2 <= K <= 4 (audio models' short time kernels). Chosen here, per layer, so firmware without such
    layers does not link that strategy; the kernel still checks the call and falls back, so this
    only decides code size and speed, never results."""
    return _kx1_taps_in(kernel, dilation, KX1_TAPS)


def kx1_long_window(kernel: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> bool:
    """Whether a depthwise layer calls ``en_dwconv2d_kx1_long_s8``: an undilated K x 1 kernel
    with 5 <= K <= 32, whose strategy (two taps per multiply) costs code that short kernels
    need not link."""
    return _kx1_taps_in(kernel, dilation, KX1_LONG_TAPS)


def _kx1_taps_in(kernel: tuple[int, int], dilation: tuple[int, int], taps: tuple[int, int]) -> bool:
    """An undilated K x 1 kernel with K in the inclusive range ``taps``."""
    return tuple(dilation) == (1, 1) and kernel[1] == 1 and taps[0] <= kernel[0] <= taps[1]


DW3X3_CHANNELS = 4
"""The runtime's 3x3 depthwise entry point takes channel counts that are multiples of this."""
DW3X3_WIDTH = (8, 128)
"""Row lengths (pixels) the 3x3 entry point runs: image rows of this width, or else image
columns (a transposed view, e.g. DS-CNN's 25x5 maps as 5 rows of 25); the runtime's stack rows
hold at most 128 pixels (kernels.h)."""


def dw3x3_window(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int] = (1, 1),
                 in_shape: tuple[int, ...] | None = None, out_shape: tuple[int, ...] | None = None,
                 in_place: bool = False) -> bool:
    """Whether a depthwise layer calls ``en_dwconv2d_3x3_s8``: undilated 3x3 at stride 1x1 or
    2x2, input [N, H, W, C] with C a multiple of 4, and rows of 8 to 128 pixels (else columns of
    8 to 128 with rows narrower than 8). In place, rows need an output no larger than the input
    and columns one of the same size. Mirrors the arm kernel's d3_plan, so the layers sent here
    are the ones it runs. Chosen here, per layer, so firmware without such layers does not link
    that strategy. Without shapes (a shape-free query) no layer qualifies."""
    if in_shape is None or out_shape is None or len(in_shape) != 4 or len(out_shape) != 4:
        return False
    h, w, c = (int(v) for v in in_shape[1:])
    oh, ow = int(out_shape[1]), int(out_shape[2])
    s = tuple(stride)
    if tuple(dilation) != (1, 1) or tuple(kernel) != (3, 3) or s not in ((1, 1), (2, 2)) or c % DW3X3_CHANNELS:
        return False
    lo, hi = DW3X3_WIDTH
    if lo <= w <= hi:
        return not in_place or (oh <= h and ow <= w)
    return w < lo and lo <= h <= hi and (not in_place or (oh == h and ow == w))


def depthwise_entry(kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int] = (1, 1),
                    in_shape: tuple[int, ...] | None = None, out_shape: tuple[int, ...] | None = None,
                    in_place: bool = False) -> str:
    """The runtime function a depthwise layer calls (one of five with the same contract);
    the shapes (NHWC) and whether it runs in place let 3x3 layers take their own entry point
    (:func:`dw3x3_window`)."""
    if kx1_window(kernel, dilation):
        return "en_dwconv2d_kx1_s8"
    if kx1_long_window(kernel, dilation):
        return "en_dwconv2d_kx1_long_s8"
    if strided_window(kernel, stride, dilation):
        return "en_dwconv2d_strided_s8"
    if dw3x3_window(kernel, stride, dilation, in_shape, out_shape, in_place):
        return "en_dwconv2d_3x3_s8"
    return "en_dwconv2d_s8"


def _pad_before(in_size: int, out_size: int, k: int, stride: int, dilation: int, padding: str) -> int:
    """TFLite's leading padding: half the total (rounded down) for SAME, 0 for VALID."""
    if padding == "valid":
        return 0
    eff_k = (k - 1) * dilation + 1
    total = (out_size - 1) * stride + eff_k - in_size
    return max(total // 2, 0)


def generate(graph: Graph, plan: MemoryPlan, *, fc_wide_max_weights: int = 0) -> GeneratedModel:
    """C sources for ``graph`` laid out by ``plan`` (see the module docstring).

    ``fc_wide_max_weights``: FC layers with at most this many weights store them as int16
    (:func:`pack_fc_wide`); 0, the default, keeps every layer int8.

    Raises:
        UnsupportedOpError: more than one input/output, or a non-int8 interface.
    """
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedOpError(
            f"graph {graph.name!r} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs",
            hint="the C model interface takes exactly one int8 input and returns one int8 output",
        )
    tin, tout = graph.tensor(graph.inputs[0]), graph.tensor(graph.outputs[0])
    for t in (tin, tout):
        if t.dtype != "int8" or t.quant is None:
            raise UnsupportedOpError(f"model interface tensor {t.name!r} is {t.dtype}", hint="export an int8 model")
    em = _Emitter(graph, plan, fc_wide_max_weights)
    layers = []
    for s in plan.schedule.steps:
        op = graph.ops[s.op_index]
        em.body.append(f"    /* layer {s.index}: {op.kind}{' + add (fused)' if s.residual else ''}"
                       f"{' in place' if s.in_place else ''}{' banded' if s.banded else ''}: {_comment(op.name)} */")
        em.step(s)
        em.body.append(f"    en_profile_mark({s.index});")
        layers.append({
            "index": s.index,
            "kind": op.kind,
            "op": op.name,
            "fused_add": graph.ops[s.add_op_index].name if s.add_op_index is not None else None,
            "in_place": s.in_place,
            "banded": s.banded,
            "output": s.output,
        })
    name = _c_ident(graph.name)
    in_bytes, out_bytes = tin.nbytes, tout.nbytes
    assert tin.quant and tout.quant
    header = f"""/* Generated by {GENERATOR_VERSION}. Do not edit.
 * graph: {_comment(graph.name)}
 * arena: {plan.arena_bytes} bytes (lower bound {plan.lower_bound_bytes}), flash (en_w_* data): {em.flash_bytes} bytes
 */
#ifndef EN_MODEL_H
#define EN_MODEL_H

#include <stdint.h>

#define EN_GENERATOR_VERSION "{GENERATOR_VERSION}"
#define EN_MODEL_NAME "{name}"
#define EN_ARENA_BYTES {plan.arena_bytes}
#define EN_ARENA_LOWER_BOUND_BYTES {plan.lower_bound_bytes}
#define EN_MODEL_FLASH_BYTES {em.flash_bytes}
#define EN_MODEL_INPUT_BYTES {in_bytes}
#define EN_MODEL_OUTPUT_BYTES {out_bytes}
#define EN_MODEL_NUM_LAYERS {len(plan.schedule.steps)}
#define EN_MODEL_INPUT_SCALE {_c_float(tin.quant.scale[0])}
#define EN_MODEL_INPUT_ZERO_POINT {tin.quant.zero_point[0]}
#define EN_MODEL_OUTPUT_SCALE {_c_float(tout.quant.scale[0])}
#define EN_MODEL_OUTPUT_ZERO_POINT {tout.quant.zero_point[0]}

/** The activation arena (every tensor and scratch buffer, laid out at compile time). */
extern uint8_t en_arena[EN_ARENA_BYTES];

/** Run the model: `in` holds EN_MODEL_INPUT_BYTES int8 values (NHWC), `out` receives
 *  EN_MODEL_OUTPUT_BYTES. Returns 0 (EN_OK) or the failing kernel's negative en_status. */
int en_model_invoke(const int8_t *in, int8_t *out);

#endif /* EN_MODEL_H */
"""
    source = "\n".join([
        f"/* Generated by {GENERATOR_VERSION}. Do not edit.",
        f" * graph: {_comment(graph.name)}",
        f" * arena: {plan.arena_bytes} bytes, flash (en_w_* data): {em.flash_bytes} bytes, layers: {len(plan.schedule.steps)}",
        " * decisions:",
        *[f" *   {_comment(d)}" for d in plan.decisions],
        " */",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "#include <string.h>",
        "",
        '#include "edgenas/kernels.h"',
        '#include "edgenas/profile.h"',
        '#include "model.h"',
        "",
        "#if defined(__GNUC__) || defined(__clang__)",
        "#define EN_ALIGN4 __attribute__((aligned(4)))",
        "#define EN_ALIGN8 __attribute__((aligned(8)))",
        "#else",
        "#define EN_ALIGN4",
        "#define EN_ALIGN8",
        "#endif",
        "",
        f"/* Offsets below are multiples of {plan.alignment}; the arena is 8-byte aligned. */",
        "uint8_t en_arena[EN_ARENA_BYTES] EN_ALIGN8;",
        "#define EN_ARENA_PTR(off) ((int8_t *)(en_arena + (off)))",
        "",
        *em.used_data(),
        "",
        "int en_model_invoke(const int8_t *in, int8_t *out) {",
        "    en_status st;",
        f"    memcpy(EN_ARENA_PTR({plan.tensor_offsets[tin.name]}), in, EN_MODEL_INPUT_BYTES);",
        "    en_profile_begin();",
        *em.body,
        f"    memcpy(out, EN_ARENA_PTR({plan.tensor_offsets[tout.name]}), EN_MODEL_OUTPUT_BYTES);",
        "    (void)st;",
        "    return (int)EN_OK;",
        "}",
        "",
    ])
    return GeneratedModel(model_c=source, model_h=header, flash_bytes=em.flash_bytes, layers=layers)
