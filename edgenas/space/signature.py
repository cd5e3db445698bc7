"""Block signatures: the unit a latency table measures, keyed like Once-for-All's tables.

A subnet is cut into *entries* whose cost depends only on their own shapes:

- ``stem``: the 3x3 stem conv + the fixed first block (depthwise 3x3 + pointwise);
- ``mbconv``: one inverted-residual block (expand 1x1, depthwise KxK, project 1x1, + residual add);
- ``head``: the 1x1 head conv + global average pool + classifier.

So ``latency(arch) = sum(entry(sig) for sig in arch_signatures(spec, arch)) + overhead`` where
the overhead (input/output copies, call) is measured once per target.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .arch import Arch, BlockChoice
from .plan import plan_net
from .spec import SpaceSpec, same_out

KINDS = ("stem", "mbconv", "head")
_KEY = re.compile(r"^(stem|mbconv|head):i(\d+)x(\d+):m(\d+):o(\d+):k(\d+):s(\d+):r([01])$")


@dataclass(frozen=True, order=True)
class Signature:
    """Shapes of one table entry (square inputs; batch 1).

    Attributes:
        kind: ``stem``, ``mbconv`` or ``head``.
        in_size: input height = width.
        in_channels: input channels.
        mid_channels: hidden channels (mbconv: expanded; stem: stem conv outputs; head: head conv outputs).
        out_channels: output channels (head: classes).
        kernel: depthwise kernel (stem: 3; head: 1).
        stride: stride of the block (stem: stem stride; head: 1).
        residual: the block adds its input to its output.
    """

    kind: str
    in_size: int
    in_channels: int
    mid_channels: int
    out_channels: int
    kernel: int
    stride: int
    residual: bool

    @property
    def out_size(self) -> int:
        """Output height = width (SAME padding: ceil(in / stride); head: 1)."""
        return 1 if self.kind == "head" else same_out(self.in_size, self.stride)

    @property
    def key(self) -> str:
        """Stable string key, e.g. ``mbconv:i12x8:m24:o12:k3:s2:r0``."""
        return (f"{self.kind}:i{self.in_size}x{self.in_channels}:m{self.mid_channels}:o{self.out_channels}"
                f":k{self.kernel}:s{self.stride}:r{int(self.residual)}")

    @classmethod
    def parse(cls, key: str) -> Signature:
        m = _KEY.match(key)
        if not m:
            raise ValueError(f"not a signature key: {key!r}")
        kind, *nums = m.groups()
        i, c, mid, o, k, s, r = (int(v) for v in nums)
        return cls(kind, i, c, mid, o, k, s, bool(r))

    def __str__(self) -> str:
        return self.key


def arch_signatures(spec: SpaceSpec, arch: Arch) -> list[Signature]:
    """The entries of ``arch`` in execution order (stem, one per active block, head)."""
    plan = plan_net(spec, arch)
    sigs = [Signature("stem", arch.resolution, plan.in_channels, plan.stem_channels, plan.first_channels, 3,
                      spec.stem_stride, False)]
    for b in plan.blocks:
        sigs.append(Signature("mbconv", b.in_size, b.in_channels, b.mid_channels, b.out_channels, b.kernel, b.stride,
                              b.residual))
    sigs.append(Signature("head", plan.head_size, plan.blocks[-1].out_channels, plan.head_channels, plan.num_classes, 1, 1,
                          False))
    return sigs


def space_signatures(spec: SpaceSpec) -> list[Signature]:
    """Every signature any arch of ``spec`` can contain, sorted (the full table to profile).

    Enumerated per (resolution, width, stage, first-or-later block, kernel, expand): a block's
    shapes depend on nothing else.
    """
    out: set[Signature] = set()
    for r in spec.resolutions:
        for w in spec.widths:
            for k in spec.kernels:
                for e in spec.expands:
                    # one arch per (r, w, k, e) at maximal depth holds every first and later block
                    stages = tuple((BlockChoice(k, e),) * max(s.depths) for s in spec.stages)
                    out.update(arch_signatures(spec, Arch(r, w, stages)))
    return sorted(out)
