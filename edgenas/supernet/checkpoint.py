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


def _kernel_chain(weight: torch.Tensor, transforms: dict[int, torch.Tensor], kernel: int) -> torch.Tensor:
    """A kernel size's depthwise weight as the shared-kernel format computed it: the centre of the
    next larger kernel through that step's learned transform, from the largest down."""
    big = weight.shape[-1]
    while big != kernel:
        small = max(k for k in transforms if k < big)
        start = (big - small) // 2
        centre = weight[:, :, start : start + small, start : start + small]
        weight = (centre.reshape(len(centre), small * small) @ transforms[small]).reshape(len(centre), 1, small, small)
        big = small
    return weight


def upgrade_state(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Convert a checkpoint of the shared-kernel format (one largest depthwise kernel per block,
    smaller ones through learned transforms, one batch norm for all sizes) into private per-size
    kernels and batch norms. Each size gets exactly the weight it computed before, so the
    converted net computes the same function. A current-format state is returned unchanged."""
    if not any(key == "first_dw.weight" or key.endswith(".depthwise.weight") for key in state):
        return state
    state = dict(state)
    for key in expected:
        if key in state:
            continue
        head, _, tail = key.rpartition(".")
        if head.endswith(".weights"):  # "<conv>.weights.<kernel>" from "<conv>.weight" and "<conv>.transforms.<big>to<small>"
            prefix = head[: -len("weights")]
            transforms = {int(k.rpartition("to")[2]): t for k, t in state.items() if k.startswith(prefix + "transforms.")}
            state[key] = _kernel_chain(state[prefix + "weight"], transforms, int(tail)).contiguous()
        else:  # "<block>.depthwise_bn.<kernel>.<field>" from the one shared batch norm
            bn, _, _kernel = head.rpartition(".")
            state[key] = state[f"{bn}.{tail}"]
    return {key: state[key] for key in expected}


def load_weights(net: OFASupernet, path: Path) -> None:
    """Load a supernet weights file into ``net`` (strict), upgrading the shared-kernel format."""
    try:
        state = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    expected = net.state_dict()
    state = upgrade_state(state, expected)
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match space {net.spec.name!r}: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )


def load_supernet(directory: Path) -> tuple[OFASupernet, dict]:
    """Rebuild the supernet from its JSON spec and load the weights (strict)."""
    directory = Path(directory)
    meta = load_meta(directory)
    spec = SpaceSpec.from_dict(meta["space"])
    net = OFASupernet(spec)
    load_weights(net, directory / WEIGHTS)
    net.eval()
    return net, meta
