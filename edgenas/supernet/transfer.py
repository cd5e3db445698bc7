"""Start a supernet for new data from one trained on other data (Once-for-All's transfer): every
weight of the same shape is copied, the stem is adapted to the new number of input channels, and
the classifier starts fresh (its rows meant the old classes).

The copied net keeps the old batch-norm statistics; the new run's first epochs re-estimate them.
The old teacher is not taken: it predicts the old classes. The new run's full phase freezes its own.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..space import SpaceSpec
from .checkpoint import load_meta, load_weights_of, trained_epochs, weights_sha256
from .ofa import OFASupernet

FRESH_PREFIXES = ("classifier.",)
"""Parameters never copied: the class layer of the old task."""


def adapt_stem(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """A stem filter ``(out, c_old, k, k)`` for ``in_channels`` inputs that answers a grey image
    copied into every channel as the old filter answered it: grey → colour divides the filter
    among the channels, colour → grey sums it."""
    old = weight.shape[1]
    summed = weight.sum(1, keepdim=True)
    return summed.repeat(1, in_channels, 1, 1) / in_channels if old != in_channels else weight.clone()


def transfer_record(source: Path, spec: SpaceSpec) -> dict:
    """What the new checkpoint keeps under ``transfer``: where its first weights came from.

    Raises:
        CheckpointError: ``source`` was trained on another space (other stages, kernels, widths...).
    """
    meta = load_meta(source)
    old_spec = SpaceSpec.from_dict(meta["space"])
    if replace(old_spec, in_channels=spec.in_channels, num_classes=spec.num_classes) != spec:
        raise CheckpointError(f"{source} is a supernet of another space than {spec.name!r}",
                              hint="transfer needs the same search space; only the classes and input channels may differ")
    return {"from": str(Path(source).resolve()), "sha256": weights_sha256(source), "dataset": meta.get("dataset"),
            "epochs": trained_epochs(meta), "space": meta["space"]}


def transfer_weights(source: Path, net: OFASupernet) -> dict:
    """Copy ``source``'s supernet weights into ``net`` (a supernet of the same space for other
    data); returns :func:`transfer_record` (the same whether or not a resumed run copies again)."""
    record = transfer_record(source, net.spec)
    old = OFASupernet(SpaceSpec.from_dict(record.pop("space")))
    load_weights_of(old, source)
    old_state = old.state_dict()
    state = net.state_dict()
    for name, target in state.items():
        if name.startswith(FRESH_PREFIXES) or name not in old_state:
            continue
        value = adapt_stem(old_state[name], net.spec.in_channels) if name == "stem.weight" else old_state[name]
        if value.shape == target.shape:
            target.copy_(value)
    net.load_state_dict(state)
    return record
