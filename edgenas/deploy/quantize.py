"""Post-training int8 quantization of a subnet into the graph IR (the TFLite int8 scheme).

- weights: per-channel symmetric int8 (``[-127, 127]``), BN folded in first, each conv weight
  rounded up or down to least output error on the calibration images (:mod:`.rounding`); FC
  per-tensor, rounded to nearest;
- bias: int32 with scale ``input_scale * weight_scale[c]``;
- activations: asymmetric int8 from min/max observed on calibration images (range widened to
  include 0); ReLU6 becomes the fused clamp of its conv;
- input: the image in [0, 1] as ``q = round(255 * x) - 128`` (scale 1/255, zero point -128), so
  firmware takes raw pixels minus 128;
- global pooling: AVERAGE_POOL_2D over the whole map (its output shares the input's
  quantization, as TFLite requires), then RESHAPE and FULLY_CONNECTED to int8 logits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from ..data import ImageSet, resize, to_tensor
from ..space import Arch, NetPlan, SpaceSpec, plan_net, same_out
from ..supernet import Subnet
from ..supernet.subnet import ConvBNAct
from ..torch_threads import DETERMINISTIC_THREADS, torch_threads
from .ir import Graph, Op, QuantParams, Tensor
from .rounding import dequantized_adaptive, patch_moment, symmetric_scales

INPUT_QUANT = QuantParams((1.0 / 255.0,), (-128,))


def quantize_images(images: np.ndarray, resolution: int) -> np.ndarray:
    """uint8 ``(N, H, W, C)`` images → int8 ``(N, R, R, C)`` model inputs at ``resolution``."""
    x = resize(to_tensor(images), resolution).permute(0, 2, 3, 1).numpy()
    return (np.clip(np.round(x * 255.0), 0, 255) - 128).astype(np.int8)


def activation_quant(lo: float, hi: float) -> QuantParams:
    """Asymmetric int8 for the real range ``[lo, hi]`` widened to contain 0 (zero is exact)."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi - lo < 1e-8:
        hi = lo + 1e-8
    scale = (hi - lo) / 255.0
    zero_point = int(np.clip(round(-128 - lo / scale), -128, 127))
    return QuantParams((float(np.float32(scale)),), (zero_point,))


def _fold_bn(layer: ConvBNAct) -> tuple[np.ndarray, np.ndarray]:
    """Conv weight ``(O, I, KH, KW)`` and bias ``(O,)`` with the BN (eval statistics) folded in."""
    bn = layer.bn
    gain = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    weight = layer.conv.weight.detach() * gain[:, None, None, None]
    bias = bn.bias.detach() - bn.running_mean * gain
    return weight.double().numpy(), bias.double().numpy()


def _symmetric_per_channel(weight: np.ndarray, axis: int) -> tuple[np.ndarray, tuple[float, ...]]:
    """int8 weights and float32 scales, one per slice along ``axis`` (max |w| maps to 127)."""
    moved = np.moveaxis(weight, axis, 0)
    scales = symmetric_scales(moved.reshape(moved.shape[0], -1))
    q = np.clip(np.round(moved / scales.reshape(-1, *[1] * (moved.ndim - 1))), -127, 127).astype(np.int8)
    return np.moveaxis(q, 0, axis), tuple(float(s) for s in scales)


@dataclass
class Calibration:
    """What calibration images show of each quantized activation: its running min/max, and for
    each conv layer (when asked) the second moment of the input patches it reads, which
    :func:`.rounding.round_adaptive` needs."""

    lo: dict[str, float] = field(default_factory=dict)
    hi: dict[str, float] = field(default_factory=dict)
    moments: dict[str, tuple[torch.Tensor, int]] = field(default_factory=dict)

    def observe(self, name: str, value: torch.Tensor) -> None:
        self.lo[name] = min(self.lo.get(name, np.inf), float(value.min()))
        self.hi[name] = max(self.hi.get(name, -np.inf), float(value.max()))

    def observe_input(self, name: str, conv: nn.Module, value: torch.Tensor) -> None:
        total, count = patch_moment(conv, value)
        if name in self.moments:
            previous, before = self.moments[name]
            total, count = previous + total, before + count
        self.moments[name] = (total, count)

    def watch_output(self, name: str, module: nn.Module) -> torch.utils.hooks.RemovableHandle:
        """Hook ``module`` so its outputs' range is observed (remove the handle when done)."""
        return module.register_forward_hook(lambda _module, _inp, out: self.observe(name, out))

    def watch_input(self, name: str, conv: nn.Module) -> torch.utils.hooks.RemovableHandle:
        """Hook ``conv`` so its inputs are observed (remove the handle when done)."""
        return conv.register_forward_pre_hook(lambda module, inp: self.observe_input(name, module, inp[0]))

    def moment(self, name: str) -> np.ndarray:
        total, count = self.moments[name]
        return (total / count).numpy()


def _layer_names(subnet: Subnet) -> list[tuple[str, nn.Module]]:
    """Modules whose outputs become int8 tensors, with stable names, in execution order."""
    names: list[tuple[str, nn.Module]] = [("stem", subnet.stem), ("first_dw", subnet.first_dw), ("first_pw", subnet.first_pw)]
    for i, block in enumerate(subnet.blocks):
        names += [(f"b{i}.expand", block.expand), (f"b{i}.dw", block.depthwise), (f"b{i}.project", block.project)]
        if block.residual:
            names.append((f"b{i}.add", block))
    names += [("head", subnet.head), ("logits", subnet.classifier)]
    return names


@torch.no_grad()
@torch_threads(DETERMINISTIC_THREADS)
def calibrate(
    subnet: Subnet, images: ImageSet, count: int = 512, batch_size: int = 128, *, moments: bool = False
) -> Calibration:
    """Observe every quantized activation on the first ``count`` images (on a fixed thread count:
    the ranges become the firmware's scales); with ``moments`` also every conv's input patches."""
    seen = Calibration()
    hooks = []
    for name, module in _layer_names(subnet):
        hooks.append(seen.watch_output(name, module))
        if moments and isinstance(module, ConvBNAct):
            hooks.append(seen.watch_input(name, module.conv))
    subnet.eval()
    r = subnet.arch.resolution
    try:
        for start in range(0, min(count, len(images)), batch_size):
            stop = min(start + batch_size, count, len(images))
            subnet(resize(to_tensor(images.x[start:stop]), r))
    finally:
        for hook in hooks:
            hook.remove()
    return seen


@dataclass(frozen=True)
class LayerParams:
    """Float parameters of one layer in torch layout: conv ``(O, I/groups, KH, KW)``, FC ``(O, I)``."""

    weight: np.ndarray
    bias: np.ndarray
    stride: int = 1
    depthwise: bool = False


def net_layers(plan: NetPlan, stem_stride: int) -> list[tuple[str, tuple[int, ...], int, bool, str]]:
    """``(name, weight shape, stride, depthwise, activation)`` of every conv layer, in order."""
    layers = [
        ("stem", (plan.stem_channels, plan.in_channels, 3, 3), stem_stride, False, "relu6"),
        ("first_dw", (plan.stem_channels, 1, 3, 3), 1, True, "relu6"),
        ("first_pw", (plan.first_channels, plan.stem_channels, 1, 1), 1, False, "none"),
    ]
    for i, b in enumerate(plan.blocks):
        layers += [
            (f"b{i}.expand", (b.mid_channels, b.in_channels, 1, 1), 1, False, "relu6"),
            (f"b{i}.dw", (b.mid_channels, 1, b.kernel, b.kernel), b.stride, True, "relu6"),
            (f"b{i}.project", (b.out_channels, b.mid_channels, 1, 1), 1, False, "none"),
        ]
    layers.append(("head", (plan.head_channels, plan.blocks[-1].out_channels, 1, 1), 1, False, "relu6"))
    return layers


class GraphBuilder:
    """Appends tensors and ops with unique names."""

    def __init__(self) -> None:
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []

    def activation(self, name: str, shape: tuple[int, ...], quant: QuantParams) -> str:
        self.tensors[name] = Tensor(name, shape, "int8", quant)
        return name

    def const(self, name: str, data: np.ndarray, dtype: str, quant: QuantParams | None = None) -> str:
        self.tensors[name] = Tensor(name, tuple(data.shape), dtype, quant, np.ascontiguousarray(data.astype(dtype)))
        return name

    def conv(self, name: str, x: str, params: LayerParams, out_quant: QuantParams, activation: str) -> str:
        weight, bias = params.weight, params.bias
        if params.depthwise:  # torch (C, 1, KH, KW) → TFLite (1, KH, KW, C), scales along channels
            wq, w_scales = _symmetric_per_channel(weight.transpose(1, 2, 3, 0), axis=3)
            quant_axis = 3
        else:  # torch (O, I, KH, KW) → OHWI
            wq, w_scales = _symmetric_per_channel(weight.transpose(0, 2, 3, 1), axis=0)
            quant_axis = 0
        x_t = self.tensors[x]
        in_scale = x_t.quant.scale[0]
        bias_scales = tuple(float(np.float32(in_scale) * np.float32(s)) for s in w_scales)
        bq = np.round(bias / np.asarray(bias_scales, dtype=np.float64))
        bq = np.clip(bq, -(2**31), 2**31 - 1).astype(np.int32)
        w_name = self.const(f"{name}.weight", wq, "int8", QuantParams(w_scales, (0,) * len(w_scales), quant_axis))
        b_name = self.const(f"{name}.bias", bq, "int32", QuantParams(bias_scales, (0,) * len(bias_scales), 0))
        _, h, w, _ = x_t.shape
        stride = params.stride
        out_shape = (1, same_out(h, stride), same_out(w, stride), weight.shape[0])
        out = self.activation(name, out_shape, out_quant)
        attrs = {
            "stride_h": stride,
            "stride_w": stride,
            "dilation_h": 1,
            "dilation_w": 1,
            "padding": "same",
            "activation": activation,
        }
        kind = "depthwise_conv2d" if params.depthwise else "conv2d"
        self.ops.append(Op(kind, [x, w_name, b_name], [out], attrs, name))
        return out


def build_int8_graph(
    spec: SpaceSpec, arch: Arch, params: dict[str, LayerParams], ranges: dict[str, tuple[float, float]]
) -> Graph:
    """Lay out the int8 graph of ``arch`` from float layer parameters and activation ranges.

    The one place that decides the deployed graph's structure: quantization calls it with real
    weights, the cost model (``structure_graph``) with zeros, so predicted memory is the
    compiler's memory.

    Args:
        params: per layer name (``stem``, ``b3.dw``, ``logits``...) its float weights.
        ranges: per activation name its observed real ``(min, max)``.
    """
    plan = plan_net(spec, arch)
    quant = {name: activation_quant(lo, hi) for name, (lo, hi) in ranges.items()}
    g = GraphBuilder()
    r = arch.resolution
    x = g.activation("input", (1, r, r, plan.in_channels), INPUT_QUANT)
    layers = {name: activation for name, _shape, _stride, _dw, activation in net_layers(plan, spec.stem_stride)}

    def conv(name: str, inp: str) -> str:
        return g.conv(name, inp, params[name], quant[name], layers[name])

    x = conv("first_pw", conv("first_dw", conv("stem", x)))
    for i, b in enumerate(plan.blocks):
        y = conv(f"b{i}.project", conv(f"b{i}.dw", conv(f"b{i}.expand", x)))
        if b.residual:
            out = g.activation(f"b{i}.add", g.tensors[y].shape, quant[f"b{i}.add"])
            g.ops.append(Op("add", [x, y], [out], {"activation": "none"}, f"b{i}.add"))
            y = out
        x = y
    x = conv("head", x)
    _, h, w, c = g.tensors[x].shape
    pooled = g.activation("pool", (1, 1, 1, c), g.tensors[x].quant)
    g.ops.append(
        Op(
            "avg_pool2d",
            [x],
            [pooled],
            {"filter_h": h, "filter_w": w, "stride_h": 1, "stride_w": 1, "padding": "valid", "activation": "none"},
            "pool",
        )
    )
    flat = g.activation("flatten", (1, c), g.tensors[x].quant)
    shape = g.const("flatten.shape", np.asarray([1, c]), "int32")
    g.ops.append(Op("reshape", [pooled, shape], [flat], {"new_shape": (1, c)}, "flatten"))
    fc = params["logits"]
    peak = float(np.abs(fc.weight).max()) or 1e-8
    w_scale = float(np.float32(peak / 127.0))
    wq = np.clip(np.round(fc.weight / w_scale), -127, 127).astype(np.int8)
    bias_scale = float(np.float32(g.tensors[flat].quant.scale[0]) * np.float32(w_scale))
    bq = np.round(fc.bias / bias_scale).astype(np.int32)
    w_name = g.const("logits.weight", wq, "int8", QuantParams((w_scale,), (0,)))
    b_name = g.const("logits.bias", bq, "int32", QuantParams((bias_scale,), (0,)))
    logits = g.activation("logits", (1, plan.num_classes), quant["logits"])
    g.ops.append(Op("fully_connected", [flat, w_name, b_name], [logits], {"activation": "none"}, "logits"))
    graph = Graph(g.tensors, g.ops, ["input"], [logits], name=str(arch))
    graph.validate()
    return graph


def structure_graph(spec: SpaceSpec, arch: Arch) -> Graph:
    """The deployed graph of ``arch`` with zero weights: exact shapes, ops and byte sizes, for
    cost models that must agree with the compiler without training or calibrating anything."""
    plan = plan_net(spec, arch)
    params = {
        name: LayerParams(np.zeros(shape), np.zeros(shape[0]), stride, depthwise)
        for name, shape, stride, depthwise, _act in net_layers(plan, spec.stem_stride)
    }
    params["logits"] = LayerParams(np.zeros((plan.num_classes, plan.head_channels)), np.zeros(plan.num_classes))
    names = [name for name, *_ in net_layers(plan, spec.stem_stride)] + ["logits"]
    names += [f"b{i}.add" for i, b in enumerate(plan.blocks) if b.residual]
    return build_int8_graph(spec, arch, params, {name: (0.0, 6.0) for name in names})


def quantize_subnet(
    subnet: Subnet, calibration: ImageSet, *, count: int = 512, adaptive_rounding: bool = True
) -> Graph:
    """Quantize ``subnet`` (eval mode, BN recalibrated) into an int8 ``Graph``.

    Args:
        subnet: the float subnet.
        calibration: images whose first ``count`` set the activation ranges and, with
            ``adaptive_rounding``, the conv weights' rounding (training images, never the test split).
        adaptive_rounding: round conv weights to least output error (:mod:`.rounding`), not to
            nearest; same scales, shapes and sizes either way.

    Returns:
        A validated graph with one int8 input ``(1, R, R, C)`` and int8 logits ``(1, classes)``.
    """
    seen = calibrate(subnet, calibration, count, moments=adaptive_rounding)
    plan = subnet.plan
    modules = dict(_layer_names(subnet))
    params = {}
    for name, _shape, stride, depthwise, _act in net_layers(plan, subnet.spec.stem_stride):
        weight, bias = _fold_bn(modules[name])
        if adaptive_rounding:
            weight = dequantized_adaptive(weight, seen.moment(name))
        params[name] = LayerParams(weight, bias, stride, depthwise)
    params["logits"] = LayerParams(
        subnet.classifier.weight.detach().double().numpy(), subnet.classifier.bias.detach().double().numpy()
    )
    return build_int8_graph(subnet.spec, subnet.arch, params, {name: (seen.lo[name], seen.hi[name]) for name in seen.lo})
