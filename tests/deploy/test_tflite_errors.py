"""What the importer refuses, and how it says so."""

from __future__ import annotations

import flatbuffers
import numpy as np
import pytest

from edgenas.deploy import tflite_schema as fb
from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.errors import EdgenasError, ModelFormatError, UnsupportedOpError

S = fb.schema


def _two_op_graph() -> Graph:
    q = QuantParams((0.05,), (-3,))
    t = {
        "x": Tensor("x", (1, 4, 4, 2), "int8", q),
        "k": Tensor("k", (1, 4, 4, 2), "int8", q, np.ones((1, 4, 4, 2), np.int8)),
        "h": Tensor("h", (1, 4, 4, 2), "int8", q),
        "y": Tensor("y", (1, 32), "int8", q),
    }
    ops = [Op("add", ["x", "k"], ["h"], {"activation": "none"}), Op("reshape", ["h"], ["y"], {"new_shape": (1, 32)})]
    return Graph(t, ops, ["x"], ["y"])


def _edit(model: bytes, fn) -> bytes:
    """Unpack with the generated object API, let ``fn`` mutate it, repack."""
    m = S.ModelT.InitFromPackedBuf(bytearray(model), 0)
    fn(m)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=fb.FILE_IDENTIFIER)
    return bytes(b.Output())


def _set_builtin(code: int, op_index: int = 1):
    def fn(m) -> None:
        oc = S.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
        m.operatorCodes.append(oc)
        m.subgraphs[0].operators[op_index].opcodeIndex = len(m.operatorCodes) - 1
        m.subgraphs[0].operators[op_index].builtinOptionsType = 0
        m.subgraphs[0].operators[op_index].builtinOptions = None

    return fn


def test_baseline_model_reads() -> None:
    g = read_tflite(write_tflite(_two_op_graph()))
    assert [op.kind for op in g.ops] == ["add", "reshape"]


@pytest.mark.parametrize("code, name", [(18, "MUL"), (17, "MAX_POOL_2D"), (150, "GELU")])
def test_unsupported_op_names_builtin_and_node(code: int, name: str) -> None:
    model = _edit(write_tflite(_two_op_graph()), _set_builtin(code))
    with pytest.raises(UnsupportedOpError) as e:
        read_tflite(model)
    msg = str(e.value)
    assert name in msg and "op 1" in msg and "'y'" in msg
    assert "CONV_2D" in e.value.hint  # says what is supported


def test_builtin_code_above_127_is_read_from_builtin_code_field() -> None:
    """Codes > 127 live only in builtin_code; deprecated_builtin_code holds the 127 placeholder."""
    model = _edit(write_tflite(_two_op_graph()), _set_builtin(150))
    m = S.ModelT.InitFromPackedBuf(bytearray(model), 0)
    assert m.operatorCodes[-1].deprecatedBuiltinCode == 127
    with pytest.raises(UnsupportedOpError, match="GELU"):
        read_tflite(model)


def test_old_models_with_only_deprecated_code_read() -> None:
    def old(m) -> None:
        for oc in m.operatorCodes:
            oc.builtinCode = 0

    g = read_tflite(_edit(write_tflite(_two_op_graph()), old))
    assert [op.kind for op in g.ops] == ["add", "reshape"]


@pytest.mark.parametrize("code", [fb.QUANTIZE, fb.DEQUANTIZE])
def test_float_interface_ops_are_rejected_with_conversion_hint(code: int) -> None:
    model = _edit(write_tflite(_two_op_graph()), _set_builtin(code, op_index=0))
    with pytest.raises(UnsupportedOpError) as e:
        read_tflite(model)
    assert fb.builtin_name(code) in str(e.value) and "inference_input_type" in e.value.hint


def test_float_input_is_rejected() -> None:
    def floaty(m) -> None:
        m.subgraphs[0].tensors[0].type = 0  # FLOAT32 graph input

    with pytest.raises(UnsupportedOpError, match="float32"):
        read_tflite(_edit(write_tflite(_two_op_graph()), floaty))


def test_unsupported_fused_activation_names_it() -> None:
    def tanh(m) -> None:
        m.subgraphs[0].operators[0].builtinOptions.fusedActivationFunction = 4

    with pytest.raises(UnsupportedOpError, match="TANH"):
        read_tflite(_edit(write_tflite(_two_op_graph()), tanh))


def test_unsupported_tensor_type() -> None:
    def uint8(m) -> None:
        m.subgraphs[0].tensors[1].type = 3

    with pytest.raises(UnsupportedOpError, match="UINT8"):
        read_tflite(_edit(write_tflite(_two_op_graph()), uint8))


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 7, b"\x10\x00\x00\x00TFL2" + b"\x00" * 64, b"\xff\xff\xff\x7fTFL3" + b"\x00" * 64],
)
def test_garbage_is_a_format_error(data: bytes) -> None:
    with pytest.raises(ModelFormatError) as e:
        read_tflite(data)
    assert e.value.hint


def test_every_truncation_is_a_format_error() -> None:
    model = write_tflite(_two_op_graph())
    for n in range(0, len(model), 7):
        with pytest.raises(ModelFormatError):
            read_tflite(model[:n])


def test_missing_file_is_a_format_error(tmp_path) -> None:
    with pytest.raises(ModelFormatError, match="cannot read"):
        read_tflite(tmp_path / "nope.tflite")


def test_errors_are_edgenas_errors() -> None:
    assert issubclass(UnsupportedOpError, ModelFormatError) and issubclass(ModelFormatError, EdgenasError)
