"""Registered space factories (``@register_space``), found by name or wildcard."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable

from ..errors import SpaceError
from .spec import SpaceSpec, StageSpec

_SPACES: dict[str, Callable[..., SpaceSpec]] = {}

DEFAULT_SPACE = "mcu-mbv2"
"""The space of the commands' ``--space`` default, whose latency tables are named after the board alone."""


def register_space(name: str) -> Callable[[Callable[..., SpaceSpec]], Callable[..., SpaceSpec]]:
    def wrap(factory: Callable[..., SpaceSpec]) -> Callable[..., SpaceSpec]:
        _SPACES[name] = factory
        return factory

    return wrap


def list_spaces(pattern: str = "*") -> list[str]:
    return sorted(n for n in _SPACES if fnmatch.fnmatch(n, pattern))


def get_space(name: str, *, in_channels: int = 1, num_classes: int = 10) -> SpaceSpec:
    """Build the registered space ``name`` for a dataset's channels and classes."""
    try:
        factory = _SPACES[name]
    except KeyError:
        raise SpaceError(f"unknown space {name!r}", hint=f"known spaces: {', '.join(list_spaces())}") from None
    return factory(in_channels=in_channels, num_classes=num_classes)


@register_space("mcu-mbv2")
def mcu_mbv2(in_channels: int = 1, num_classes: int = 10) -> SpaceSpec:
    """MobileNetV2-style space sized for 28-48 px inputs on microcontrollers.

    Peak SRAM spans ~5-60 KB and int8 weights ~20-400 KB across the space, so the usual MCU
    budgets (32 KB-256 KB RAM, 128 KB-1 MB flash) all cut through it.
    """
    depths = (2, 3, 4)
    return SpaceSpec(
        name="mcu-mbv2",
        in_channels=in_channels,
        num_classes=num_classes,
        resolutions=(24, 28, 32, 40, 48),
        widths=(0.5, 0.75, 1.0),
        kernels=(3, 5, 7),
        expands=(3, 4, 6),
        stem_channels=16,
        first_channels=16,
        stages=(
            StageSpec(channels=16, stride=2, depths=depths),
            StageSpec(channels=24, stride=2, depths=depths),
            StageSpec(channels=40, stride=2, depths=depths),
            StageSpec(channels=48, stride=1, depths=depths),
        ),
        head_channels=160,
    )


@register_space("kws-mbv2")
def kws_mbv2(in_channels: int = 1, num_classes: int = 12) -> SpaceSpec:
    """Keyword spotting on log-mel images (49 frames x 40 bands, resized to r x r).

    Speech needs the time axis more than a photo needs its pixels: DS-CNN keeps 25 frames to the
    end, while ``mcu-mbv2`` halves four times (40 px -> 3). Here the stem and two stages halve
    (48 px -> 6, 32 px -> 4), the two stride-1 stages add depth at 24 and 12 px, and expand
    ratios stay small so the 24 px stage fits 64 KB beside the audio front end.
    """
    depths = (1, 2, 3)
    return SpaceSpec(
        name="kws-mbv2",
        in_channels=in_channels,
        num_classes=num_classes,
        resolutions=(32, 40, 48),
        widths=(0.5, 0.75, 1.0),
        kernels=(3, 5, 7),
        expands=(2, 3, 4),
        stem_channels=16,
        first_channels=16,
        stages=(
            StageSpec(channels=24, stride=1, depths=depths),
            StageSpec(channels=32, stride=2, depths=depths),
            StageSpec(channels=48, stride=1, depths=depths),
            StageSpec(channels=64, stride=2, depths=depths),
        ),
        head_channels=128,
    )


@register_space("tiny-test")
def tiny_test(in_channels: int = 1, num_classes: int = 4) -> SpaceSpec:
    """A very small space for fast tests: same structure, few channels."""
    return SpaceSpec(
        name="tiny-test",
        in_channels=in_channels,
        num_classes=num_classes,
        resolutions=(12, 16),
        widths=(0.5, 1.0),
        kernels=(3, 5),
        expands=(2, 3),
        stem_channels=8,
        first_channels=8,
        stages=(StageSpec(channels=8, stride=2, depths=(1, 2)), StageSpec(channels=12, stride=2, depths=(1, 2))),
        head_channels=16,
    )
