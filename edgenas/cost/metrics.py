"""Exact MACs, parameters, weight bytes and kernel calls of a subnet, from its ``NetPlan``.

Counts follow the deployed int8 graph (``edgenas.deploy.quantize.build_int8_graph``): BN is folded
into conv weights and biases, residual ADDs fuse into the projection, the pooled features go
through one fully connected layer, and kernels wider than their map lose the taps that only read
padding (``edgenas.deploy.crop_taps``). ``model_flash_bytes`` is exactly what codegen emits as ``en_w_*``
arrays (``EN_MODEL_FLASH_BYTES``): weights in codegen's layout (int8 for depthwise and FC, codegen's packed
layout for convs, see :func:`conv_filter_flash_bytes`) plus, per output channel, an int32 bias, an int32
requantisation multiplier and an int32 shift (the FC layer is per-tensor: one multiplier and shift),
and a fused ADD's 2 KB table where codegen emits one (:func:`edgenas.deploy.codegen.add_lut_wanted`).
A test checks every number against the compiler on random subnets.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from ..deploy import codegen
from ..deploy.crop_taps import cropped_kernel
from ..space import Arch, BlockPlan, SpaceSpec, plan_net, same_out

_PER_CHANNEL_BYTES = 12  # int32 bias + int32 multiplier + int32 shift per output channel


@dataclass(frozen=True)
class LayerCost:
    """One conv/dw/FC layer of the deployed graph."""

    name: str
    macs: int
    params: int
    flash_bytes: int


@lru_cache(maxsize=4096)
def conv_filter_flash_bytes(cout: int, kh: int, kw: int, cin: int) -> int:
    """Flash bytes of a (non-depthwise) conv filter as codegen stores it: its own weight packer
    applied to a zero OHWI filter, so a layout change in codegen shows up here too."""
    pack = getattr(codegen, "pack_conv_weights", None)
    if pack is None:
        return cout * kh * kw * cin
    return int(pack(np.zeros((cout, kh, kw, cin), np.int8)).nbytes)


@lru_cache(maxsize=1024)
def fc_weight_flash_bytes(cout: int, cin: int) -> int:
    """Flash bytes of FC weights as codegen stores them (its packer on a zero matrix: rows
    padded to a multiple of 4 inputs)."""
    pack = getattr(codegen, "pack_fc_weights", None)
    if pack is None:
        return cout * cin
    return int(pack(np.zeros((cout, cin), np.int8)).nbytes)


def _conv(name: str, in_hw: int, stride: int, cin: int, cout: int, kernel: int, depthwise: bool) -> LayerCost:
    """A SAME conv as deployed: over the taps that reach the image (``crop_taps.cropped_kernel``)."""
    kernel = cropped_kernel(in_hw, kernel, stride)
    out_hw = same_out(in_hw, stride)
    weights = cout * kernel * kernel * (1 if depthwise else cin)
    filter_bytes = weights if depthwise else conv_filter_flash_bytes(cout, kernel, kernel, cin)
    return LayerCost(name, out_hw * out_hw * weights, weights + cout, filter_bytes + _PER_CHANNEL_BYTES * cout)


def prefix_layers(spec: SpaceSpec, resolution: int, width: float) -> list[LayerCost]:
    """Stem conv, first depthwise and first pointwise conv."""
    stem = spec.width_channels(spec.stem_channels, width)
    first = spec.width_channels(spec.first_channels, width)
    size = same_out(resolution, spec.stem_stride)
    return [
        _conv("stem", resolution, spec.stem_stride, spec.in_channels, stem, 3, False),
        _conv("first_dw", size, 1, stem, stem, 3, True),
        _conv("first_pw", size, 1, stem, first, 1, False),
    ]


def block_layers(name: str, size: int, cin: int, mid: int, cout: int, kernel: int, stride: int) -> list[LayerCost]:
    """Expand, depthwise and project convs of one block with a ``size`` x ``size`` input."""
    out = same_out(size, stride)
    return [
        _conv(f"{name}.expand", size, 1, cin, mid, 1, False),
        _conv(f"{name}.dw", size, stride, mid, mid, kernel, True),
        _conv(f"{name}.project", out, 1, mid, cout, 1, False),
    ]


def tail_layers(spec: SpaceSpec, size: int, cin: int, width: float) -> list[LayerCost]:
    """Head conv and the FC classifier (per-tensor requantisation: one multiplier and shift)."""
    head = spec.width_channels(spec.head_channels, width)
    fc_weights = head * spec.num_classes
    return [
        _conv("head", size, 1, cin, head, 1, False),
        LayerCost("logits", fc_weights, fc_weights + spec.num_classes,
                  fc_weight_flash_bytes(spec.num_classes, head) + 4 * spec.num_classes + 8),
    ]


def layer_costs(spec: SpaceSpec, arch: Arch) -> list[LayerCost]:
    """Every weighted layer of ``arch`` in execution order."""
    plan = plan_net(spec, arch)
    layers = prefix_layers(spec, arch.resolution, arch.width)
    for i, b in enumerate(plan.blocks):
        block = block_layers(f"b{i}", b.in_size, b.in_channels, b.mid_channels, b.out_channels, b.kernel, b.stride)
        out = same_out(b.in_size, b.stride)
        if b.residual and codegen.add_lut_wanted(out * out * b.out_channels):  # the ADD fused into project
            block[-1] = replace(block[-1], flash_bytes=block[-1].flash_bytes + codegen.ADD_LUT_BYTES)
        layers += block
    return layers + tail_layers(spec, plan.head_size, plan.blocks[-1].out_channels, arch.width)


def macs(spec: SpaceSpec, arch: Arch) -> int:
    """Multiply-accumulates of one inference (convs, depthwise convs, FC; pooling and ADDs excluded)."""
    return sum(layer.macs for layer in layer_costs(spec, arch))


def params(spec: SpaceSpec, arch: Arch) -> int:
    """Weights and biases of the deployed (BN-folded) model."""
    return sum(layer.params for layer in layer_costs(spec, arch))


def model_flash_bytes(spec: SpaceSpec, arch: Arch) -> int:
    """Bytes of the ``en_w_*`` arrays codegen emits (``EN_MODEL_FLASH_BYTES``)."""
    return sum(layer.flash_bytes for layer in layer_costs(spec, arch))


def kernel_calls(spec: SpaceSpec, arch: Arch) -> int:
    """Layers of the compiled model (``EN_MODEL_NUM_LAYERS``): stem, first block (2), three per
    block (the residual ADD is fused into the projection), head, pool, FC."""
    return 3 + 3 * sum(arch.depths) + 3


def uses_strided_depthwise(spec: SpaceSpec, arch: Arch) -> bool:
    """Whether the compiled model calls ``en_dwconv2d_strided_s8`` (a block whose depthwise
    window the compiler sends there, :func:`edgenas.deploy.codegen.strided_window`), so its
    firmware links that strategy's code."""
    return any(codegen.strided_window((k, k), (b.stride, b.stride)) for b, k in _deployed_kernels(spec, arch))


def uses_kx1_depthwise(spec: SpaceSpec, arch: Arch) -> bool:
    """Whether the compiled model calls ``en_dwconv2d_kx1_s8`` (a block whose depthwise kernel
    the compiler sends there, :func:`edgenas.deploy.codegen.kx1_window`), so its firmware links
    that strategy's code. Blocks of the registered spaces have square kernels, so this is False
    for them today; it is here so that a space with K x 1 kernels is costed right."""
    return any(codegen.kx1_window(_kernel_hw(k)) for _, k in _deployed_kernels(spec, arch))


def uses_kx1_long_depthwise(spec: SpaceSpec, arch: Arch) -> bool:
    """The same for ``en_dwconv2d_kx1_long_s8`` (K x 1 kernels of 5 taps and more,
    :func:`edgenas.deploy.codegen.kx1_long_window`)."""
    return any(codegen.kx1_long_window(_kernel_hw(k)) for _, k in _deployed_kernels(spec, arch))


def _deployed_kernels(spec: SpaceSpec, arch: Arch) -> list[tuple[BlockPlan, int]]:
    """Each block with the depthwise kernel its compiled model runs (dead taps cropped)."""
    return [(b, cropped_kernel(b.in_size, b.kernel, b.stride)) for b in plan_net(spec, arch).blocks]


def _kernel_hw(kernel: int | tuple[int, int]) -> tuple[int, int]:
    return (kernel, kernel) if isinstance(kernel, int) else (int(kernel[0]), int(kernel[1]))
