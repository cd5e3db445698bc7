"""One point of an elastic space: a small typed value with a canonical string.

The canonical string lists only active blocks, so two configurations that build the same subnet
have the same string — it keys latency tables, the results store and reports::

    r32|w0.75|k3e4,k5e6|k3e3,k7e6,k5e4|k3e3,k3e3|k5e6,k7e4

(resolution | width multiplier | one group per stage, one ``kKeE`` item per active block).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..errors import SpaceError
from .spec import SpaceSpec

_BLOCK = re.compile(r"^k(\d+)e(\d+)$")


@dataclass(frozen=True, order=True)
class BlockChoice:
    """Depthwise kernel size and expand ratio of one inverted-residual block."""

    kernel: int
    expand: int

    def __str__(self) -> str:
        return f"k{self.kernel}e{self.expand}"


@dataclass(frozen=True, order=True)
class Arch:
    """A subnet: input resolution, width multiplier, and the active blocks of every stage."""

    resolution: int
    width: float
    stages: tuple[tuple[BlockChoice, ...], ...]

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(len(s) for s in self.stages)

    def blocks(self) -> list[tuple[int, int, BlockChoice]]:
        """Active blocks as ``(stage, index_in_stage, choice)`` in execution order."""
        return [(si, bi, b) for si, stage in enumerate(self.stages) for bi, b in enumerate(stage)]

    def __str__(self) -> str:
        stages = "|".join(",".join(str(b) for b in stage) for stage in self.stages)
        return f"r{self.resolution}|w{self.width:g}|{stages}"

    @classmethod
    def parse(cls, text: str) -> Arch:
        """Inverse of ``str(arch)``.

        Raises:
            SpaceError: naming the part of ``text`` that does not parse.
        """
        parts = text.strip().split("|")
        if len(parts) < 3 or not parts[0].startswith("r") or not parts[1].startswith("w"):
            raise SpaceError(
                f"cannot parse architecture {text!r}",
                hint="expected 'r<res>|w<width>|k3e4,k5e6|...', e.g. r32|w1|k3e4,k5e6|k3e3,k3e3",
            )
        try:
            resolution = int(parts[0][1:])
            width = float(parts[1][1:])
        except ValueError:
            raise SpaceError(f"bad resolution or width in {text!r}") from None
        stages = []
        for group in parts[2:]:
            blocks = []
            for item in group.split(","):
                match = _BLOCK.match(item)
                if not match:
                    raise SpaceError(f"bad block {item!r} in {text!r}", hint="blocks look like k5e6")
                blocks.append(BlockChoice(int(match.group(1)), int(match.group(2))))
            stages.append(tuple(blocks))
        return cls(resolution, width, tuple(stages))

    def to_dict(self) -> dict:
        return {
            "resolution": self.resolution,
            "width": self.width,
            "stages": [[{"kernel": b.kernel, "expand": b.expand} for b in s] for s in self.stages],
        }

    @classmethod
    def from_dict(cls, data: dict) -> Arch:
        try:
            stages = tuple(tuple(BlockChoice(int(b["kernel"]), int(b["expand"])) for b in s) for s in data["stages"])
            return cls(int(data["resolution"]), float(data["width"]), stages)
        except (KeyError, TypeError, ValueError) as exc:
            raise SpaceError(f"invalid architecture JSON: {exc}") from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Arch:
        return cls.from_dict(json.loads(text))

    def validate(self, spec: SpaceSpec) -> Arch:
        """Return self if it belongs to ``spec``.

        Raises:
            SpaceError: naming the first value outside the space.
        """
        if self.resolution not in spec.resolutions:
            raise SpaceError(f"resolution {self.resolution} is not in {spec.resolutions}")
        if self.width not in spec.widths:
            raise SpaceError(f"width {self.width:g} is not in {spec.widths}")
        if len(self.stages) != len(spec.stages):
            raise SpaceError(f"architecture has {len(self.stages)} stages, space {spec.name!r} has {len(spec.stages)}")
        for si, (stage, sspec) in enumerate(zip(self.stages, spec.stages)):
            if len(stage) not in sspec.depths:
                raise SpaceError(f"stage {si} depth {len(stage)} is not in {sspec.depths}")
            for b in stage:
                if b.kernel not in spec.kernels or b.expand not in spec.expands:
                    raise SpaceError(f"stage {si} block {b} is not in kernels {spec.kernels} x expands {spec.expands}")
        return self
