"""runtime_c kernels are bit-exact with TensorFlow Lite Micro on random single-op models.

Each case draws shapes, quantisation and data from a fixed seed, runs the op in TFLM's host
interpreter (model written by edgenas.deploy.tflite_writer) and through ctypes in the host build
of runtime_c (parameters from edgenas.deploy.requant), and requires identical int8 outputs.
Every case runs twice: against the ref build and against the arm/ sources built for the host
with the ACLE intrinsics emulated in C ("armemu"), so the DSP code path (lane order, tap pairing,
remainders) is covered here; the real intrinsics run in QEMU via the target kit.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy import requant as rq
from edgenas.deploy.ir import Tensor

from . import rt
from .single_op import (
    act_tensor, add_residual, conv_graph, output_scale_for, random_act_quant, random_input,
    run_tflm, same_pad, unary_graph, valid_out,
)

CASES = range(30)


@pytest.fixture(autouse=True, params=rt.VARIANTS)
def variant(request: pytest.FixtureRequest):  # noqa: ANN201 (generator fixture)
    rt.use(request.param)
    yield request.param
    rt.use("ref")

ACTS = ("none", "relu", "relu6")


def _assert_same(ours: np.ndarray, ref: np.ndarray) -> None:
    ref = ref.reshape(ours.shape)
    diff = np.flatnonzero(ours != ref)
    assert diff.size == 0, (
        f"{diff.size}/{ours.size} values differ; first at {diff[0]}: "
        f"ours {ours.reshape(-1)[diff[0]]} vs tflm {ref.reshape(-1)[diff[0]]}"
    )


def _conv_case(seed: int, depthwise: bool, pointwise: bool = False) -> dict:
    """Random conv/depthwise geometry and quantisation; same keys for both kinds."""
    rng = np.random.default_rng(1000 * (2 if depthwise else 1) + seed)
    h, w = (int(v) for v in rng.integers(1, 10, 2))
    cin = int(rng.integers(1, 9))
    if pointwise:
        k, stride, dil, padding = 1, 1, 1, "valid"
    else:
        k = int(rng.choice([3, 5, 7] if depthwise else [1, 3, 5]))
        stride = int(rng.choice([1, 2]))
        dil = int(rng.choice([1, 1, 1, 2]))
        padding = str(rng.choice(["same", "valid"]))
    eff = (k - 1) * dil + 1
    if padding == "valid" and (eff > h or eff > w):
        padding = "same"
    if padding == "same":
        oh, pt = same_pad(h, k, stride, dil)
        ow, pl = same_pad(w, k, stride, dil)
    else:
        oh, pt = valid_out(h, k, stride, dil), 0
        ow, pl = valid_out(w, k, stride, dil), 0
    cout = cin if depthwise else int(rng.integers(1, 9))
    nch = cout
    x_q = random_act_quant(rng)
    w_shape = (1, k, k, cin) if depthwise else (cout, k, k, cin)
    wts = rng.integers(-127, 128, size=w_shape, dtype=np.int8)
    w_scales = rng.uniform(0.001, 0.05, nch).astype(np.float32)
    bias = rng.integers(-4000, 4000, nch).astype(np.int32)
    taps = k * k * (1 if depthwise else cin)
    real_std = x_q[0] * float(w_scales.mean()) * np.sqrt(taps) * 73.0 * 73.0
    y_q = (output_scale_for(6 * real_std, rng), int(rng.integers(-128, 128)))
    act = str(rng.choice(ACTS))
    x = random_input(rng, (1, h, w, cin))
    return dict(x=x, w=wts, w_scales=w_scales, bias=bias, x_q=x_q, y_q=y_q, act=act,
                stride=stride, dil=dil, padding=padding, pad=(pt, pl), out_hw=(oh, ow),
                rng=rng)


def _conv_graph(c: dict, depthwise: bool):
    attrs = dict(stride_h=c["stride"], stride_w=c["stride"], dilation_h=c["dil"],
                 dilation_w=c["dil"], padding=c["padding"], activation=c["act"])
    nch = c["w"].shape[3] if depthwise else c["w"].shape[0]
    out_shape = (1, *c["out_hw"], nch)
    return conv_graph(c["x_q"], c["w"], c["w_scales"], c["bias"], c["y_q"], c["x"].shape,
                      out_shape, attrs, depthwise)


def _conv_requant(c: dict) -> tuple[rt.Requant, tuple]:
    mults, shifts = rq.conv_quant(c["x_q"][0], c["w_scales"], c["y_q"][0])
    m = np.array(mults, np.int32)
    s = np.array(shifts, np.int32)
    act = rq.activation_range(c["act"], *c["y_q"])
    q = rt.Requant(c["x_q"][1], c["y_q"][1], rt._i32(m), rt._i32(s), 1, *act)
    return q, (m, s)  # keep the arrays alive with the struct


@pytest.mark.parametrize("seed", CASES)
@pytest.mark.slow
def test_conv2d(seed: int) -> None:
    c = _conv_case(seed, depthwise=False)
    ref = run_tflm(_conv_graph(c, False), [c["x"]])
    q, _keep = _conv_requant(c)
    ours = rt.conv2d(c["x"], c["w"], c["bias"], q, (c["stride"],) * 2, c["pad"], c["out_hw"],
                     (c["dil"],) * 2)
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", range(10))
def test_conv2d_pointwise(seed: int) -> None:
    c = _conv_case(100 + seed, depthwise=False, pointwise=True)
    ref = run_tflm(_conv_graph(c, False), [c["x"]])
    q, _keep = _conv_requant(c)
    ours = rt.conv2d(c["x"], c["w"], c["bias"], q, (1, 1), (0, 0), c["out_hw"])
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", CASES)
@pytest.mark.parametrize("in_place", [False, True])
@pytest.mark.slow
def test_dwconv2d(seed: int, in_place: bool) -> None:
    c = _conv_case(seed, depthwise=True)
    ref = run_tflm(_conv_graph(c, True), [c["x"]])
    q, _keep = _conv_requant(c)
    ours = rt.dwconv2d(c["x"], c["w"], c["bias"], q, (c["stride"],) * 2, c["pad"], c["out_hw"],
                       in_place=in_place, dilation=(c["dil"],) * 2)
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("in_place", [False, True])
@pytest.mark.slow
def test_conv2d_fused_add_matches_conv_then_add(seed: int, in_place: bool) -> None:
    c = _conv_case(200 + seed, depthwise=False, pointwise=True)
    rng = c["rng"]
    skip_q = random_act_quant(rng)
    sum_q = (float(np.float32(max(skip_q[0], c["y_q"][0]) * rng.uniform(1.0, 2.5))),
             int(rng.integers(-128, 128)))
    add_act = str(rng.choice(ACTS))
    skip = random_input(rng, (1, *c["out_hw"], c["w"].shape[0]))
    g = add_residual(_conv_graph(c, False), skip_q, sum_q, add_act)
    ref = run_tflm(g, [c["x"], skip])
    q, _keep = _conv_requant(c)
    a = rq.add_quant(c["y_q"], skip_q, sum_q, add_act)
    ours = rt.conv2d_add(c["x"], c["w"], c["bias"], q, a, skip, in_place)
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", CASES)
def test_conv2d_packed(seed: int) -> None:
    """The packed-filter kernel codegen calls: same cases as test_conv2d, plus wider channels
    (C_in a multiple of 4 takes the arm build's direct runs, other C_in its column buffer)."""
    c = _conv_case(seed, depthwise=False)
    ref = run_tflm(_conv_graph(c, False), [c["x"]])
    q, _keep = _conv_requant(c)
    ours = rt.conv2d(c["x"], c["w"], c["bias"], q, (c["stride"],) * 2, c["pad"], c["out_hw"],
                     (c["dil"],) * 2, packed=True)
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_packed_wide_channels(seed: int) -> None:
    c = _conv_case(300 + seed, depthwise=False)
    rng = c["rng"]
    cin, cout = 4 * int(rng.integers(1, 9)), int(rng.integers(1, 21))
    k = c["w"].shape[1]
    c["x"] = random_input(rng, (*c["x"].shape[:3], cin))
    c["w"] = rng.integers(-127, 128, size=(cout, k, k, cin), dtype=np.int8)
    c["w_scales"] = rng.uniform(0.001, 0.05, cout).astype(np.float32)
    c["bias"] = rng.integers(-4000, 4000, cout).astype(np.int32)
    ref = run_tflm(_conv_graph(c, False), [c["x"]])
    q, _keep = _conv_requant(c)
    ours = rt.conv2d(c["x"], c["w"], c["bias"], q, (c["stride"],) * 2, c["pad"], c["out_hw"],
                     (c["dil"],) * 2, packed=True)
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", range(12))
def test_conv2d_packed_in_place(seed: int) -> None:
    """The one-call in-place pointwise conv codegen emits (C_out <= C_in): narrow and wide
    channels, pixel counts leaving every tail after the groups of four, all activations."""
    c = _conv_case(400 + seed, depthwise=False, pointwise=True)
    rng = c["rng"]
    cin = int(rng.integers(1, 9)) if seed % 2 else 4 * int(rng.integers(1, 17))
    cout = int(rng.integers(1, cin + 1))
    c["x"] = random_input(rng, (*c["x"].shape[:3], cin))
    c["w"] = rng.integers(-127, 128, size=(cout, 1, 1, cin), dtype=np.int8)
    c["w_scales"] = rng.uniform(0.001, 0.05, cout).astype(np.float32)
    c["bias"] = rng.integers(-4000, 4000, cout).astype(np.int32)
    ref = run_tflm(_conv_graph(c, False), [c["x"]])
    q, _keep = _conv_requant(c)
    _assert_same(rt.conv2d_packed_in_place(c["x"], c["w"], c["bias"], q), ref)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.slow
def test_conv2d_fused_add_any_geometry(seed: int, packed: bool) -> None:
    """KxK, strided and padded convs take the fused ADD too (in place over the skip)."""
    c = _conv_case(400 + seed, depthwise=False)
    rng = c["rng"]
    skip_q = random_act_quant(rng)
    sum_q = (float(np.float32(max(skip_q[0], c["y_q"][0]) * rng.uniform(1.0, 2.5))),
             int(rng.integers(-128, 128)))
    add_act = str(rng.choice(ACTS))
    skip = random_input(rng, (1, *c["out_hw"], c["w"].shape[0]))
    g = add_residual(_conv_graph(c, False), skip_q, sum_q, add_act)
    ref = run_tflm(g, [c["x"], skip])
    q, _keep = _conv_requant(c)
    a = rq.add_quant(c["y_q"], skip_q, sum_q, add_act)
    ours = rt.conv2d_add(c["x"], c["w"], c["bias"], q, a, skip, in_place=True,
                         stride=(c["stride"],) * 2, pad=c["pad"], dilation=(c["dil"],) * 2,
                         packed=packed)
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("in_place", [False, True])
def test_conv2d_fused_add_table_extreme_quant(seed: int, in_place: bool) -> None:
    """The fused ADD with its table (codegen.add_lut, as generated code passes it) and without:
    the arm build looks the scaled terms up in groups of four pixels and channel batches of 32
    (C_out up to 40 leaves a remainder batch; odd pixel counts the one-pixel tail). Extreme ADD
    quantisations: zero points at the int8 ends, input scales up to 100x apart, every
    activation, output scales that saturate."""
    c = _conv_case(600 + seed, depthwise=False)
    rng = c["rng"]
    cin, cout = int(rng.choice([3, 4, 8, 16])), int(rng.choice([1, 5, 16, 32, 33, 40]))
    k = c["w"].shape[1]
    c["x"] = random_input(rng, (*c["x"].shape[:3], cin))
    c["w"] = rng.integers(-127, 128, size=(cout, k, k, cin), dtype=np.int8)
    c["w_scales"] = rng.uniform(0.001, 0.05, cout).astype(np.float32)
    c["bias"] = rng.integers(-4000, 4000, cout).astype(np.int32)
    y_scale = c["y_q"][0]
    zps = [-128, 127, int(rng.integers(-128, 128))]
    skip_q = (float(np.float32(y_scale * rng.choice([0.01, 0.3, 1.0, 3.0, 100.0]))), int(rng.choice(zps)))
    sum_q = (float(np.float32(max(skip_q[0], y_scale) * rng.uniform(0.3, 2.5))), int(rng.choice(zps)))
    add_act = ACTS[seed % 3]
    skip = random_input(rng, (1, *c["out_hw"], cout))
    g = add_residual(_conv_graph(c, False), skip_q, sum_q, add_act)
    ref = run_tflm(g, [c["x"], skip])
    q, _keep = _conv_requant(c)
    a = rq.add_quant(c["y_q"], skip_q, sum_q, add_act)
    for lut in (True, False):
        ours = rt.conv2d_add(c["x"], c["w"], c["bias"], q, a, skip, in_place, stride=(c["stride"],) * 2,
                             pad=c["pad"], dilation=(c["dil"],) * 2, packed=True, lut=lut)
        _assert_same(ours, ref)


@pytest.mark.parametrize("seed", CASES)
@pytest.mark.slow
def test_fully_connected(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    batches, cin, cout = 1, int(rng.integers(1, 64)), int(rng.integers(1, 24))
    per_channel = seed % 2 == 1
    x_q = random_act_quant(rng)
    nsc = cout if per_channel else 1
    w_scales = rng.uniform(0.001, 0.05, nsc).astype(np.float32)
    w = rng.integers(-127, 128, size=(cout, cin), dtype=np.int8)
    bias = rng.integers(-4000, 4000, cout).astype(np.int32)
    real_std = x_q[0] * float(w_scales.mean()) * np.sqrt(cin) * 73.0 * 73.0
    y_q = (output_scale_for(6 * real_std, rng), int(rng.integers(-128, 128)))
    act = str(rng.choice(ACTS))
    x = random_input(rng, (batches, cin))
    from edgenas.deploy.ir import Graph, Op, QuantParams

    b_scales = tuple(float(np.float32(x_q[0]) * s) for s in w_scales)
    g = Graph(
        {
            "x": act_tensor("x", x.shape, *x_q),
            "w": Tensor("w", w.shape, "int8", QuantParams(tuple(map(float, w_scales)),
                                                          (0,) * nsc, 0), w),
            "b": Tensor("b", bias.shape, "int32", QuantParams(b_scales, (0,) * nsc, 0), bias),
            "y": act_tensor("y", (batches, cout), *y_q),
        },
        [Op("fully_connected", ["x", "w", "b"], ["y"], {"activation": act})], ["x"], ["y"],
    )
    ref = run_tflm(g, [x])
    if per_channel:
        mults, shifts = rq.conv_quant(x_q[0], w_scales, y_q[0])
    else:
        m0, s0 = rq.fc_quant(x_q[0], float(w_scales[0]), y_q[0])
        mults, shifts = [m0], [s0]
    m, s = np.array(mults, np.int32), np.array(shifts, np.int32)
    q = rt.make_requant(x_q[1], y_q[1], m, s, rq.activation_range(act, *y_q))
    _assert_same(rt.fc(x, w, bias, q), ref)
    _assert_same(rt.fc_packed(x, w, bias, q), ref)


@pytest.mark.parametrize("seed", CASES)
def test_add(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    shape = (1, int(rng.integers(1, 8)), int(rng.integers(1, 8)), int(rng.integers(1, 9)))
    q1, q2 = random_act_quant(rng), random_act_quant(rng)
    qo = (float(np.float32((q1[0] + q2[0]) * rng.uniform(0.5, 1.5))), int(rng.integers(-128, 128)))
    act = str(rng.choice(ACTS))
    x1, x2 = random_input(rng, shape), random_input(rng, shape)
    from edgenas.deploy.ir import Graph, Op

    g = Graph({"a": act_tensor("a", shape, *q1), "b": act_tensor("b", shape, *q2),
               "y": act_tensor("y", shape, *qo)},
              [Op("add", ["a", "b"], ["y"], {"activation": act})], ["a", "b"], ["y"])
    ref = run_tflm(g, [x1, x2])
    _assert_same(rt.add(rq.add_quant(q1, q2, qo, act), x1, x2), ref)


@pytest.mark.parametrize("seed", CASES)
@pytest.mark.slow
def test_avgpool2d(seed: int) -> None:
    rng = np.random.default_rng(5000 + seed)
    h, w, c = int(rng.integers(1, 12)), int(rng.integers(1, 12)), int(rng.integers(1, 9))
    f = int(rng.choice([2, 3, 5]))
    stride = int(rng.choice([1, 2, 3]))
    padding = str(rng.choice(["same", "valid"]))
    if padding == "valid" and (f > h or f > w):
        padding = "same"
    if padding == "same":
        (oh, pt), (ow, pl) = same_pad(h, f, stride, 1), same_pad(w, f, stride, 1)
    else:
        oh, pt, ow, pl = valid_out(h, f, stride, 1), 0, valid_out(w, f, stride, 1), 0
    xq = random_act_quant(rng)
    act = str(rng.choice(ACTS))
    x = random_input(rng, (1, h, w, c))
    g = unary_graph("avg_pool2d", act_tensor("x", x.shape, *xq),
                    act_tensor("y", (1, oh, ow, c), *xq),
                    dict(filter_h=f, filter_w=f, stride_h=stride, stride_w=stride,
                         padding=padding, activation=act))
    ref = run_tflm(g, [x])
    ours = rt.avgpool2d(x, (f, f), (stride, stride), (pt, pl), (oh, ow),
                        rq.activation_range(act, *xq))
    _assert_same(ours, ref)


@pytest.mark.parametrize("seed", CASES)
def test_mean(seed: int) -> None:
    rng = np.random.default_rng(6000 + seed)
    h, w, c = int(rng.integers(1, 16)), int(rng.integers(1, 16)), int(rng.integers(1, 17))
    xq = random_act_quant(rng)
    # Every third case keeps the quantisation: TFLM then takes its plain integer-mean path.
    yq = xq if seed % 3 == 0 else (float(np.float32(xq[0] * rng.uniform(0.3, 2.0))),
                                   int(rng.integers(-128, 128)))
    keep = bool(seed % 2)
    x = random_input(rng, (1, h, w, c))
    out_shape = (1, 1, 1, c) if keep else (1, c)
    g = unary_graph("mean", act_tensor("x", x.shape, *xq), act_tensor("y", out_shape, *yq),
                    dict(axes=(1, 2), keep_dims=keep))
    ref = run_tflm(g, [x])
    mult, shift = rq.mean_quant(xq[0], yq[0])
    _assert_same(rt.mean(x, xq[1], yq[1], mult, shift), ref)


@pytest.mark.parametrize("seed", CASES)
def test_softmax(seed: int) -> None:
    rng = np.random.default_rng(7000 + seed)
    rows, depth = int(rng.integers(1, 4)), int(rng.integers(1, 40))
    xq = (float(np.float32(rng.uniform(0.01, 0.5))), int(rng.integers(-128, 128)))
    beta = float(np.float32(rng.choice([1.0, 1.0, 0.5, 2.0])))
    x = random_input(rng, (1, rows, depth))
    g = unary_graph("softmax", act_tensor("x", x.shape, *xq),
                    act_tensor("y", x.shape, 1.0 / 256.0, -128), dict(beta=beta))
    ref = run_tflm(g, [x])
    _assert_same(rt.softmax(rq.softmax_params(beta, xq[0]), x), ref)


@pytest.mark.parametrize("seed", range(15))
def test_pad(seed: int) -> None:
    rng = np.random.default_rng(8000 + seed)
    shape = (1, int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.integers(1, 6)))
    before = (0, *(int(v) for v in rng.integers(0, 3, 3)))
    after = (0, *(int(v) for v in rng.integers(0, 3, 3)))
    xq = random_act_quant(rng)
    x = random_input(rng, shape)
    out_shape = tuple(d + b + a for d, b, a in zip(shape, before, after))
    paddings = np.array(list(zip(before, after)), np.int32)
    g = unary_graph("pad", act_tensor("x", shape, *xq), act_tensor("y", out_shape, *xq), {},
                    {"paddings": Tensor("paddings", (4, 2), "int32", None, paddings)})
    ref = run_tflm(g, [x])
    _assert_same(rt.pad(x, before, after, xq[1]), ref)
