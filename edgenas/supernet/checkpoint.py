"""Supernet checkpoints: safetensors weights + a JSON description. No pickles anywhere.

A checkpoint directory holds ``supernet.safetensors`` (weights), ``supernet.json`` (space spec,
dataset, seed, completed phases, training log). Training state for resuming (optimizer buffers,
RNG state, teacher) lives in ``resume.safetensors`` + ``resume.json`` beside it. Every file is
written to a temporary name and renamed, so a crash never leaves a half-written checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..errors import CheckpointError
from ..space import SpaceSpec
from .ofa import OFASupernet

WEIGHTS = "supernet.safetensors"
META = "supernet.json"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: dict) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def save_tensors(path: Path, tensors: dict[str, torch.Tensor]) -> None:
    """Save contiguous CPU copies atomically (safetensors refuses shared or strided storage)."""
    tmp = path.with_name(path.name + ".tmp")
    save_file({k: v.detach().cpu().contiguous().clone() for k, v in sorted(tensors.items())}, str(tmp))
    os.replace(tmp, path)


def save_supernet(net: OFASupernet, directory: Path, meta: dict) -> None:
    """Write weights and metadata (``meta`` gains the space spec)."""
    directory.mkdir(parents=True, exist_ok=True)
    save_tensors(directory / WEIGHTS, net.state_dict())
    atomic_write_json(directory / META, {**meta, "space": json.loads(net.spec.to_json())})


def weights_sha256(directory: Path) -> str:
    """Identity of a checkpoint's weights: what a predictor fitted on its accuracies records."""
    return hashlib.sha256((Path(directory) / WEIGHTS).read_bytes()).hexdigest()


def load_meta(directory: Path) -> dict:
    path = Path(directory) / META
    if not path.is_file():
        raise CheckpointError(f"no supernet checkpoint in {directory} ({META} missing)", hint="train one with `edgenas train`")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} is not valid JSON: {exc}") from exc


def load_supernet(directory: Path) -> tuple[OFASupernet, dict]:
    """Rebuild the supernet from its JSON spec and load the weights (strict)."""
    directory = Path(directory)
    meta = load_meta(directory)
    spec = SpaceSpec.from_dict(meta["space"])
    net = OFASupernet(spec)
    try:
        state = load_file(str(directory / WEIGHTS))
    except (OSError, Exception) as exc:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read {directory / WEIGHTS}: {exc}") from exc
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{directory / WEIGHTS} does not match space {spec.name!r}: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    net.eval()
    return net, meta
