"""Single-op int8 models for checking runtime_c against TensorFlow Lite Micro.

Each builder returns an IR graph (edgenas/deploy/ir.py) with one op (or conv + add for the fused
residual case); the shared writer turns it into a .tflite and TFLM's host interpreter runs it.
Quantisation is random but plausible: per-channel symmetric weights, int32 bias at
input_scale * weight_scale, and an output scale picked from the real accumulator range times a
random factor, so some cases saturate.
"""

from __future__ import annotations

import numpy as np

from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.tflite_writer import write_tflite

ARENA_BYTES = 1 << 20


def run_tflm(graph: Graph, inputs: list[np.ndarray]) -> np.ndarray:
    """Run `graph` in TFLite Micro's host interpreter and return output 0.

    Single-input graphs go through the shared edgenas.deploy.tflm runner; it takes one input,
    so graphs with two (ADD, conv + residual) drive the interpreter directly.
    """
    model = write_tflite(graph)
    if len(inputs) == 1:
        from edgenas.deploy.tflm import run_tflm as shared_run

        return np.asarray(shared_run(model, inputs[0]))
    from tflite_micro.python.tflite_micro import runtime

    interp = runtime.Interpreter.from_bytes(model, arena_size=ARENA_BYTES)
    for i, x in enumerate(inputs):
        interp.set_input(x, i)
    interp.invoke()
    return np.asarray(interp.get_output(0))


def act_tensor(name: str, shape: tuple[int, ...], scale: float, zp: int) -> Tensor:
    return Tensor(name, shape, "int8", QuantParams((float(np.float32(scale)),), (int(zp),)))


def random_input(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def random_act_quant(rng: np.random.Generator) -> tuple[float, int]:
    return float(np.float32(rng.uniform(0.005, 0.1))), int(rng.integers(-128, 128))


def output_scale_for(real_range: float, rng: np.random.Generator) -> float:
    """A scale mapping roughly `real_range` onto 256 steps, times [0.4, 1.6] to hit saturation."""
    return float(np.float32(max(real_range, 1e-6) / 255.0 * rng.uniform(0.4, 1.6)))


def same_pad(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """(output size, pad before) of TFLite SAME padding."""
    out = (size + stride - 1) // stride
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return out, total // 2


def valid_out(size: int, k: int, stride: int, dilation: int) -> int:
    eff = (k - 1) * dilation + 1
    return (size - eff + stride) // stride


def conv_graph(
    x_q: tuple[float, int], w: np.ndarray, w_scales: np.ndarray, bias: np.ndarray,
    y_q: tuple[float, int], in_shape: tuple[int, ...], out_shape: tuple[int, ...], attrs: dict,
    depthwise: bool,
) -> Graph:
    """A CONV_2D or DEPTHWISE_CONV_2D graph. `w` is OHWI or [1, KH, KW, C]."""
    axis = 3 if depthwise else 0
    nch = w.shape[axis]
    s_in = x_q[0]
    tensors = {
        "x": act_tensor("x", in_shape, *x_q),
        "w": Tensor("w", w.shape, "int8",
                    QuantParams(tuple(float(s) for s in w_scales), (0,) * nch, axis), w),
        "b": Tensor("b", bias.shape, "int32",
                    QuantParams(tuple(float(np.float32(s_in) * np.float32(s)) for s in w_scales),
                                (0,) * nch, 0), bias),
        "y": act_tensor("y", out_shape, *y_q),
    }
    kind = "depthwise_conv2d" if depthwise else "conv2d"
    op = Op(kind, ["x", "w", "b"], ["y"], dict(attrs))
    return Graph(tensors, [op], ["x"], ["y"], name=kind)


def add_residual(g: Graph, skip_q: tuple[float, int], sum_q: tuple[float, int],
                 activation: str) -> Graph:
    """Append ADD(y, skip) to a conv graph: the unfused form of en_conv2d_add_s8."""
    y = g.tensor("y")
    g.tensors["skip"] = act_tensor("skip", y.shape, *skip_q)
    g.tensors["z"] = act_tensor("z", y.shape, *sum_q)
    g.ops.append(Op("add", ["y", "skip"], ["z"], {"activation": activation}))
    g.inputs = ["x", "skip"]
    g.outputs = ["z"]
    return g


def unary_graph(kind: str, x: Tensor, y: Tensor, attrs: dict,
                consts: dict[str, Tensor] | None = None) -> Graph:
    tensors = {x.name: x, y.name: y, **(consts or {})}
    op = Op(kind, [x.name, *(consts or {})], [y.name], dict(attrs))
    return Graph(tensors, [op], [x.name], [y.name], name=kind)
