"""A subnet on disk: ``subnet.safetensors`` + ``subnet.json`` (space spec, arch, provenance).

This directory is what ``edgenas compile SUBNET_DIR`` and ``edgenas export`` read.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import load_file

from ..errors import CheckpointError
from ..space import Arch, SpaceSpec
from .checkpoint import atomic_write_json, save_tensors
from .subnet import Subnet

SUBNET_WEIGHTS = "subnet.safetensors"
SUBNET_META = "subnet.json"


def save_subnet(subnet: Subnet, directory: Path, provenance: dict | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_tensors(directory / SUBNET_WEIGHTS, subnet.state_dict())
    atomic_write_json(
        directory / SUBNET_META,
        {
            "arch": str(subnet.arch),
            "space": json.loads(subnet.spec.to_json()),
            "provenance": provenance or {},
        },
    )
    return directory


def is_subnet_dir(path: Path) -> bool:
    return (Path(path) / SUBNET_META).is_file()


def load_subnet(directory: Path) -> tuple[Subnet, dict]:
    directory = Path(directory)
    if not is_subnet_dir(directory):
        raise CheckpointError(f"{directory} is not a subnet directory ({SUBNET_META} missing)")
    meta = json.loads((directory / SUBNET_META).read_text())
    spec = SpaceSpec.from_dict(meta["space"])
    subnet = Subnet(spec, Arch.parse(meta["arch"]))
    try:
        subnet.load_state_dict(load_file(str(directory / SUBNET_WEIGHTS)))
    except Exception as exc:  # safetensors and torch raise several types for a bad file
        raise CheckpointError(f"cannot load {directory / SUBNET_WEIGHTS}: {exc}") from exc
    return subnet.eval(), meta
