"""The TFLite flatbuffer schema: generated classes plus the few constants edgenas needs.

The generated Python schema ships inside the tflite-micro wheel (and a copy inside LiteRT);
we import whichever is present instead of vendoring 20k generated lines. The reader does not
use the generated accessors (they trust offsets, so garbage bytes can raise anything or loop);
it only needs the numeric constants below, which are part of the stable schema (v3).
"""

from __future__ import annotations

from types import ModuleType

from ..errors import ToolchainError


def _load() -> ModuleType:
    try:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as mod
    except ImportError:
        try:
            from ai_edge_litert import schema_py_generated as mod  # type: ignore[no-redef]
        except ImportError:
            raise ToolchainError(
                "no generated TFLite schema found",
                hint="install tflite-micro (`pip install tflite-micro`) or ai-edge-litert",
            ) from None
    return mod


schema = _load()
"""The generated flatbuffers module (``ModelT``, ``OperatorT``, ``Conv2DOptionsT`` ...)."""

SCHEMA_VERSION = 3
FILE_IDENTIFIER = b"TFL3"

# BuiltinOperator codes (schema.fbs); values are frozen by the format.
ADD = 0
AVERAGE_POOL_2D = 1
CONV_2D = 3
DEPTHWISE_CONV_2D = 4
DEQUANTIZE = 6
FULLY_CONNECTED = 9
RESHAPE = 22
SOFTMAX = 25
PAD = 34
MEAN = 40
QUANTIZE = 114
PLACEHOLDER_FOR_GREATER_OP_CODES = 127
"""deprecated_builtin_code is an int8: codes above 127 are stored as this sentinel there."""

# BuiltinOptions union tags.
OPT_NONE = 0
OPT_CONV2D = 1
OPT_DEPTHWISE_CONV2D = 2
OPT_POOL2D = 5
OPT_FULLY_CONNECTED = 8
OPT_SOFTMAX = 9
OPT_ADD = 11
OPT_RESHAPE = 17
OPT_PAD = 22
OPT_REDUCER = 27

# TensorType -> numpy dtype name (only the types the IR knows).
TENSOR_TYPES = {0: "float32", 2: "int32", 7: "int16", 9: "int8"}
TENSOR_TYPE_CODES = {v: k for k, v in TENSOR_TYPES.items()}

PADDINGS = {0: "same", 1: "valid"}
PADDING_CODES = {v: k for k, v in PADDINGS.items()}

ACTIVATIONS = {0: "none", 1: "relu", 3: "relu6"}
ACTIVATION_CODES = {v: k for k, v in ACTIVATIONS.items()}


def _names(cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


BUILTIN_NAMES: dict[int, str] = _names(schema.BuiltinOperator)
TENSOR_TYPE_NAMES: dict[int, str] = _names(schema.TensorType)
ACTIVATION_NAMES: dict[int, str] = _names(schema.ActivationFunctionType)


def builtin_name(code: int) -> str:
    """``CONV_2D`` for 3; ``BUILTIN_<code>`` for codes this schema does not know."""
    return BUILTIN_NAMES.get(code, f"BUILTIN_{code}")
