"""The distillation teacher of progressive shrinking: the full net as it stood after the first
phase, frozen, with its batch-norm statistics re-estimated for every input resolution.

Why per resolution: the full phase trains one net at all resolutions, so its running statistics
average over them. In eval mode that average cost the bundled full net 9-13 points at the ends
of the range (Fashion-MNIST val, ``bench/supernet_quality.py``: 82 % at 24 px and 81 % at 48 px,
against 92 % and 94 % recalibrated), and students distilled from it learnt those mistakes.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..data import DataSplits
from ..space import Arch, SpaceSpec, largest_arch
from .checkpoint import load_weights
from .manifest import TEACHER, read_role
from .ofa import OFASupernet
from .prepare import prepare_subnet
from .subnet import Subnet


TEACHER_WEIGHTS = TEACHER
"""The frozen full net a training run distils from, kept in its checkpoint."""


def load_teacher_net(directory: Path, spec: SpaceSpec) -> OFASupernet | None:
    """The distillation teacher stored in checkpoint ``directory`` (None when it holds none)."""
    data = read_role(Path(directory), TEACHER_WEIGHTS)
    if data is None:
        return None
    net = OFASupernet(spec)
    load_weights(net, Path(directory) / TEACHER_WEIGHTS, data)
    return net


class Teacher:
    """Soft targets of the full net, one recalibrated ``Subnet`` per resolution of the space."""

    def __init__(self, net: OFASupernet, data: DataSplits, *, calib_images: int,
                 memory_format: torch.memory_format = torch.contiguous_format) -> None:
        top = largest_arch(net.spec)
        self.nets: dict[int, Subnet] = {
            r: prepare_subnet(net, Arch(r, top.width, top.stages), data, calib_images=calib_images).to(memory_format=memory_format)
            for r in net.spec.resolutions
        }

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.nets[x.shape[-1]](x)
