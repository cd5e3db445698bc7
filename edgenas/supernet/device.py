"""Pick the torch device for training (``auto`` takes a GPU when torch sees one) and the memory
layout that trains fastest on it."""

from __future__ import annotations

import torch

from ..errors import UsageError


def resolve_device(name: str) -> str:
    """``auto``/``cpu``/``cuda``/``cuda:N`` → a device torch can use, or a clear error."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise UsageError(f"--device {name}: torch sees no CUDA GPU here", hint="use --device cpu (or auto)")
        index = int(name[5:]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise UsageError(f"--device {name}: only {torch.cuda.device_count()} GPU(s) visible")
        return name
    raise UsageError(f"--device {name!r} is not auto, cpu, cuda or cuda:N")


def memory_format_for(device: str) -> torch.memory_format:
    """Channels-last on CPUs, where it halves a training step (oneDNN runs depthwise and 1x1 convs
    in NHWC; measured 3.2 -> 1.6 s per supernet expand step on 2 cores); GPUs keep the default."""
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format
