"""Resume state of a fixed-subnet training run (from scratch or fine-tuning), so that a run of
hundreds of CPU epochs survives a crash or the end of a working session.

One safetensors file holds the weights, the optimizer's momentum buffers and, in its metadata,
the run's settings and the epochs done; it is written under a temporary name and renamed into
place after every epoch, so a ``kill -9`` leaves the last whole epoch. Every epoch draws its
shuffle and augmentation from ``[seed, epoch]``, so a resumed run ends with the same weights as an
uninterrupted one. No pickles: safetensors only.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

from ..errors import CheckpointError
from .checkpoint import momentum_buffers, restore_momentum, save_tensors

STATE_FILE = "fit_state.safetensors"


def save_fit_state(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, epochs_done: int,
                   settings: dict) -> None:
    """Commit the state after ``epochs_done`` epochs of the run described by ``settings``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"momentum.{k}": v for k, v in momentum_buffers(model, optimizer).items()})
    meta = {"settings": json.dumps(settings, sort_keys=True), "epochs_done": str(epochs_done)}
    save_tensors(directory / STATE_FILE, tensors, meta)


def load_fit_state(directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer, settings: dict) -> int:
    """Restore the run in ``directory`` into ``model`` and ``optimizer``; return its epochs done
    (0 when there is no state yet).

    Raises:
        CheckpointError: the state was written by a run with other settings (another subnet,
            epoch budget, learning rate, ...): continuing it would mix two runs.
    """
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return 0
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    saved = json.loads(meta.get("settings", "{}"))
    if saved != settings:
        differ = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
        raise CheckpointError(f"{path} belongs to a run with other settings ({', '.join(differ)})",
                              hint="use another resume directory, or delete it to start over")
    tensors = load_file(str(path))
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    restore_momentum(model, optimizer, {k[len("momentum."):]: v for k, v in tensors.items() if k.startswith("momentum.")})
    return int(meta["epochs_done"])
