"""Run ``.tflite`` bytes in TFLite Micro's host interpreter and in LiteRT (reference kernels).

These are the external oracles: the reference interpreter, the C kernels and the firmware are
all checked against TFLM, and TFLM's arena use is the baseline our planner must beat.

- TFLM comes from the ``tflite-micro`` wheel (reference kernels, no CMSIS-NN on the host).
- LiteRT runs with ``OpResolverType.BUILTIN_REF``: the reference kernels and no default
  delegate, so XNNPACK never rewrites the arithmetic.

Known difference: LiteRT's per-tensor int8 FULLY_CONNECTED requantises with a single rounding,
``(acc * M + 2**(30 - shift)) >> (31 - shift)``, where TFLM rounds twice (SRDHM then
RoundingDivideByPOT); outputs then differ by 1 on a few inputs. Every other supported op is
bit-exact between the two (tests/deploy/test_tflite_ops.py).
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
import tempfile
from dataclasses import dataclass

import numpy as np

from ..errors import ModelFormatError, ToolchainError

_MIN_ARENA_BYTES = 1 << 20
_MAX_ARENA_BYTES = 1 << 28


def _tflm_runtime():  # noqa: ANN202 (third-party module)
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as e:
        raise ToolchainError("TFLite Micro host interpreter is not installed", hint="pip install tflite-micro") from e
    return runtime


def _interpreter(model_bytes: bytes, arena_bytes: int | None):  # noqa: ANN202
    """A TFLM interpreter; without an explicit arena size, grow the arena until it fits."""
    runtime = _tflm_runtime()
    arena = arena_bytes or max(_MIN_ARENA_BYTES, 10 * len(model_bytes))
    while True:
        try:
            return runtime.Interpreter.from_bytes(bytes(model_bytes), arena_size=arena)
        except (RuntimeError, ValueError) as e:
            if arena_bytes is None and "allocate" in str(e) and arena < _MAX_ARENA_BYTES:
                arena *= 4
                continue
            raise ModelFormatError(
                f"TFLite Micro cannot load the model (arena {arena} bytes): {e}",
                hint="check the model with read_tflite(); TFLM prints its reason on stderr",
            ) from e


def run_tflm(model_bytes: bytes, input: np.ndarray, arena_bytes: int | None = None) -> np.ndarray:  # noqa: A002
    """Invoke TFLite Micro on each sample of ``input`` (batched ``(N, ...)`` or the exact input shape).

    Returns:
        the stacked outputs, ``(N, *output_shape[1:])``.
    """
    interp = _interpreter(model_bytes, arena_bytes)
    details = interp.get_input_details(0)
    shape = tuple(int(d) for d in details["shape"])
    x = np.asarray(input)
    if x.dtype != details["dtype"]:
        raise ModelFormatError(f"input dtype {x.dtype} != model input dtype {np.dtype(details['dtype'])}")
    samples = x.reshape((-1, *shape)) if x.shape[1:] == shape[1:] else None
    if samples is None or shape[0] != 1:
        raise ModelFormatError(f"input shape {x.shape} does not match the model input {shape}")
    outs = []
    for s in samples:
        interp.set_input(s, 0)
        interp.invoke()
        outs.append(np.array(interp.get_output(0)))
    return np.concatenate(outs, axis=0)


@dataclass(frozen=True)
class TflmArena:
    """TFLM's RecordingMicroAllocator totals (host build: 64-bit pointers, so the tail is
    larger than on a 32-bit Cortex-M; the head, which holds the planned activations, is not)."""

    total_bytes: int
    head_bytes: int
    tail_bytes: int


def tflm_arena_report(model_bytes: bytes) -> TflmArena:
    """Allocate and invoke once, then parse TFLM's allocation report (it prints to C stderr)."""
    interp = _interpreter(model_bytes, None)
    details = interp.get_input_details(0)
    interp.set_input(np.zeros(tuple(details["shape"]), dtype=details["dtype"]), 0)
    interp.invoke()
    text = _capture_c_stderr(interp.print_allocations)
    fields = {}
    for key in ("total", "head", "tail"):
        m = re.search(rf"Arena allocation {key} (\d+) bytes", text)
        if m is None:
            raise ToolchainError(
                "could not parse TFLite Micro's allocation report",
                hint=f"the tflite-micro wheel printed: {text[:200]!r}",
            )
        fields[key] = int(m.group(1))
    return TflmArena(fields["total"], fields["head"], fields["tail"])


def tflm_arena_bytes(model_bytes: bytes) -> int:
    """Bytes of tensor arena TFLite Micro actually used for this model (``arena_used_bytes``)."""
    return tflm_arena_report(model_bytes).total_bytes


def _capture_c_stderr(fn) -> str:  # noqa: ANN001
    """Run ``fn`` with file descriptor 2 redirected to a temp file and return what was written."""
    libc = ctypes.CDLL(None)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        try:
            os.dup2(tmp.fileno(), 2)
            fn()
            libc.fflush(None)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        return tmp.read().decode("utf-8", errors="replace")


def run_litert(model_bytes: bytes, input: np.ndarray) -> np.ndarray:  # noqa: A002
    """Run LiteRT with its reference kernels (``BUILTIN_REF``, no XNNPACK), one sample at a time."""
    try:
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
    except ImportError as e:
        raise ToolchainError("LiteRT is not installed", hint="pip install ai-edge-litert") from e
    try:
        interp = Interpreter(
            model_content=bytes(model_bytes),
            experimental_op_resolver_type=OpResolverType.BUILTIN_REF,
            num_threads=1,
        )
        interp.allocate_tensors()
    except (RuntimeError, ValueError) as e:
        raise ModelFormatError(f"LiteRT cannot load the model: {e}", hint="check the model with read_tflite()") from e
    inp = interp.get_input_details()[0]
    out = interp.get_output_details()[0]
    shape = tuple(int(d) for d in inp["shape"])
    x = np.asarray(input)
    if x.dtype != inp["dtype"] or x.shape[1:] != shape[1:] or shape[0] != 1:
        raise ModelFormatError(f"input {x.dtype} {x.shape} does not match the model input {inp['dtype']} {shape}")
    outs = []
    for s in x.reshape((-1, *shape)):
        interp.set_tensor(inp["index"], s)
        interp.invoke()
        outs.append(interp.get_tensor(out["index"]).copy())
    return np.concatenate(outs, axis=0)
