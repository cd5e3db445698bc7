"""Int8 graphs for profiling: many table entries in one model, and whole subnets, with random weights.

``chain_graph`` strings any list of signatures into one graph so one firmware measures dozens of
entries (builds are the slow part). Between entries, *adapter* ops bring the previous tensor to
the next entry's input shape: RESHAPE back to NHWC after a classifier, PAD to grow or a VALID
average pool to shrink the spatial size, and a 1x1 conv to change channels. Adapters are
profiled like everything else but their layers are not attributed to any entry. An entry sees
the same context as inside a real subnet (its input is read by its first conv and, for residual
blocks, by its add), so the compiler makes the same fusion and in-place decisions and the
entry's per-layer counts are the ones it has inside a subnet.

Timing barely depends on weight values, but random weights (not zeros) keep every data path of
the kernels honest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..deploy.ir import Graph, Op, QuantParams
from ..deploy.quantize import INPUT_QUANT, LayerParams, activation_quant, GraphBuilder, build_int8_graph, net_layers
from ..space import Arch, SpaceSpec, plan_net
from ..space.signature import Signature

RELU6_RANGE = (0.0, 6.0)
LINEAR_RANGE = (-4.0, 4.0)


def _conv_params(rng: np.random.Generator, cout: int, cin: int, k: int, stride: int = 1,
                 depthwise: bool = False) -> LayerParams:
    fan_in = k * k * (1 if depthwise else cin)
    shape = (cout, 1 if depthwise else cin, k, k)
    return LayerParams(rng.normal(0.0, np.sqrt(2.0 / fan_in), shape), rng.normal(0.0, 0.1, cout), stride, depthwise)


class _Chain:
    """A graph builder that tracks the current tensor and who owns each op."""

    def __init__(self, rng: np.random.Generator, in_size: int, in_channels: int) -> None:
        self.rng = rng
        self.g = GraphBuilder()
        self.x = self.g.activation("input", (1, in_size, in_size, in_channels), INPUT_QUANT)
        self.owner: dict[str, int] = {}
        self.adapters = 0

    def _name(self, owner: int | None, label: str) -> str:
        if owner is None:
            self.adapters += 1
            return f"a{self.adapters}.{label}"
        name = f"e{owner}.{label}"
        self.owner[name] = owner
        return name

    def shape(self) -> tuple[int, ...]:
        return self.g.tensors[self.x].shape

    def conv(self, owner: int | None, label: str, cout: int, k: int, stride: int, depthwise: bool,
             activation: str) -> str:
        cin = self.shape()[-1]
        params = _conv_params(self.rng, cout, cin, k, stride, depthwise)
        lo_hi = RELU6_RANGE if activation == "relu6" else LINEAR_RANGE
        self.x = self.g.conv(self._name(owner, label), self.x, params, activation_quant(*lo_hi), activation)
        return self.x

    def add(self, owner: int, a: str, b: str) -> str:
        name = self._name(owner, "add")
        out = self.g.activation(name, self.g.tensors[b].shape, activation_quant(-6.0, 6.0))
        self.g.ops.append(Op("add", [a, b], [out], {"activation": "none"}, name))
        self.x = out
        return out

    def adapt(self, size: int, channels: int, force_conv: bool = False) -> None:
        """Bring the current tensor to ``(1, size, size, channels)`` with unattributed ops."""
        g = self.g
        shape = self.shape()
        if len(shape) == 2:  # after a classifier: back to NHWC (an alias, no kernel)
            name = self._name(None, "reshape")
            new = (1, 1, 1, shape[1])
            out = g.activation(name, new, g.tensors[self.x].quant)
            sh = g.const(f"{name}.shape", np.asarray(new), "int32")
            g.ops.append(Op("reshape", [self.x, sh], [out], {"new_shape": new}, name))
            self.x = out
            shape = new
        h = shape[1]
        if h < size:
            name = self._name(None, "pad")
            pads = g.const(f"{name}.pads", np.asarray([[0, 0], [0, size - h], [0, size - h], [0, 0]]), "int32")
            out = g.activation(name, (1, size, size, shape[3]), g.tensors[self.x].quant)
            g.ops.append(Op("pad", [self.x, pads], [out], {}, name))
            self.x = out
        elif h > size:
            name = self._name(None, "pool")
            f = h - size + 1
            out = g.activation(name, (1, size, size, shape[3]), g.tensors[self.x].quant)
            g.ops.append(Op("avg_pool2d", [self.x], [out], {"filter_h": f, "filter_w": f, "stride_h": 1,
                                                            "stride_w": 1, "padding": "valid",
                                                            "activation": "none"}, name))
            self.x = out
        if force_conv or self.shape()[-1] != channels:
            self.conv(None, "pw", channels, 1, 1, False, "relu6")

    def entry(self, i: int, sig: Signature) -> None:
        """Append the ops of ``sig`` (its input is the current tensor)."""
        if sig.kind == "stem":
            self.conv(i, "stem", sig.mid_channels, 3, sig.stride, False, "relu6")
            self.conv(i, "first_dw", sig.mid_channels, 3, 1, True, "relu6")
            self.conv(i, "first_pw", sig.out_channels, 1, 1, False, "none")
        elif sig.kind == "mbconv":
            x = self.x
            self.conv(i, "expand", sig.mid_channels, 1, 1, False, "relu6")
            self.conv(i, "dw", sig.mid_channels, sig.kernel, sig.stride, True, "relu6")
            y = self.conv(i, "project", sig.out_channels, 1, 1, False, "none")
            if sig.residual:
                self.add(i, x, y)
        elif sig.kind == "head":
            self.conv(i, "head", sig.mid_channels, 1, 1, False, "relu6")
            self.classifier(i, sig.out_channels)
        else:
            raise ValueError(f"unknown signature kind {sig.kind!r}")

    def classifier(self, owner: int, classes: int) -> None:
        g = self.g
        _, h, w, c = self.shape()
        quant = g.tensors[self.x].quant
        pool = self._name(owner, "pool")
        g.activation(pool, (1, 1, 1, c), quant)
        g.ops.append(Op("avg_pool2d", [self.x], [pool], {"filter_h": h, "filter_w": w, "stride_h": 1, "stride_w": 1,
                                                         "padding": "valid", "activation": "none"}, pool))
        flat = self._name(owner, "flatten")
        g.activation(flat, (1, c), quant)
        sh = g.const(f"{flat}.shape", np.asarray([1, c]), "int32")
        g.ops.append(Op("reshape", [pool, sh], [flat], {"new_shape": (1, c)}, flat))
        name = self._name(owner, "logits")
        w_scale = 0.01
        wq = self.rng.integers(-127, 128, size=(classes, c)).astype(np.int8)
        bias_scale = float(np.float32(quant.scale[0]) * np.float32(w_scale))
        w_name = g.const(f"{name}.weight", wq, "int8", _qp((w_scale,)))
        b_name = g.const(f"{name}.bias", self.rng.integers(-1000, 1000, classes).astype(np.int32), "int32",
                         _qp((bias_scale,)))
        out = g.activation(name, (1, classes), activation_quant(-8.0, 8.0))
        g.ops.append(Op("fully_connected", [flat, w_name, b_name], [out], {"activation": "none"}, name))
        self.x = out


def _qp(scales: tuple[float, ...]) -> QuantParams:
    return QuantParams(scales, (0,) * len(scales))


def chain_graph(sigs: Sequence[Signature], seed: int = 0, *, lead: bool = True, tail: bool = True
                ) -> tuple[Graph, dict[str, int]]:
    """One int8 graph holding every entry of ``sigs`` in order, with adapters between them.

    Args:
        lead: put a 1x1 conv between the graph input and the first entry (firmware profiling:
            the harness copies the input into the arena, and a residual add must not write over
            the input). ``lead=False, tail=False`` with one signature gives the bare entry.
        tail: end with a small 8-value output (keeps the firmware's RESULT frame short).

    Returns:
        The validated graph and ``owner``: op name -> index into ``sigs`` (adapter ops are absent).
    """
    if not sigs:
        raise ValueError("chain_graph needs at least one signature")
    rng = np.random.default_rng(seed)
    first = sigs[0]
    chain = _Chain(rng, first.in_size, first.in_channels)
    for i, sig in enumerate(sigs):
        # the first entry never reads the graph input directly (a residual add must not
        # overwrite the input buffer, and a real stem reads the copied-in image anyway)
        chain.adapt(sig.in_size, sig.in_channels, force_conv=(i == 0 and lead))
        chain.entry(i, sig)
    if tail and len(chain.shape()) != 2:  # end on a small output so the RESULT frame stays short
        chain.adapt(1, 8)
    graph = Graph(chain.g.tensors, chain.g.ops, ["input"], [chain.x], name=f"profile-chain-{len(sigs)}")
    graph.validate()
    return graph, chain.owner


def random_arch_graph(spec: SpaceSpec, arch: Arch, seed: int = 0) -> Graph:
    """The deployed int8 graph of ``arch`` (same builder as quantization) with random weights."""
    rng = np.random.default_rng(seed)
    plan = plan_net(spec, arch)
    params = {}
    ranges = {}
    for name, shape, stride, depthwise, act in net_layers(plan, spec.stem_stride):
        params[name] = _conv_params(rng, shape[0], shape[1], shape[2], stride, depthwise)
        ranges[name] = RELU6_RANGE if act == "relu6" else LINEAR_RANGE
    params["logits"] = LayerParams(rng.normal(0, 0.1, (plan.num_classes, plan.head_channels)),
                                   rng.normal(0, 0.1, plan.num_classes))
    ranges["logits"] = (-8.0, 8.0)
    for i, b in enumerate(plan.blocks):
        if b.residual:
            ranges[f"b{i}.add"] = (-6.0, 6.0)
    return build_int8_graph(spec, arch, params, ranges)

