"""The elastic space as DARTS sees it: one *slot* per block position, one candidate op per choice.

At a fixed resolution and width every block position of every stage (up to the stage's largest
depth) is a slot. Its candidates are the ``kernel x expand`` blocks, plus ``skip`` (identity) for
slots at or beyond the stage's smallest depth: choosing ``skip`` there is how elastic depth is
expressed. Such slots are never the first block of a stage (depths are at least 1), so they are
residual blocks with equal input and output shapes and the identity is a valid op.

Derivation is hierarchical: an optional slot is ``skip`` when ``skip`` holds more than half of
its softmax weight (more than all blocks together), otherwise it takes the block with the largest
logit. (A plain argmax over all candidates would pick ``skip`` as soon as it beats the best single
block, even while the blocks together hold most of the weight: with nine block candidates and a
latency term that pushes all of them down, that derived every stage at its minimum depth while
the expected latency was still twice as large.) A stage's depth is the number of leading slots
that are not ``skip`` (the first ``skip`` ends the stage, later slots are dropped, because an OFA
subnet of depth ``d`` runs the first ``d`` blocks). If that count is not one of the stage's allowed
depths, the largest allowed depth below it is used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ...errors import SpaceError
from ...space import Arch, BlockChoice, NetPlan, SpaceSpec, plan_net

SKIP = None
"""The candidate value that stands for "no block here" (identity)."""


@dataclass(frozen=True)
class Slot:
    """One block position and its candidate ops.

    Attributes:
        stage, index: position (``index`` counts from 0 within the stage).
        in_channels, out_channels: fixed by resolution and width, not by the choice.
        stride: of the block (the stage's stride at index 0, else 1).
        residual: the block adds its input (every block but a stage's first).
        candidates: ``BlockChoice`` per ``kernel x expand`` in (kernel, expand) order, then ``SKIP``
            where the slot is optional.
        mid_channels: hidden channels for each expand ratio of the space, in ``spec.expands`` order.
    """

    stage: int
    index: int
    in_channels: int
    out_channels: int
    stride: int
    residual: bool
    candidates: tuple[BlockChoice | None, ...]
    mid_channels: tuple[int, ...]

    @property
    def optional(self) -> bool:
        return self.candidates[-1] is SKIP


def reference_arch(spec: SpaceSpec, resolution: int, width: float) -> Arch:
    """The max-depth arch at (resolution, width) with the first kernel/expand everywhere."""
    choice = BlockChoice(spec.kernels[0], spec.expands[0])
    return Arch(resolution, width, tuple((choice,) * max(s.depths) for s in spec.stages)).validate(spec)


def build_slots(spec: SpaceSpec, resolution: int, width: float) -> tuple[NetPlan, tuple[Slot, ...]]:
    """Every slot of ``spec`` at ``(resolution, width)`` in execution order, and the reference plan.

    Raises:
        SpaceError: ``resolution`` or ``width`` is not in ``spec``.
    """
    plan = plan_net(spec, reference_arch(spec, resolution, width))
    blocks = tuple((k, e) for k in spec.kernels for e in spec.expands)
    slots = []
    for b in plan.blocks:
        optional = b.index >= min(spec.stages[b.stage].depths)
        cands: tuple[BlockChoice | None, ...] = tuple(BlockChoice(k, e) for k, e in blocks)
        if optional:
            cands += (SKIP,)
        mids = tuple(spec.mid_channels(b.in_channels, e) for e in spec.expands)
        slots.append(Slot(b.stage, b.index, b.in_channels, b.out_channels, b.stride, b.residual, cands, mids))
    return plan, tuple(slots)


def arch_from_choices(spec: SpaceSpec, resolution: int, width: float, slots: Sequence[Slot],
                      indices: Sequence[int]) -> Arch:
    """The arch picking candidate ``indices[i]`` in slot ``i`` (depth by the first ``skip``; module docstring)."""
    stages: list[list[BlockChoice]] = [[] for _ in spec.stages]
    stopped = [False] * len(spec.stages)
    for slot, index in zip(slots, indices):
        choice = slot.candidates[int(index)]
        if stopped[slot.stage] or choice is SKIP:
            stopped[slot.stage] = True
            continue
        stages[slot.stage].append(choice)
    out = []
    for blocks, sspec in zip(stages, spec.stages):
        depth = max(d for d in sspec.depths if d <= len(blocks))
        out.append(tuple(blocks[:depth]))
    return Arch(resolution, width, tuple(out)).validate(spec)


def derive_arch(spec: SpaceSpec, resolution: int, width: float, slots: Sequence[Slot],
                logits: Sequence[torch.Tensor]) -> Arch:
    """The discrete arch of ``logits`` (module docstring): per slot, ``skip`` if its softmax weight
    exceeds 1/2, else the block candidate with the largest logit (ties: the first)."""
    picks = []
    for slot, alpha in zip(slots, logits):
        a = alpha.detach()
        if slot.optional:
            if float(torch.softmax(a, dim=-1)[-1]) > 0.5:
                picks.append(len(slot.candidates) - 1)
                continue
            a = a[:-1]
        picks.append(int(torch.argmax(a)))
    return arch_from_choices(spec, resolution, width, slots, picks)


def onehot_weights(slots: Sequence[Slot], arch: Arch) -> list[torch.Tensor]:
    """Per-slot one-hot candidate weights that select ``arch`` (its resolution/width must be the slots').

    Raises:
        SpaceError: ``arch`` uses a choice no slot offers.
    """
    out = []
    for slot in slots:
        stage = arch.stages[slot.stage]
        want = stage[slot.index] if slot.index < len(stage) else SKIP
        if want not in slot.candidates:
            raise SpaceError(f"stage {slot.stage} block {slot.index}: {want} is not a candidate of this slot")
        w = torch.zeros(len(slot.candidates))
        w[slot.candidates.index(want)] = 1.0
        out.append(w)
    return out
