"""Export an extracted subnet to ONNX (float) and check it with ONNX Runtime."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import ToolchainError
from ..supernet import Subnet

OPSET = 17


def export_onnx(subnet: Subnet, path: Path) -> Path:
    """Write ``subnet`` (eval mode, batch 1, NCHW float input in [0, 1]) to ``path``.

    Uses the TorchScript exporter: it needs no extra packages and gives the same bytes for the
    same weights, which keeps artifacts reproducible.
    """
    subnet = subnet.eval()
    r = subnet.arch.resolution
    example = torch.zeros(1, subnet.plan.in_channels, r, r)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            subnet, (example,), str(path), dynamo=False, input_names=["input"], output_names=["logits"],
            opset_version=OPSET,
        )
    return path


def run_onnx(path: Path, x: np.ndarray) -> np.ndarray:
    """Run the ONNX model on float NCHW ``x`` with ONNX Runtime (CPU)."""
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ToolchainError("onnxruntime is not installed", hint="pip install onnxruntime") from exc
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]
