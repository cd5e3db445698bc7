"""An arch of a space as a fixed-length sequence of categorical decisions.

Order: resolution, width, then per stage its depth followed by a kernel and an expand ratio for every
block slot up to the stage's largest depth. The length is fixed so that RL controllers and Optuna
samplers (multivariate TPE, GP, NSGA-II crossover) see one unchanging space; slots at or beyond a
stage's chosen depth are *inactive*: decoding ignores them, :func:`active_mask` says which they are,
and encoding fills them with choice 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from ..space import Arch, BlockChoice, SpaceSpec


@dataclass(frozen=True)
class Decision:
    """One categorical choice. ``stage``/``slot`` locate block-slot decisions (None otherwise)."""

    name: str
    choices: tuple
    stage: int | None = None
    slot: int | None = None


@lru_cache(maxsize=64)
def decisions(spec: SpaceSpec) -> tuple[Decision, ...]:
    """The decision sequence of ``spec`` (names like ``s1.depth``, ``s1.b2.kernel``)."""
    out = [Decision("resolution", spec.resolutions), Decision("width", spec.widths)]
    for si, stage in enumerate(spec.stages):
        out.append(Decision(f"s{si}.depth", stage.depths, si))
        for bi in range(max(stage.depths)):
            out.append(Decision(f"s{si}.b{bi}.kernel", spec.kernels, si, bi))
            out.append(Decision(f"s{si}.b{bi}.expand", spec.expands, si, bi))
    return tuple(out)


def encode(spec: SpaceSpec, arch: Arch) -> list[int]:
    """Choice indices of ``arch`` (inactive slots: 0)."""
    index = []
    for d in decisions(spec):
        if d.name == "resolution":
            index.append(spec.resolutions.index(arch.resolution))
        elif d.name == "width":
            index.append(spec.widths.index(arch.width))
        elif d.slot is None:
            index.append(spec.stages[d.stage].depths.index(len(arch.stages[d.stage])))
        else:
            stage = arch.stages[d.stage]
            if d.slot >= len(stage):
                index.append(0)
            elif d.name.endswith("kernel"):
                index.append(spec.kernels.index(stage[d.slot].kernel))
            else:
                index.append(spec.expands.index(stage[d.slot].expand))
    return index


def decode(spec: SpaceSpec, index: Sequence[int]) -> Arch:
    """The arch chosen by ``index`` (one entry per decision; inactive slots ignored)."""
    ds = decisions(spec)
    value = {d.name: d.choices[int(i)] for d, i in zip(ds, index, strict=True)}
    stages = []
    for si in range(len(spec.stages)):
        depth = value[f"s{si}.depth"]
        stages.append(tuple(BlockChoice(value[f"s{si}.b{bi}.kernel"], value[f"s{si}.b{bi}.expand"])
                            for bi in range(depth)))
    return Arch(value["resolution"], value["width"], tuple(stages))


def active_mask(spec: SpaceSpec, index: Sequence[int]) -> list[bool]:
    """Per decision: does it shape the arch (False for slots at or beyond the stage's depth)."""
    ds = decisions(spec)
    depth = {d.stage: d.choices[int(i)] for d, i in zip(ds, index) if d.stage is not None and d.slot is None}
    return [d.slot is None or d.slot < depth[d.stage] for d in ds]


def to_params(spec: SpaceSpec, arch: Arch) -> dict[str, object]:
    """``arch`` as ``{decision name: value}`` (inactive slots get the first choice)."""
    return {d.name: d.choices[i] for d, i in zip(decisions(spec), encode(spec, arch))}


def from_params(spec: SpaceSpec, params: dict[str, object]) -> Arch:
    """Inverse of :func:`to_params` (extra keys ignored, inactive slots may hold anything)."""
    return decode(spec, [d.choices.index(params[d.name]) for d in decisions(spec)])
