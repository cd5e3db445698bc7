"""The numpy int8 interpreter: fixed-point primitives on hand-worked values, and its contract.

Bit-exactness against TFLite Micro is tested in test_tflite_ops.py (random single ops) and
test_tflite_mlperf.py (whole models); here are the building blocks and the error paths.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy import reference as R
from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.reference import ReferenceInterpreter
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.deploy.tflm import run_tflm
from edgenas.errors import ModelFormatError

Q31_HALF = 1 << 30  # 0.5 in Q0.31


def test_rounding_divide_by_pot_rounds_half_away_from_zero() -> None:
    x = np.array([5, -5, 4, -4, 6, -6, 5, -7])
    e = np.array([1, 1, 1, 1, 2, 2, 2, 0])
    # 2.5->3, -2.5->-3, 2, -2, 1.5->2, -1.5->-2, 1.25->1, exponent 0 is identity
    assert R._rdbpot(x, e).tolist() == [3, -3, 2, -2, 2, -2, 1, -7]


def test_saturating_rounding_doubling_high_mul() -> None:
    assert int(R._srdhm(Q31_HALF, Q31_HALF)) == 1 << 29  # 0.5 * 0.5 = 0.25
    assert int(R._srdhm(R.INT32_MIN, R.INT32_MIN)) == R.INT32_MAX  # the one overflow case saturates
    # gemmlowp nudges then truncates: +1.5 -> 2 but -1.5 -> -1 (ties go up), as TFLM does.
    assert int(R._srdhm(3, Q31_HALF)) == 2 and int(R._srdhm(-3, Q31_HALF)) == -1


def test_multiply_by_quantized_multiplier_left_and_right_shift() -> None:
    assert R._mbqm(np.array([100, 3, -3]), Q31_HALF, 0).tolist() == [50, 2, -1]
    assert int(R._mbqm(100, Q31_HALF, 2)) == 200  # 0.5 * 2**2
    assert int(R._mbqm(100, Q31_HALF, -3)) == 6  # 100 * 0.5 / 8 = 6.25


def _single(kind: str, x_shape, y_shape, xq, yq, attrs, extra: dict | None = None) -> Graph:
    t = {"x": Tensor("x", x_shape, "int8", xq), "y": Tensor("y", y_shape, "int8", yq)}
    ins = ["x"]
    for name, tensor in (extra or {}).items():
        t[name] = tensor
        ins.append(name)
    return Graph(t, [Op(kind, ins, ["y"], attrs)], ["x"], ["y"])


def run_reference(g: Graph, x: np.ndarray) -> np.ndarray:
    """The reference output, after checking TFLite Micro agrees on this hand-worked case."""
    ours = ReferenceInterpreter(g).run(x)
    assert np.array_equal(ours, run_tflm(write_tflite(g), x))
    return ours


def test_softmax_of_equal_logits_is_uniform() -> None:
    g = _single("softmax", (1, 4), (1, 4), QuantParams((0.1,), (0,)), QuantParams((1 / 256,), (-128,)), {"beta": 1.0})
    x = np.array([[7, 7, 7, 7], [-100, -100, -100, -100]], dtype=np.int8)
    assert run_reference(g, x).tolist() == [[-64] * 4, [-64] * 4]  # 0.25 * 256 - 128


def test_softmax_far_below_max_is_exactly_zero_probability() -> None:
    g = _single("softmax", (1, 3), (1, 3), QuantParams((0.5,), (0,)), QuantParams((1 / 256,), (-128,)), {"beta": 1.0})
    y = run_reference(g, np.array([[127, -128, 120]], dtype=np.int8))
    assert y[0, 1] == -128 and y[0, 0] > y[0, 2]


def test_mean_rounds_like_quantized_mean_or_sum() -> None:
    q = QuantParams((0.1,), (0,))
    g = _single("mean", (1, 2, 2, 1), (1, 1, 1, 1), q, q, {"axes": (1, 2), "keep_dims": True})
    # sum 10 over 4 elements: multiplier 2**30 (0.5) shift 1 becomes 2**30 shift -1 -> 2.5 -> 3
    assert run_reference(g, np.array([[[[1], [2]], [[3], [4]]]], dtype=np.int8)).item() == 3


def test_avg_pool_counts_only_in_image_taps() -> None:
    q = QuantParams((0.1,), (0,))
    attrs = dict(filter_h=2, filter_w=2, stride_h=2, stride_w=2, padding="same", activation="none")
    g = _single("avg_pool2d", (1, 3, 3, 1), (1, 2, 2, 1), q, q, attrs)
    x = np.arange(9, dtype=np.int8).reshape(1, 3, 3, 1) * 3  # 0 3 6 / 9 12 15 / 18 21 24
    # windows: (0+3+9+12)/4=6, (6+15)/2=10.5->11, (18+21)/2=19.5->20, 24/1
    assert run_reference(g, x).reshape(-1).tolist() == [6, 11, 20, 24]


def test_pad_fills_with_output_zero_point() -> None:
    q = QuantParams((0.1,), (-5,))
    pads = np.array([[0, 0], [1, 0], [0, 1], [0, 0]], dtype=np.int32)
    g = _single("pad", (1, 1, 1, 1), (1, 2, 2, 1), q, q, {}, {"p": Tensor("p", (4, 2), "int32", None, pads)})
    assert run_reference(g, np.array([[[[9]]]], dtype=np.int8)).reshape(-1).tolist() == [-5, -5, 9, -5]


def test_conv_hand_worked_case() -> None:
    """1x1 input, 3x3 SAME conv: only the centre tap sees the image."""
    w = np.zeros((1, 3, 3, 1), np.int8)
    w[0, 1, 1, 0] = 10
    wq = QuantParams((0.5,), (0,), 0)
    b = Tensor("b", (1,), "int32", QuantParams((0.05,), (0,)), np.array([4], np.int32))
    g = _single("conv2d", (1, 1, 1, 1), (1, 1, 1, 1), QuantParams((0.1,), (2,)), QuantParams((1.0,), (-3,)),
                dict(stride_h=1, stride_w=1, padding="same", activation="none"),
                {"w": Tensor("w", w.shape, "int8", wq, w), "b": b})
    # acc = 10 * (12 - 2) + 4 = 104; real scale 0.1 * 0.5 / 1.0 = 0.05 -> 5.2 -> 5; + (-3) = 2
    assert run_reference(g, np.array([[[[12]]]], dtype=np.int8)).item() == 2


def test_input_validation() -> None:
    q = QuantParams((0.1,), (0,))
    g = _single("reshape", (1, 2, 2, 1), (1, 4), q, q, {"new_shape": (1, 4)})
    interp = ReferenceInterpreter(g)
    assert interp.run(np.zeros((1, 2, 2, 1), np.int8)).shape == (1, 4)
    assert interp.run(np.zeros((5, 2, 2, 1), np.int8)).shape == (5, 4)
    for bad in (np.zeros((1, 2, 2, 1), np.float32), np.zeros((1, 2, 3, 1), np.int8), np.zeros((2, 2, 1), np.int8)):
        with pytest.raises(ModelFormatError):
            interp.run(bad)


def test_multi_output_graph_is_refused() -> None:
    q = QuantParams((0.1,), (0,))
    g = _single("reshape", (1, 2, 2, 1), (1, 4), q, q, {"new_shape": (1, 4)})
    g.outputs.append("x")
    with pytest.raises(ModelFormatError, match="2 outputs") as e:
        ReferenceInterpreter(g)
    assert "single-input" in e.value.hint


def test_in_place_requantisation_equals_generic_formula() -> None:
    """The fast positive-multiplier path is the same arithmetic as MultiplyByQuantizedMultiplier."""
    rng = np.random.default_rng(0)
    m = rng.integers(1, 2**31, size=100_000)
    shift = rng.integers(-31, 8, size=100_000)
    x = rng.integers(-(2**31), 2**31, size=100_000)
    x = np.where(shift > 0, x >> 8, x)  # keep x << shift inside int32 like real accumulators
    assert np.array_equal(R._mbqm_pos(x, m, shift), R._mbqm(x, m, shift))


def test_per_tensor_fc_multiplier_uses_double_scale_product() -> None:
    """Regression: TFLM (and LiteRT) compute the per-tensor FC multiplier from
    double(in_scale) * double(w_scale) / double(out_scale). Multiplying the scales in float32
    first (as older TFLite sources do) gives 31 here instead of 30."""
    s_in, s_w, s_out = 0.10724610835313797, 0.047622255980968475, 713.0718383789062
    w = Tensor("w", (1, 1), "int8", QuantParams((s_w,), (0,)), np.ones((1, 1), np.int8))
    b = Tensor("b", (1,), "int32", QuantParams((s_in * s_w,), (0,)), np.array([4258352], np.int32))
    g = _single("fully_connected", (1, 1), (1, 1), QuantParams((s_in,), (0,)), QuantParams((s_out,), (0,)),
                {"activation": "none"}, {"w": w, "b": b})
    assert run_reference(g, np.zeros((1, 1), np.int8)).item() == 30


def _declaring(graph: Graph, shape: tuple[int, ...]) -> Graph:
    """``graph`` with its output tensor declared as ``shape`` (the importer would refuse it)."""
    import dataclasses

    tensors = dict(graph.tensors)
    out = graph.outputs[0]
    tensors[out] = dataclasses.replace(tensors[out], shape=shape)
    return Graph(tensors, graph.ops, graph.inputs, graph.outputs, name=graph.name)


@pytest.mark.parametrize("kind", ["fully_connected", "mean", "conv2d", "depthwise_conv2d", "add", "avg_pool2d",
                                  "pad", "softmax"])
def test_a_graph_whose_declared_output_shape_lies_is_a_model_format_error(kind: str) -> None:
    """Graphs built in Python skip the importer: the interpreter itself must not raise numpy's
    ValueError (FC, MEAN) or hand back an output of another shape than the graph declares."""
    from .test_tflite_ops import make_case

    graph = make_case(kind, 0)
    shape = graph.tensors[graph.outputs[0]].shape
    x = np.zeros((2, *graph.tensors[graph.inputs[0]].shape[1:]), np.int8)
    assert ReferenceInterpreter(graph).run(x).shape == (2, *shape[1:])
    for lie, text in (((7, *shape[1:]), "runs batch-1 graphs"), ((*shape[:-1], shape[-1] + 3), r"op 0 .*declared")):
        with pytest.raises(ModelFormatError, match=text) as e:
            ReferenceInterpreter(_declaring(graph, lie)).run(x)
        assert e.value.hint


def test_a_fully_connected_op_with_two_rows_is_a_model_format_error_not_a_value_error() -> None:
    """An FC over two rows of one input ((1, 2 * depth) -> (2, units)): the interpreter runs batch-1
    graphs and raised numpy's ValueError on it (the importer now refuses such models too)."""
    import dataclasses

    from .test_tflite_ops import make_case

    graph = make_case("fully_connected", 0)
    depth, units = graph.tensors["w"].shape[1], graph.tensors["w"].shape[0]
    tensors = dict(graph.tensors)
    tensors[graph.inputs[0]] = dataclasses.replace(tensors[graph.inputs[0]], shape=(1, 2 * depth))
    tensors[graph.outputs[0]] = dataclasses.replace(tensors[graph.outputs[0]], shape=(2, units))
    two_rows = Graph(tensors, graph.ops, graph.inputs, graph.outputs)
    with pytest.raises(ModelFormatError, match=r"shape \(2, \d+\); the reference interpreter runs batch-1"):
        ReferenceInterpreter(two_rows).run(np.zeros((1, 2 * depth), np.int8))


def test_a_constant_graph_output_is_a_model_format_error_not_a_key_error() -> None:
    q = QuantParams((0.1,), (0,))
    g = _single("reshape", (1, 2, 2, 1), (1, 4), q, q, {"new_shape": (1, 4)},
                {"c": Tensor("c", (1, 4), "int8", q, np.zeros((1, 4), np.int8))})
    g.ops[0].inputs = ["x"]
    g.outputs = ["c"]
    with pytest.raises(ModelFormatError, match="graph output 'c' is a constant"):
        ReferenceInterpreter(g).run(np.zeros((1, 2, 2, 1), np.int8))
