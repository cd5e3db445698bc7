"""Sampling, mutation and crossover over a space; the only randomness is the caller's Generator."""

from __future__ import annotations

import numpy as np

from .arch import Arch, BlockChoice
from .spec import SpaceSpec


def _pick(rng: np.random.Generator, values):
    return values[int(rng.integers(len(values)))]


def _block(spec: SpaceSpec, rng: np.random.Generator) -> BlockChoice:
    return BlockChoice(_pick(rng, spec.kernels), _pick(rng, spec.expands))


def sample_arch(spec: SpaceSpec, rng: np.random.Generator) -> Arch:
    """Draw every choice uniformly and independently (as OFA samples subnets)."""
    resolution = _pick(rng, spec.resolutions)
    width = _pick(rng, spec.widths)
    stages = []
    for stage in spec.stages:
        depth = _pick(rng, stage.depths)
        stages.append(tuple(_block(spec, rng) for _ in range(depth)))
    return Arch(resolution, width, tuple(stages))


def largest_arch(spec: SpaceSpec) -> Arch:
    top = BlockChoice(max(spec.kernels), max(spec.expands))
    return Arch(
        max(spec.resolutions), max(spec.widths), tuple((top,) * max(s.depths) for s in spec.stages)
    )


def smallest_arch(spec: SpaceSpec) -> Arch:
    low = BlockChoice(min(spec.kernels), min(spec.expands))
    return Arch(
        min(spec.resolutions), min(spec.widths), tuple((low,) * min(s.depths) for s in spec.stages)
    )


def mutate_arch(spec: SpaceSpec, arch: Arch, rng: np.random.Generator, prob: float = 0.1) -> Arch:
    """Resample each choice (resolution, width, each stage depth, each block) with probability ``prob``.

    A deeper stage keeps its existing blocks and draws the new ones, so mutation is local.
    """
    resolution = _pick(rng, spec.resolutions) if rng.random() < prob else arch.resolution
    width = _pick(rng, spec.widths) if rng.random() < prob else arch.width
    stages = []
    for stage, sspec in zip(arch.stages, spec.stages):
        blocks = [(_block(spec, rng) if rng.random() < prob else b) for b in stage]
        if rng.random() < prob:
            depth = _pick(rng, sspec.depths)
            blocks = blocks[:depth] + [_block(spec, rng) for _ in range(depth - len(blocks))]
        stages.append(tuple(blocks))
    return Arch(resolution, width, tuple(stages))


def neighbour_archs(spec: SpaceSpec, arch: Arch) -> list[Arch]:
    """Every arch one choice away from ``arch``, in a fixed order: another resolution or width,
    one block's kernel and expand ratio, or one stage a block shorter or longer (the new block a
    copy of the stage's last)."""
    out = [Arch(r, arch.width, arch.stages) for r in spec.resolutions if r != arch.resolution]
    out += [Arch(arch.resolution, w, arch.stages) for w in spec.widths if w != arch.width]
    for si, (stage, sspec) in enumerate(zip(arch.stages, spec.stages)):
        def with_stage(blocks: tuple[BlockChoice, ...]) -> Arch:
            return Arch(arch.resolution, arch.width, arch.stages[:si] + (blocks,) + arch.stages[si + 1:])

        for bi, b in enumerate(stage):
            out += [with_stage(stage[:bi] + (BlockChoice(k, e),) + stage[bi + 1:])
                    for k in spec.kernels for e in spec.expands if (k, e) != (b.kernel, b.expand)]
        if len(stage) - 1 in sspec.depths:
            out.append(with_stage(stage[:-1]))
        if len(stage) + 1 in sspec.depths:
            out.append(with_stage(stage + stage[-1:]))
    return out


def crossover_arch(spec: SpaceSpec, a: Arch, b: Arch, rng: np.random.Generator) -> Arch:
    """Take each choice from either parent with equal probability; a stage's depth and blocks
    come from the parent chosen for that stage's depth, block by block where both have one."""
    resolution = a.resolution if rng.random() < 0.5 else b.resolution
    width = a.width if rng.random() < 0.5 else b.width
    stages = []
    for sa, sb in zip(a.stages, b.stages):
        depth = len(sa) if rng.random() < 0.5 else len(sb)
        blocks = []
        for i in range(depth):
            options = [s[i] for s in (sa, sb) if i < len(s)]
            blocks.append(options[int(rng.integers(len(options)))])
        stages.append(tuple(blocks))
    return Arch(resolution, width, tuple(stages))
