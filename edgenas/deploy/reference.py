"""A numpy interpreter for the graph IR that is bit-exact with TFLite Micro's int8 kernels.

This is the Python ground truth of the project: the C kernels, codegen and quantized accuracy
evaluation are all checked against it. Every op follows the integer arithmetic of TFLM's
reference kernels (``tensorflow/lite/kernels/internal/reference/integer_ops``): double-rounding
``MultiplyByQuantizedMultiplier`` (gemmlowp ``SaturatingRoundingDoublingHighMul`` then
``RoundingDivideByPOT``), gemmlowp fixed-point ``exp``/reciprocal for softmax, and C
truncating division where TFLM uses it. Floating point appears only where TFLM's Prepare uses
it (multipliers from scales, activation bounds), with the same float/double precision; those
Prepare-time parameters come from ``requant.py``, shared with the C code generator.

Speed: convolutions and FC are BLAS matmuls in floating point. That is exact, not a float
shortcut: every product of an int8 weight and a zero-point-shifted int8 input is at most
128 * 255 < 2**15 in magnitude, so any partial sum of K products is an integer below
K * 2**15; float32 holds it exactly while that is below 2**24 (one im2col matmul for
K <= 513), float64 for K < 2**38 (per-tap accumulation otherwise). Requantisation is int64.
Inputs are batched ``(N, H, W, C)``; the graph itself has batch 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import ModelFormatError
from .ir import Graph, Op, QuantParams, Tensor
from .requant import ADD_LEFT_SHIFT, activation_range, add_quant, conv_quant, mean_quant, softmax_params

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1

Array = np.ndarray
Kernel = Callable[[list[Array]], Array]


# --- fixed-point primitives (vectorised over int64 arrays holding int32 values) --------------


def _wrap32(x: Array) -> Array:
    """Two's-complement wrap to int32, as int32 arithmetic does on every TFLM target."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _srdhm(a: Array, b: Array | int) -> Array:
    """gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2**31), ties away from zero."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    ab = a * b
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    q = np.where(v >= 0, v >> 31, -((-v) >> 31))  # C division truncates toward zero
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, q)


def _rdbpot(x: Array, exponent: Array | int) -> Array:
    """gemmlowp RoundingDivideByPOT: x / 2**exponent rounded to nearest, ties away from zero."""
    x = np.asarray(x, dtype=np.int64)
    e = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << e) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> e) + ((x & mask) > threshold)


def _sat_mul_pot(x: Array, exponent: int) -> Array:
    """gemmlowp SaturatingRoundingMultiplyByPOT for a compile-time exponent."""
    if exponent == 0:
        return np.asarray(x, dtype=np.int64)
    if exponent < 0:
        return _rdbpot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    r = _wrap32(np.asarray(x, dtype=np.int64) << exponent)
    r = np.where(x > threshold, INT32_MAX, r)
    return np.where(x < -threshold, INT32_MIN, r)


def _mbqm(x: Array, multiplier: Array | int, shift: Array | int) -> Array:
    """TFLite MultiplyByQuantizedMultiplier (int32 input, double rounding)."""
    shift = np.asarray(shift, dtype=np.int64)
    left = np.maximum(shift, 0)
    right = np.maximum(-shift, 0)
    return _rdbpot(_srdhm(_wrap32(np.asarray(x, dtype=np.int64) << left), multiplier), right)


def _scale(q: QuantParams | None, what: str) -> tuple[float, int]:
    if q is None:
        raise ModelFormatError(f"tensor {what!r} has no quantisation", hint="every int8 activation needs scale/zero point")
    return q.scale[0], q.zero_point[0]


def _activation_range(act: str, out: Tensor) -> tuple[int, int]:
    scale, zp = _scale(out.quant, out.name)
    return activation_range(act, scale, zp)


def _per_channel_multipliers(x: Tensor, w: Tensor, out: Tensor, channels: int) -> tuple[Array, Array]:
    """Per-output-channel (multiplier, shift), as TFLM's conv / per-channel FC Prepare."""
    s_in, _ = _scale(x.quant, x.name)
    s_out, _ = _scale(out.quant, out.name)
    assert w.quant is not None
    scales = w.quant.scale if w.quant.per_channel else w.quant.scale * channels
    mults, shifts = conv_quant(s_in, scales, s_out)
    return np.array(mults, dtype=np.int64), np.array(shifts, dtype=np.int64)


def _out_size(size: int, k: int, stride: int, dilation: int, padding: str) -> tuple[int, int]:
    """(output size, leading pad) as TFLite's ComputePaddingHeightWidth."""
    eff = (k - 1) * dilation + 1
    out = (size + stride - 1) // stride if padding == "same" else (size - eff + stride) // stride
    pad = max(0, ((out - 1) * stride + eff - size) // 2)
    return out, pad


def _windows(x: Array, kh: int, kw: int, attrs: dict, fill: int | float) -> tuple[Array, int, int]:
    """Pad ``x`` (N,H,W,C) so that every window position reads in range; returns (xp, OH, OW)."""
    n, h, w, c = x.shape
    sh, sw = attrs["stride_h"], attrs["stride_w"]
    dh, dw = attrs.get("dilation_h", 1), attrs.get("dilation_w", 1)
    oh, pt = _out_size(h, kh, sh, dh, attrs["padding"])
    ow, pl = _out_size(w, kw, sw, dw, attrs["padding"])
    need_h = (oh - 1) * sh + (kh - 1) * dh + 1
    need_w = (ow - 1) * sw + (kw - 1) * dw + 1
    xp = np.full((n, max(need_h, pt + h), max(need_w, pl + w), c), fill, dtype=x.dtype)
    xp[:, pt : pt + h, pl : pl + w, :] = x
    return xp, oh, ow


def _tap(xp: Array, i: int, j: int, oh: int, ow: int, attrs: dict) -> Array:
    """The (N, OH, OW, C) slice that kernel tap (i, j) reads."""
    sh, sw = attrs["stride_h"], attrs["stride_w"]
    r0, c0 = i * attrs.get("dilation_h", 1), j * attrs.get("dilation_w", 1)
    return xp[:, r0 : r0 + (oh - 1) * sh + 1 : sh, c0 : c0 + (ow - 1) * sw + 1 : sw, :]


def _mbqm_pos(x: Array, mult: Array | int, shift: Array | int) -> Array:
    """``_mbqm`` for a positive multiplier (every requantisation), computed in place.

    Same arithmetic (SRDHM nudge and truncation, then RoundingDivideByPOT); with M > 0 the
    SRDHM saturation case cannot occur. This is the hot path of conv, FC and ADD.
    """
    shift = np.asarray(shift, dtype=np.int64)
    x = np.array(x, dtype=np.int64)  # a private copy we may overwrite
    left = np.maximum(shift, 0)
    if left.any():
        x = _wrap32(x << left)
    x *= mult  # |x * M| < 2**62
    neg = x < 0
    np.abs(x, out=x)
    x += 1 << 30  # nudge +2**30, or -(2**30 - 1) for negative products ...
    x -= neg
    x >>= 31  # ... then truncating division by 2**31
    np.negative(x, out=x, where=neg)
    right = np.maximum(-shift, 0)
    if right.any():
        mask = (np.int64(1) << right) - 1
        rem = x & mask
        threshold = (mask >> 1) + (x < 0)
        x >>= right
        x += rem > threshold
    return x


def _requantize(acc: Array, mult: Array, shift: Array, out_zp: int, lo: int, hi: int) -> Array:
    """int32 accumulator -> int8: MultiplyByQuantizedMultiplier, + output zero point, clamp."""
    y = _mbqm_pos(_wrap32(acc), mult, shift)
    y += out_zp
    np.clip(y, lo, hi, out=y)
    return y.astype(np.int8)


# --- kernels ---------------------------------------------------------------------------------


# What numpy raises when a graph's shapes or attributes do not fit together; reported as the
# graph's fault (ModelFormatError), never as a bare numpy error.
_GRAPH_FAULTS = (ValueError, IndexError, KeyError, ZeroDivisionError, OverflowError)
_LIE_HINT = "the graph's shapes or attributes contradict each other; read models with read_tflite, which checks them"


class _Prepared:
    """Per-op constants computed once (TFLM's Prepare), then an Eval over batched arrays."""

    def __init__(self, graph: Graph, op: Op, index: int) -> None:
        self.graph, self.op = graph, op
        self.where = f"op {index} ({op.name or op.kind})"
        self.ins = [graph.tensor(n) if n else None for n in op.inputs]
        self.out = graph.tensor(op.outputs[0])
        prepare = getattr(self, "_prepare_" + op.kind, None)
        if prepare is None:
            raise ModelFormatError(f"{self.where}: the reference interpreter has no kernel for {op.kind!r}")
        try:
            self.eval: Kernel = prepare()
        except _GRAPH_FAULTS as e:
            raise ModelFormatError(f"{self.where}: cannot prepare: {e}", hint=_LIE_HINT) from e

    def run(self, args: list[Array], n: int) -> Array:
        """Eval on a batch of ``n``; the result must have the shape the graph declares.

        Raises:
            ModelFormatError: the op's attributes or tensors do not fit together (the graph was not
                read by the importer, which checks them), so the kernel fails or computes another shape.
        """
        try:
            y = self.eval(args)
        except _GRAPH_FAULTS as e:
            raise ModelFormatError(f"{self.where}: {e} (output {self.out.name!r} declared {self.out.shape})",
                                   hint=_LIE_HINT) from e
        want = (n, *self.out.shape[1:])
        if y.shape != want:
            raise ModelFormatError(f"{self.where} computes shape {(1, *y.shape[1:])} but its output "
                                   f"{self.out.name!r} is declared {self.out.shape}", hint=_LIE_HINT)
        return y

    def _x(self, i: int = 0) -> Tensor:
        t = self.ins[i]
        if t is None:
            raise ModelFormatError(f"{self.where}: input {i} is missing")
        return t

    def _bias(self, i: int, channels: int) -> Array:
        if len(self.ins) > i and self.ins[i] is not None:
            return np.asarray(self.ins[i].data, dtype=np.int64)  # type: ignore[union-attr]
        return np.zeros(channels, dtype=np.int64)

    def _prepare_conv2d(self) -> Kernel:
        x, w = self._x(0), self._x(1)
        a = self.op.attrs
        cout, kh, kw, _ = w.shape
        bias = self._bias(2, cout)
        mult, shift = _per_channel_multipliers(x, w, self.out, cout)
        _, in_zp = _scale(x.quant, x.name)
        _, out_zp = _scale(self.out.quant, self.out.name)
        lo, hi = _activation_range(a.get("activation", "none"), self.out)
        # TFLM's per-channel conv ignores the filter zero point (symmetric weights).
        taps = np.asarray(w.data, dtype=np.float64).transpose(1, 2, 3, 0)  # (KH, KW, Cin, Cout)

        k_total = kh * kw * w.shape[3]
        # float32 holds every partial sum exactly while K * 128 * max|x - zp| < 2**24; one
        # im2col matmul is then fastest. Deeper kernels accumulate per tap in float64.
        im2col = k_total * 128 * max(127 - in_zp, in_zp + 128) < (1 << 24)
        dtype = np.float32 if im2col else np.float64
        flat = taps.reshape(k_total, cout).astype(dtype)

        def run(args: list[Array]) -> Array:
            # Out-of-image taps contribute 0 to sum(w * (x - zp)): pad the shifted input with 0.
            xp, oh, ow = _windows(args[0].astype(dtype) - dtype(in_zp), kh, kw, a, 0.0)
            if im2col:
                cols = np.concatenate([_tap(xp, i, j, oh, ow, a) for i in range(kh) for j in range(kw)], axis=-1)
                acc = cols @ flat
            else:
                acc = np.zeros((xp.shape[0], oh, ow, cout), dtype=np.float64)
                for i in range(kh):
                    for j in range(kw):
                        acc += _tap(xp, i, j, oh, ow, a) @ taps[i, j]
            return _requantize(acc.astype(np.int64) + bias, mult, shift, out_zp, lo, hi)

        return run

    def _prepare_depthwise_conv2d(self) -> Kernel:
        x, w = self._x(0), self._x(1)
        a = self.op.attrs
        _, kh, kw, c = w.shape
        bias = self._bias(2, c)
        mult, shift = _per_channel_multipliers(x, w, self.out, c)
        _, in_zp = _scale(x.quant, x.name)
        _, out_zp = _scale(self.out.quant, self.out.name)
        lo, hi = _activation_range(a.get("activation", "none"), self.out)
        taps = np.asarray(w.data, dtype=np.int64)[0]  # (KH, KW, C)

        def run(args: list[Array]) -> Array:
            # |acc| <= KH*KW*255*128 fits int64 trivially (and int32 for any kernel <= 255x255).
            xp, oh, ow = _windows(args[0].astype(np.int64) - in_zp, kh, kw, a, 0)
            acc = np.zeros((xp.shape[0], oh, ow, c), dtype=np.int64)
            for i in range(kh):
                for j in range(kw):
                    acc += _tap(xp, i, j, oh, ow, a) * taps[i, j]
            return _requantize(acc + bias, mult, shift, out_zp, lo, hi)

        return run

    def _prepare_fully_connected(self) -> Kernel:
        x, w = self._x(0), self._x(1)
        cout, depth = w.shape
        bias = self._bias(2, cout)
        _, in_zp = _scale(x.quant, x.name)
        _, out_zp = _scale(self.out.quant, self.out.name)
        assert w.quant is not None
        # double(in) * double(w) / double(out) for per-tensor weights too, as requant.fc_quant:
        # see test_per_tensor_fc_multiplier_uses_double_scale_product.
        mult, shift = _per_channel_multipliers(x, w, self.out, cout)
        # Per-tensor FC applies the filter offset (legacy); per-channel assumes symmetric weights.
        w_zp = 0 if w.quant.per_channel else w.quant.zero_point[0]
        lo, hi = _activation_range(self.op.attrs.get("activation", "none"), self.out)
        wt = (np.asarray(w.data, dtype=np.float64) - w_zp).T  # (depth, Cout)
        out_tail = self.out.shape[1:]

        def run(args: list[Array]) -> Array:
            n = args[0].shape[0]
            rows = args[0].reshape(-1, depth).astype(np.float64) - in_zp
            acc = (rows @ wt).astype(np.int64) + bias
            return _requantize(acc, mult, shift, out_zp, lo, hi).reshape((n, *out_tail))

        return run

    def _prepare_add(self) -> Kernel:
        x1, x2 = self._x(0), self._x(1)
        p = add_quant(_scale(x1.quant, x1.name), _scale(x2.quant, x2.name), _scale(self.out.quant, self.out.name),
                      self.op.attrs.get("activation", "none"))

        def run(args: list[Array]) -> Array:
            # Both inputs go to a common scale with 20 bits of headroom, are summed, then rescaled.
            a = _mbqm_pos((args[0].astype(np.int64) - p.in1_zp) << ADD_LEFT_SHIFT, p.in1_mult, p.in1_shift)
            a += _mbqm_pos((args[1].astype(np.int64) - p.in2_zp) << ADD_LEFT_SHIFT, p.in2_mult, p.in2_shift)
            return _requantize(a, p.out_mult, p.out_shift, p.out_zp, p.act_min, p.act_max)

        return run

    def _prepare_avg_pool2d(self) -> Kernel:
        a = self.op.attrs
        kh, kw = a["filter_h"], a["filter_w"]
        lo, hi = _activation_range(a.get("activation", "none"), self.out)

        def run(args: list[Array]) -> Array:
            x = args[0].astype(np.int64)
            xp, oh, ow = _windows(x, kh, kw, a, 0)
            inside, _, _ = _windows(np.ones((1, *x.shape[1:3], 1), dtype=np.int64), kh, kw, a, 0)
            acc = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=np.int64)
            count = np.zeros((1, oh, ow, 1), dtype=np.int64)
            for i in range(kh):
                for j in range(kw):
                    acc += _tap(xp, i, j, oh, ow, a)
                    count += _tap(inside, i, j, oh, ow, a)
            if (count == 0).any():
                raise ModelFormatError(f"{self.where}: a pooling window lies entirely in padding")
            half = count // 2
            # C: acc > 0 ? (acc + n/2) / n : (acc - n/2) / n, with truncating division.
            avg = np.where(acc > 0, (acc + half) // count, -((-acc + half) // count))
            return np.clip(avg, lo, hi).astype(np.int8)

        return run

    def _prepare_mean(self) -> Kernel:
        x = self._x(0)
        axes = tuple(int(v) for v in self.op.attrs["axes"])
        keep = bool(self.op.attrs.get("keep_dims", False))
        s_in, z_in = _scale(x.quant, x.name)
        s_out, z_out = _scale(self.out.quant, self.out.name)
        count = int(np.prod([x.shape[ax] for ax in axes], dtype=np.int64)) if axes else 1
        mult, shift = mean_quant(s_in, s_out)
        # TFLM (2026) takes QuantizedMeanOrSum for every int8 MEAN, even when input and output
        # quantisation match (older releases truncated sum/count there; the tests pin this).
        if count > 0:
            # 1/count is folded into the multiplier, keeping as many bits as fit.
            k = min(count.bit_length() - 1, 32, 31 + shift)
            mult = int(((mult << k) if k >= 0 else (mult >> -k)) // count)
            shift -= k

        def run(args: list[Array]) -> Array:
            n = args[0].shape[0]
            if 0 in axes and n != 1:
                raise ModelFormatError(f"{self.where}: MEAN over the batch axis needs batch size 1")
            total = args[0].astype(np.int64).sum(axis=axes, keepdims=keep)
            y = np.clip(_mbqm(_wrap32(total - z_in * count), mult, shift) + z_out, -128, 127)
            return y.astype(np.int8).reshape((n, *self.out.shape[1:]))

        return run

    def _prepare_reshape(self) -> Kernel:
        new_shape = tuple(int(d) for d in self.op.attrs.get("new_shape", self.out.shape))

        def run(args: list[Array]) -> Array:
            n = args[0].shape[0]
            if n == 1:
                return args[0].reshape(new_shape)
            if new_shape[:1] != (1,):
                raise ModelFormatError(f"{self.where}: reshape to {new_shape} cannot carry a batch of {n}")
            return args[0].reshape((n, *new_shape[1:]))

        return run

    def _prepare_pad(self) -> Kernel:
        pads = np.asarray(self._x(1).data, dtype=np.int64)
        _, out_zp = _scale(self.out.quant, self.out.name)

        def run(args: list[Array]) -> Array:
            return np.pad(args[0], [tuple(int(v) for v in p) for p in pads], constant_values=out_zp)

        return run

    def _prepare_softmax(self) -> Kernel:
        x = self._x(0)
        s_in, _ = _scale(x.quant, x.name)
        p = softmax_params(float(self.op.attrs.get("beta", 1.0)), s_in)  # exp input is Q5.26
        mult, left_shift, diff_min = p.input_mult, p.input_left_shift, p.diff_min

        def run(args: list[Array]) -> Array:
            v = args[0].astype(np.int64)
            diff = v - v.max(axis=-1, keepdims=True)
            valid = diff >= diff_min
            scaled = _srdhm(_wrap32(np.where(valid, diff, 0) << left_shift), mult)  # Q5.26
            exps = _exp_on_negative_values(scaled)  # Q0.31
            total = np.where(valid, _rdbpot(exps, 12), 0).sum(axis=-1, keepdims=True)  # Q12.19
            recip, bits_over_unit = _reciprocal(total, 12)
            y = _rdbpot(_srdhm(recip, exps), bits_over_unit + 31 - 8) - 128
            return np.where(valid, np.clip(y, -128, 127), -128).astype(np.int8)

        return run


def _exp_on_negative_values(a: Array) -> Array:
    """gemmlowp exp_on_negative_values for a Q5.26 input <= 0; returns Q0.31."""
    frac_bits = 26
    quarter = 1 << (frac_bits - 2)
    a_mod = (a & (quarter - 1)) - quarter
    result = _exp_quarter_interval(_sat_mul_pot(a_mod, 5))
    remainder = _wrap32(a_mod - a)
    for exponent, multiplier in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                                 (2, 39332535), (3, 720401), (4, 242)):  # exp(-2**exponent) in Q0.31
        bit = (remainder & (1 << (frac_bits + exponent))) != 0
        result = np.where(bit, _srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def _exp_quarter_interval(a: Array) -> Array:
    """exp(a) for a in [-1/4, 0) (Q0.31): Taylor series around -1/8."""
    constant_term = 1895147668  # exp(-1/8)
    one_third = 715827883
    x = _wrap32(a + (1 << 28))
    x2 = _srdhm(x, x)
    x3 = _srdhm(x2, x)
    x4 = _srdhm(x2, x2)
    poly = _rdbpot(_wrap32(_srdhm(_wrap32(_rdbpot(x4, 2) + x3), one_third) + x2), 1)
    return _wrap32(constant_term + _srdhm(constant_term, _wrap32(x + poly)))


def _reciprocal(x: Array, integer_bits: int) -> tuple[Array, Array]:
    """TFLite GetReciprocal: (Q0.31 of 1/x scaled into [0.5, 1), num_bits_over_unit)."""
    _, bit_length = np.frexp(x.astype(np.float64))  # exact for x < 2**53
    headroom_plus_one = 32 - bit_length.astype(np.int64)
    shifted_minus_one = _wrap32(((x << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    return _one_over_one_plus_x(shifted_minus_one), integer_bits - headroom_plus_one


def _one_over_one_plus_x(a: Array) -> Array:
    """gemmlowp one_over_one_plus_x_for_x_in_0_1 (Q0.31 in and out): Newton-Raphson, 3 steps."""
    s = a + INT32_MAX
    half_denominator = np.where(s >= 0, (s + 1) // 2, -((-(s - 1)) // 2))  # RoundingHalfSum
    one_q2 = 1 << 29
    x = _wrap32(1515870810 + _srdhm(half_denominator, -1010580540))  # 48/17 - 32/17 * d, Q2.29
    for _ in range(3):
        err = _wrap32(one_q2 - _srdhm(half_denominator, x))
        x = _wrap32(x + _sat_mul_pot(_srdhm(x, err), 2))
    return _sat_mul_pot(x, 1)


# --- the interpreter -------------------------------------------------------------------------


class ReferenceInterpreter:
    """Prepare a graph once, then run batches through it.

    Example:
        >>> interp = ReferenceInterpreter(graph)
        >>> logits = interp.run(images)          # (N, H, W, C) int8 -> (N, classes) int8
    """

    def __init__(self, graph: Graph) -> None:
        graph.validate()
        if len(graph.inputs) != 1 or len(graph.outputs) != 1:
            raise ModelFormatError(
                f"graph {graph.name!r} has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs",
                hint="the reference interpreter runs single-input, single-output graphs",
            )
        self.graph = graph
        self.input = graph.tensor(graph.inputs[0])
        if self.input.dtype != "int8":
            raise ModelFormatError(f"graph input {self.input.name!r} is {self.input.dtype}, expected int8")
        out = graph.tensor(graph.outputs[0])
        if out.is_const:
            raise ModelFormatError(f"graph output {out.name!r} is a constant, not computed by any op",
                                   hint="the model's output must be produced by its last op")
        for t in (self.input, *(graph.tensor(op.outputs[0]) for op in graph.ops)):
            if not t.shape or t.shape[0] != 1:
                raise ModelFormatError(
                    f"tensor {t.name!r} has shape {t.shape}; the reference interpreter runs batch-1 graphs",
                    hint="export the model with batch size 1 (every activation's first dimension 1)",
                )
        self.kernels = [_Prepared(graph, op, i) for i, op in enumerate(graph.ops)]
        users = graph.consumers()
        self._last_use = {name: max(idx) for name, idx in users.items()}

    def run(self, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
        """Run int8 input ``x`` of shape ``(N, *input_shape[1:])`` (or exactly the input shape).

        Returns:
            int8 output of shape ``(N, *output_shape[1:])``.
        Raises:
            ModelFormatError: ``x`` has the wrong dtype or shape.
        """
        x = np.asarray(x)
        want = tuple(self.input.shape)
        if x.dtype != np.int8 or x.shape[1:] != want[1:] or x.ndim != len(want):
            raise ModelFormatError(
                f"input must be int8 of shape (N, {', '.join(map(str, want[1:]))}), got {x.dtype} {x.shape}",
                hint="quantise images with the input tensor's scale and zero point first",
            )
        if x.shape[0] == 0:
            raise ModelFormatError("input batch is empty")
        parts = [self._run_batch(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]
        return np.concatenate(parts, axis=0)

    def _run_batch(self, x: np.ndarray) -> np.ndarray:
        env: dict[str, np.ndarray] = {self.input.name: x}
        consts = self.graph.tensors
        out_name = self.graph.outputs[0]
        for i, (op, kernel) in enumerate(zip(self.graph.ops, self.kernels)):
            args = [env[n] if n in env else consts[n].data for n in op.inputs if n]  # type: ignore[misc]
            env[op.outputs[0]] = kernel.run(args, x.shape[0])
            for n in op.inputs:
                if n and n != out_name and self._last_use.get(n) == i:
                    env.pop(n, None)
        return env[out_name]


def run_reference(graph: Graph, input: np.ndarray) -> np.ndarray:  # noqa: A002 (API name)
    """Run ``graph`` on int8 ``input`` (batched ``(N, ...)``) with TFLM-exact integer semantics."""
    return ReferenceInterpreter(graph).run(input)
