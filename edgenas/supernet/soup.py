"""Average supernets trained on from one checkpoint (a model soup): free accuracy from runs
already paid for.

Runs continued from one checkpoint (``edgenas train --init-from``) end in one basin, yet each
sorted its blocks' hidden channels by importance when its expand phase began
(:func:`~edgenas.supernet.importance.sort_hidden_channels`), so hidden channel i of one run need
not be channel i of another. Each ingredient's hidden channels are therefore matched to the first
ingredient's first (per block, the one-to-one assignment that maximises the summed cosine
similarity of each channel's expand row, depthwise kernels and projection column; exact for a
pure permutation), then every floating-point tensor is averaged. Batch-norm running statistics
are averaged too; a subnet recalibrates its own on extraction anyway.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from scipy.optimize import linear_sum_assignment

from ..errors import CheckpointError
from .checkpoint import load_supernet, supernet_files, trained_epochs, weights_sha256
from .importance import permute_hidden
from .manifest import commit, publish, read_role
from .mbconv import ElasticMBConv
from .ofa import OFASupernet
from .teacher import TEACHER_WEIGHTS

MIN_MATCH = 0.5
"""Lowest mean matched cosine similarity accepted: below it the ingredients do not share a start,
and their average would be no network at all."""


@dataclass(frozen=True)
class Ingredient:
    directory: str
    weights_sha256: str
    epochs: int
    match: float  # mean cosine similarity of matched hidden channels to the first ingredient's


def _channel_features(block: ElasticMBConv) -> torch.Tensor:
    """One unit-norm row per hidden channel: its expand row, depthwise kernels, projection column."""
    parts = [block.expand.weight.flatten(1)]
    parts += [w.flatten(1) for _, w in sorted(block.depthwise.weights.items())]
    parts.append(block.project.weight.flatten(1).t())
    return torch.nn.functional.normalize(torch.cat(parts, dim=1), dim=1)


@torch.no_grad()
def match_hidden_channels(reference: OFASupernet, other: OFASupernet) -> float:
    """Permute ``other``'s hidden channels, block by block, onto ``reference``'s (in place); the
    function ``other`` computes is unchanged. Returns the mean cosine similarity of matched channels."""
    sims = []
    for ref, blk in zip(_blocks(reference), _blocks(other)):
        sim = _channel_features(ref) @ _channel_features(blk).t()
        rows, cols = linear_sum_assignment(sim.numpy(), maximize=True)
        permute_hidden(blk, torch.as_tensor(cols[rows.argsort()]))
        sims.append(float(sim[rows, cols].mean()))
    return sum(sims) / len(sims) if sims else 1.0


def _blocks(net: OFASupernet) -> list[ElasticMBConv]:
    return [m for m in net.modules() if isinstance(m, ElasticMBConv)]


@torch.no_grad()
def average_supernets(directories: list[Path]) -> tuple[OFASupernet, dict, list[Ingredient]]:
    """The soup of ``directories``' checkpoints: weights averaged after matching hidden channels.

    The description is that of the ingredient with the longest training (so ``trained_epochs``
    gives the longest path of epochs behind any weight), plus a ``soup`` record of every ingredient.

    Raises:
        CheckpointError: fewer than two ingredients, different spaces or datasets, or ingredients
            that share no start (mean matched similarity below ``MIN_MATCH``).
    """
    if len(directories) < 2:
        raise CheckpointError("a soup needs at least two checkpoints", hint="pass two or more supernet folders")
    loaded = [load_supernet(d) for d in directories]
    first_net, first_meta = loaded[0]
    ingredients = []
    for d, (net, meta) in zip(directories, loaded):
        for key in ("space", "data_fingerprint"):
            if meta.get(key) != first_meta.get(key):
                raise CheckpointError(f"{d} differs from {directories[0]} in its {key.replace('_', ' ')}",
                                      hint="soups average runs of one space on one dataset")
        match = 1.0 if net is first_net else match_hidden_channels(first_net, net)
        if match < MIN_MATCH:
            raise CheckpointError(f"{d} shares no start with {directories[0]} (matched similarity {match:.2f})",
                                  hint="average runs continued from one checkpoint (`edgenas train --init-from`)")
        ingredients.append(Ingredient(str(d), weights_sha256(d), trained_epochs(meta), round(match, 4)))
    states = [net.state_dict() for net, _ in loaded]
    soup = copy.deepcopy(first_net)
    soup.load_state_dict({k: torch.stack([s[k] for s in states]).mean(0) if v.is_floating_point() else v
                          for k, v in states[0].items()})
    longest = max(range(len(loaded)), key=lambda i: ingredients[i].epochs)
    meta = {**loaded[longest][1], "soup": {
        "ingredients": [vars(i) for i in ingredients],
        "method": "hidden channels matched to the first ingredient, floating-point tensors averaged uniformly",
    }}
    return soup, meta, ingredients


def save_soup(directories: list[Path], out: Path, command: str = "") -> list[Ingredient]:
    """Write the soup of ``directories`` to ``out`` as a checkpoint (the first ingredient's teacher
    goes with it, when it has one, so ``--init-from`` and ``--teacher`` work on the soup as on a
    trained checkpoint); its ``soup`` record gains ``command`` and the seconds the averaging took."""
    started = time.perf_counter()
    soup, meta, ingredients = average_supernets(directories)
    meta["soup"].update(command=command, seconds=round(time.perf_counter() - started, 1))
    for key in ("command", "hardware", "wall_seconds"):  # the longest run's, not the soup's
        meta.pop(key, None)
    files: dict[str, bytes | None] = dict(supernet_files(soup, meta))
    files[TEACHER_WEIGHTS] = read_role(Path(directories[0]), TEACHER_WEIGHTS)
    commit(Path(out), files)
    publish(Path(out))
    return ingredients
