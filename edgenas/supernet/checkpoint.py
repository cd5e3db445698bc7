"""Supernet checkpoints: safetensors weights + a JSON description. No pickles anywhere.

A finished checkpoint directory holds ``supernet.safetensors`` (weights), ``supernet.json`` (space
spec, dataset, seed, completed phases, training log) and the distillation teacher. While a run
trains, its files (with the resume state: ``resume.safetensors`` + ``resume.json``) are committed
as one unit under unique names through ``checkpoint.json`` (``manifest.py``); readers here go
through the manifest when there is one, so a crash never leaves a half-written or mixed checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors.torch import load, save, save_file

from ..errors import CheckpointError
from ..space import SpaceSpec
from .manifest import META, WEIGHTS, commit, publish, read_role
from .ofa import OFASupernet


def atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def atomic_write_json(path: Path, obj: dict) -> None:
    atomic_write_bytes(path, json_bytes(obj))


def _cpu_copies(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Contiguous CPU copies in key order (safetensors refuses shared or strided storage)."""
    return {k: v.detach().cpu().contiguous().clone() for k, v in sorted(tensors.items())}


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> None:
    """Save ``tensors`` (and string ``metadata``) atomically as one safetensors file."""
    tmp = path.with_name(path.name + ".tmp")
    save_file(_cpu_copies(tensors), str(tmp), metadata=metadata)
    os.replace(tmp, path)


def tensor_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    """The safetensors file of ``tensors`` (byte-identical to :func:`save_tensors`'s)."""
    return save(_cpu_copies(tensors))


def json_bytes(obj: dict) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def momentum_buffers(model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The SGD momentum buffers ``optimizer`` holds for ``model``'s parameters, by parameter name
    (names survive a rebuilt model and optimizer; ids and positions need not)."""
    return {name: state["momentum_buffer"] for name, p in model.named_parameters()
            if (state := optimizer.state.get(p)) and state.get("momentum_buffer") is not None}


def restore_momentum(model: torch.nn.Module, optimizer: torch.optim.Optimizer, buffers: dict[str, torch.Tensor]) -> None:
    """Put :func:`momentum_buffers`' ``buffers`` back into ``optimizer`` (copies with each
    parameter's device and memory format).

    Raises:
        CheckpointError: a buffer names no parameter of ``model`` (state of another model).
    """
    params = dict(model.named_parameters())
    unknown = sorted(set(buffers) - set(params))
    if unknown:
        raise CheckpointError(f"momentum saved for parameters this model lacks: {', '.join(unknown[:3])}",
                              hint="the resume state belongs to another model; start a new run")
    for name, buf in buffers.items():
        optimizer.state[params[name]]["momentum_buffer"] = torch.empty_like(params[name]).copy_(buf)


def supernet_files(net: OFASupernet, meta: dict) -> dict[str, bytes]:
    """The weights and description files of ``net`` (``meta`` gains the space spec)."""
    return {WEIGHTS: tensor_bytes(net.state_dict()), META: json_bytes({**meta, "space": json.loads(net.spec.to_json())})}


def save_supernet(net: OFASupernet, directory: Path, meta: dict) -> None:
    """Write weights and metadata as one unit, in the plain layout of a finished checkpoint."""
    commit(Path(directory), supernet_files(net, meta))
    publish(Path(directory))


def weights_bytes(directory: Path, role: str = WEIGHTS) -> bytes:
    """Checkpoint ``directory``'s weights file (or another weights ``role``, e.g. the teacher's).

    Raises:
        CheckpointError: the checkpoint has no such file, or it is corrupt.
    """
    data = read_role(Path(directory), role)
    if data is None:
        raise CheckpointError(f"no supernet weights in {directory} ({role} missing)", hint="train one with `edgenas train`")
    return data


def weights_sha256(directory: Path) -> str:
    """Identity of a checkpoint's weights: what a predictor fitted on its accuracies records."""
    return hashlib.sha256(weights_bytes(directory)).hexdigest()


def load_meta(directory: Path) -> dict:
    """The checkpoint's description (``supernet.json``), read through its manifest if it has one."""
    data = read_role(Path(directory), META)
    if data is None:
        raise CheckpointError(f"no supernet checkpoint in {directory} ({META} missing)", hint="train one with `edgenas train`")
    try:
        meta = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{Path(directory) / META} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("space"), dict):
        raise CheckpointError(f"{Path(directory) / META} does not describe a supernet (no `space` table)",
                              hint="point at a folder written by `edgenas train`")
    return meta


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


def load_weights(net: OFASupernet, path: Path, data: bytes | None = None) -> None:
    """Load a supernet weights file into ``net`` (strict), upgrading the shared-kernel format.

    ``data``: the file's bytes when the caller has read (and checked) them already."""
    try:
        state = load(data) if data is not None else load(Path(path).read_bytes())
    except Exception as exc:  # safetensors raises its own error types
        raise CheckpointError(f"cannot read {path}: {exc}") from exc
    expected = net.state_dict()
    state = upgrade_state(state, expected)
    wrong = next((k for k, v in state.items() if k in expected and v.shape != expected[k].shape), None)
    if wrong is not None:
        raise CheckpointError(
            f"{path} does not match space {net.spec.name!r}: {wrong} is {tuple(state[wrong].shape)}, "
            f"the space needs {tuple(expected[wrong].shape)}",
            hint="the checkpoint's supernet.json and its weights disagree: were they copied from two runs?")
    missing, unexpected = net.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"{path} does not match space {net.spec.name!r}: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )


def load_weights_of(net: OFASupernet, directory: Path, role: str = WEIGHTS) -> None:
    """Load checkpoint ``directory``'s weights (or another weights ``role``) into ``net``."""
    load_weights(net, Path(directory) / role, weights_bytes(directory, role))


def load_supernet(directory: Path) -> tuple[OFASupernet, dict]:
    """Rebuild the supernet from its JSON spec and load the weights (strict)."""
    directory = Path(directory)
    meta = load_meta(directory)
    spec = SpaceSpec.from_dict(meta["space"])
    net = OFASupernet(spec)
    load_weights_of(net, directory)
    net.eval()
    return net, meta


def trained_epochs(meta: dict) -> int:
    """Epochs behind a checkpoint: its own phases plus those of the run it started from."""
    own = sum(p["epochs"] for p in meta["config"]["phases"])
    return own + (trained_epochs(meta["parent"]) if "parent" in meta else 0)
