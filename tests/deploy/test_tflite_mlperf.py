"""The MLPerf Tiny int8 models: import, reference == TFLM == LiteRT, round trip, arena size."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from edgenas.deploy.reference import ReferenceInterpreter
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.deploy.tflm import run_litert, run_tflm, tflm_arena_bytes, tflm_arena_report

MODELS = Path("/work/shared/models/mlperf-tiny")
NAMES = ("ic_resnet8_int8", "kws_dscnn_int8")

pytestmark = pytest.mark.skipif(not MODELS.is_dir(), reason="MLPerf Tiny models not present")


def _model(name: str) -> bytes:
    return (MODELS / f"{name}.tflite").read_bytes()


def _inputs(shape: tuple[int, ...], n_random: int, seed: int) -> np.ndarray:
    """Input byte i = (i * 37) mod 256, then ``n_random`` uniformly random int8 samples."""
    count = int(np.prod(shape))
    ramp = ((np.arange(count) * 37) % 256).astype(np.uint8).view(np.int8).reshape(shape)
    rnd = np.random.default_rng(seed).integers(-128, 128, size=(n_random, *shape[1:]), dtype=np.int8)
    return np.concatenate([ramp, rnd])


@pytest.mark.parametrize("name", NAMES)
def test_imports_with_expected_structure(name: str) -> None:
    g = read_tflite(MODELS / f"{name}.tflite")
    kinds = [op.kind for op in g.ops]
    x, y = g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]
    assert x.dtype == y.dtype == "int8" and x.quant is not None and y.quant is not None
    assert kinds[-3:] == ["reshape", "fully_connected", "softmax"]
    if name.startswith("ic_"):
        assert x.shape == (1, 32, 32, 3) and kinds.count("conv2d") == 9 and kinds.count("add") == 3
    else:
        assert x.shape == (1, 49, 10, 1) and kinds.count("depthwise_conv2d") == 4
        w = g.tensors[g.ops[1].inputs[1]]
        assert w.quant is not None and w.quant.per_channel and w.quant.axis == 3


@pytest.mark.parametrize("name", NAMES)
def test_reference_is_bit_exact_with_tflm_and_litert(name: str) -> None:
    model = _model(name)
    g = read_tflite(model)
    x = _inputs(g.tensors[g.inputs[0]].shape, 5, seed=len(name))
    ours = ReferenceInterpreter(g).run(x)
    assert np.array_equal(ours, run_tflm(model, x))
    assert np.array_equal(ours, run_litert(model, x))
    assert len({tuple(r) for r in ours}) > 1  # distinct inputs give distinct outputs


@pytest.mark.parametrize("name", NAMES)
def test_batched_run_equals_one_by_one(name: str) -> None:
    g = read_tflite(_model(name))
    x = _inputs(g.tensors[g.inputs[0]].shape, 4, seed=3)
    interp = ReferenceInterpreter(g)
    batched = interp.run(x, batch_size=2)
    assert np.array_equal(batched, np.concatenate([interp.run(s[None]) for s in x]))


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_is_structural_and_runs_identically(name: str) -> None:
    from tests.deploy.test_tflite_ops import assert_same_graph

    original = _model(name)
    g = read_tflite(original)
    written = write_tflite(g)
    assert write_tflite(read_tflite(original)) == written  # deterministic bytes
    again = read_tflite(written)
    assert_same_graph(g, again)
    assert write_tflite(again) == written
    x = _inputs(g.tensors[g.inputs[0]].shape, 3, seed=11)
    assert np.array_equal(run_tflm(written, x), run_tflm(original, x))


@pytest.mark.parametrize("name", NAMES)
def test_written_file_layout(name: str) -> None:
    data = write_tflite(read_tflite(_model(name)))
    assert data[4:8] == b"TFL3"
    from edgenas.deploy.tflite_schema import schema

    m = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    assert m.version == 3
    assert m.buffers[0].data is None  # the empty sentinel buffer
    for oc in m.operatorCodes:
        assert oc.builtinCode == oc.deprecatedBuiltinCode and oc.version >= 1
    # Every constant buffer starts on a 16-byte boundary of the file.
    model = schema.Model.GetRootAs(data, 0)
    for i in range(1, model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.DataLength():
            start = buf._tab.Vector(buf._tab.Offset(4))
            assert start % 16 == 0, i
    assert struct.unpack_from("<I", data, 0)[0] < len(data)


def test_tflm_arena_bytes() -> None:
    """TFLM arena use on the host build (64-bit): head = planned activations, tail = persistent."""
    for name, head in (("ic_resnet8_int8", 49152), ("kws_dscnn_int8", 16000)):
        model = _model(name)
        report = tflm_arena_report(model)
        assert report.head_bytes == head
        assert report.total_bytes == report.head_bytes + report.tail_bytes == tflm_arena_bytes(model)
        assert tflm_arena_report(write_tflite(read_tflite(model))).head_bytes == head


def test_tflm_arena_grows_until_the_model_fits() -> None:
    """The default arena is retried larger; an explicit one that is too small is an error."""
    from edgenas.errors import ModelFormatError

    model = _model("ic_resnet8_int8")
    x = _inputs((1, 32, 32, 3), 0, seed=0)
    assert run_tflm(model, x).shape == (1, 10)
    with pytest.raises(ModelFormatError, match="arena 20000 bytes"):
        run_tflm(model, x, arena_bytes=20000)
