"""Declarative description of an elastic inverted-residual search space.

A space is data, not code: stages with their base widths, strides and elastic choices, plus the
fixed stem/first block/head. The supernet, the cost model and the search all read one
``SpaceSpec``; none of them hard-codes a channel count.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ..errors import SpaceError


def make_divisible(value: float, divisor: int = 4) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (at least ``divisor``), never
    dropping more than 10% — the MobileNet rule. Multiples of 4 keep int8 SIMD lanes full."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def same_out(size: int, stride: int) -> int:
    """Output size of a SAME-padded window (conv, pool) over ``size`` pixels: ceil(size / stride).

    Every layer of the spaces pads SAME (as TFLite does), so this one rule sizes every feature map."""
    return -(-size // stride)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``(before, after)`` padding of TFLite's SAME scheme for one spatial dimension."""
    total = max((same_out(size, stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def live_taps(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """``[lo, hi)``: the kernel taps of a SAME window along one dimension that can reach the input.

    The others read padding at every output (7x7 on the last 3x3 or 2x2 maps): in a conv they
    add zeros (TFLite skips them) and get zero gradients, so they can be left out.
    """
    before, _ = same_padding(size, kernel, stride)
    return max(0, before - (same_out(size, stride) - 1) * stride), min(kernel, before + size)


def dead_ring(size: int, kernel: int, stride: int) -> int:
    """Taps a SAME conv can drop from *both* ends of its kernel along one dimension.

    A symmetric crop by ``c`` keeps SAME's windows: the total padding shrinks by ``2c``, so the
    leading pad shrinks by exactly ``c`` (see ``same_padding``). The deployed model runs the
    smaller kernel: fewer multiply-adds, less flash, the same int8 outputs.
    """
    lo, hi = live_taps(size, kernel, stride)
    return min(lo, kernel - hi)


_IN_CHANNELS = (1, 64)
_CLASSES = (2, 100_000)
_CHANNELS = (1, 4096)
_STRIDE = (1, 4)
_DIVISOR = (1, 64)
_RESOLUTION = (1, 1024)
_KERNEL = (1, 15)
_EXPAND = (1, 16)
_MAX_WIDTH = 4.0
_STAGES = (1, 16)
_DEPTH = (1, 32)


def _int_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


@dataclass(frozen=True)
class StageSpec:
    """One stage of inverted-residual blocks.

    Attributes:
        channels: output channels at width multiplier 1.0.
        stride: stride of the first block (the others use 1).
        depths: allowed numbers of blocks.
    """

    channels: int
    stride: int
    depths: tuple[int, ...]


@dataclass(frozen=True)
class SpaceSpec:
    """An elastic MobileNetV2-style space for microcontrollers (ReLU6, no squeeze-excite).

    Attributes:
        name: registry name.
        in_channels: image channels (1 grayscale, 3 RGB).
        num_classes: classifier outputs.
        resolutions: allowed square input sizes.
        widths: allowed global width multipliers (scale every channel count but the classes).
        kernels: depthwise kernel sizes per block.
        expands: expand ratios per block.
        stem_channels: stem conv (3x3, stride 2) outputs at width 1.0.
        first_channels: outputs of the fixed first block (depthwise 3x3 + pointwise, expand 1).
        stages: the elastic stages.
        head_channels: 1x1 conv before global pooling, at width 1.0.
    """

    name: str
    in_channels: int
    num_classes: int
    resolutions: tuple[int, ...]
    widths: tuple[float, ...]
    kernels: tuple[int, ...]
    expands: tuple[int, ...]
    stem_channels: int
    first_channels: int
    stages: tuple[StageSpec, ...]
    head_channels: int
    stem_stride: int = 2
    divisor: int = field(default=4)

    def __post_init__(self) -> None:
        # Bounds no microcontroller space comes near: a checkpoint's supernet.json claiming 10**6
        # channels made the supernet allocate 24 TB before anything could say it was damaged.
        if not _STAGES[0] <= len(self.stages) <= _STAGES[1]:  # no stages was an IndexError building the supernet
            raise SpaceError(f"space {self.name!r}: needs {_STAGES[0]} to {_STAGES[1]} stages, got {len(self.stages)}")
        for label, value, (low, high) in (
            ("in_channels", self.in_channels, _IN_CHANNELS), ("num_classes", self.num_classes, _CLASSES),
            ("stem_channels", self.stem_channels, _CHANNELS), ("first_channels", self.first_channels, _CHANNELS),
            ("head_channels", self.head_channels, _CHANNELS), ("stem_stride", self.stem_stride, _STRIDE),
            ("divisor", self.divisor, _DIVISOR),
            *((f"stage {i} channels", s.channels, _CHANNELS) for i, s in enumerate(self.stages)),
            *((f"stage {i} stride", s.stride, _STRIDE) for i, s in enumerate(self.stages)),
        ):
            if not _int_in(value, low, high):
                raise SpaceError(f"space {self.name!r}: {label} must be an integer from {low} to {high:,}, got {value!r}")
        for label, values, (low, high) in (("resolutions", self.resolutions, _RESOLUTION),
                                           ("kernels", self.kernels, _KERNEL), ("expands", self.expands, _EXPAND)):
            if not all(_int_in(v, low, high) for v in values):
                raise SpaceError(f"space {self.name!r}: {label} must be integers from {low} to {high:,}, got {values}")
        if not all(isinstance(w, (int, float)) and not isinstance(w, bool) and 0 < w <= _MAX_WIDTH
                   for w in self.widths):
            raise SpaceError(f"space {self.name!r}: widths must lie in (0, {_MAX_WIDTH}], got {self.widths}")
        for label, values in (
            ("resolutions", self.resolutions),
            ("widths", self.widths),
            ("kernels", self.kernels),
            ("expands", self.expands),
        ):
            if not values or list(values) != sorted(set(values)):
                raise SpaceError(f"space {self.name!r}: {label} must be non-empty, sorted and unique, got {values}")
        if any(k % 2 == 0 for k in self.kernels):
            raise SpaceError(f"space {self.name!r}: kernels must be odd, got {self.kernels}")
        for i, stage in enumerate(self.stages):
            if not all(_int_in(d, *_DEPTH) for d in stage.depths):  # 10**6 blocks would be built before any check
                raise SpaceError(f"space {self.name!r}: stage {i} depths must be integers from {_DEPTH[0]} to "
                                 f"{_DEPTH[1]}, got {stage.depths}")
            if not stage.depths or list(stage.depths) != sorted(set(stage.depths)):
                raise SpaceError(f"space {self.name!r}: stage {i} depths must be sorted positive, got {stage.depths}")

    # -- derived channel counts (one place, used by supernet, cost and codegen alike) --
    def width_channels(self, base: int, width: float) -> int:
        """Channels of a layer with ``base`` channels at width 1.0 under multiplier ``width``."""
        return make_divisible(base * width, self.divisor)

    def mid_channels(self, in_channels: int, expand: int) -> int:
        """Hidden channels of an inverted residual block."""
        return make_divisible(in_channels * expand, self.divisor)

    @property
    def max_depth(self) -> int:
        return max(max(s.depths) for s in self.stages)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> SpaceSpec:
        try:
            stages = tuple(
                StageSpec(channels=int(s["channels"]), stride=int(s["stride"]), depths=tuple(s["depths"]))
                for s in data["stages"]
            )
            fields = {k: v for k, v in data.items() if k != "stages"}
            for key in ("resolutions", "widths", "kernels", "expands"):
                fields[key] = tuple(fields[key])
            return cls(stages=stages, **fields)
        except (KeyError, TypeError) as exc:
            raise SpaceError(f"invalid space description: {exc}", hint="was it written by edgenas?") from exc
