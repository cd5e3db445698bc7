"""Damaged .tflite bytes: the importer returns a Graph or raises ModelFormatError, fast, always.

Hypothesis runs derandomized (fixed seed, no example database) so the test is deterministic.
Each parse runs under a SIGALRM guard, so a hang fails the test with a clear message instead of
stalling the suite.
"""

from __future__ import annotations

import signal
import struct
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgenas.deploy.ir import Graph, Op, QuantParams, Tensor
from edgenas.deploy.tflite_reader import read_tflite
from edgenas.deploy.tflite_writer import write_tflite
from edgenas.errors import ModelFormatError

PARSE_LIMIT_S = 2.0
FUZZ = settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _small_model() -> bytes:
    rng = np.random.default_rng(0)
    qx, qy = QuantParams((0.05,), (-3,)), QuantParams((0.2,), (5,))
    w = rng.integers(-127, 128, (4, 3, 3, 2), dtype=np.int8)
    wq = QuantParams((0.01, 0.02, 0.015, 0.03), (0, 0, 0, 0), 0)
    b = rng.integers(-100, 100, 4).astype(np.int32)
    bq = QuantParams(tuple(0.05 * s for s in wq.scale), (0,) * 4, 0)
    t = {
        "x": Tensor("x", (1, 5, 5, 2), "int8", qx),
        "w": Tensor("w", w.shape, "int8", wq, w),
        "b": Tensor("b", (4,), "int32", bq, b),
        "h": Tensor("h", (1, 5, 5, 4), "int8", qy),
        "p": Tensor("p", (1, 1, 1, 4), "int8", qy),
        "y": Tensor("y", (1, 4), "int8", qy),
    }
    ops = [
        Op("conv2d", ["x", "w", "b"], ["h"], dict(stride_h=1, stride_w=1, padding="same", activation="relu")),
        Op("mean", ["h"], ["p"], {"axes": (1, 2), "keep_dims": True}),
        Op("reshape", ["p"], ["y"], {"new_shape": (1, 4)}),
    ]
    return write_tflite(Graph(t, ops, ["x"], ["y"]))


SMALL = _small_model()
KWS = Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite")


@contextmanager
def _time_limit(seconds: float):
    def boom(signum, frame):  # noqa: ANN001
        raise TimeoutError(f"read_tflite did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _parse(data: bytes) -> None:
    with _time_limit(PARSE_LIMIT_S):
        try:
            g = read_tflite(data)
        except ModelFormatError as e:
            assert str(e)
            return
    assert isinstance(g, Graph)
    g.validate()


def _mutate(base: bytes, edits: list[tuple[int, int]], words: list[tuple[int, int]], cut: int | None) -> bytes:
    data = bytearray(base)
    for pos, value in edits:
        data[pos % len(data)] = value
    for pos, value in words:  # overwrite aligned u32s: most likely to hit offsets and lengths
        p = (pos % (len(data) // 4)) * 4
        struct.pack_into("<I", data, p, value)
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    return bytes(data)


_edits = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)
_words = st.lists(st.tuples(st.integers(0, 1 << 20), st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1))), max_size=4)
_cut = st.one_of(st.none(), st.integers(0, 1 << 20))


@pytest.mark.timeout(60)
@FUZZ
@given(edits=_edits, words=_words, cut=_cut)
@pytest.mark.slow
def test_mutated_small_model_never_crashes(edits, words, cut) -> None:
    _parse(_mutate(SMALL, edits, words, cut))


@pytest.mark.timeout(60)
@pytest.mark.skipif(not KWS.is_file(), reason="MLPerf Tiny models not present")
@FUZZ
@given(edits=_edits, words=_words, cut=_cut)
@pytest.mark.slow
def test_mutated_kws_header_never_crashes(edits, words, cut) -> None:
    """Mutations land in the first 4 KiB, where the converter puts tables, vtables and offsets."""
    base = KWS.read_bytes()
    head = _mutate(base[:4096], edits, words, None)
    data = head + base[4096:]
    _parse(data if cut is None else data[: cut % (len(data) + 1)])


def test_unmutated_models_parse() -> None:
    _parse(SMALL)
    assert [op.kind for op in read_tflite(SMALL).ops] == ["conv2d", "mean", "reshape"]
