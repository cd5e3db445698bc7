"""bench/reliability.py's probe machinery: the generators are reproducible from (seed, index), and
the sandbox tells an answer from a hang and a crash (else the bench would miscount findings)."""

from __future__ import annotations

import datetime
import sys
import tomllib
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

from reliability_mutate import mutant, mutants  # noqa: E402
from reliability_models import conv_mean, dense_stack  # noqa: E402
from reliability_sandbox import Died, Sandbox  # noqa: E402
from reliability_toml import dumps  # noqa: E402

from edgenas.deploy.tflite_reader import read_tflite  # noqa: E402
from edgenas.deploy.tflite_writer import write_tflite  # noqa: E402


@pytest.fixture(scope="module")
def bases() -> dict[str, bytes]:
    return {"conv_mean": write_tflite(conv_mean()), "dense_stack": write_tflite(dense_stack())}


def test_a_mutant_is_remade_from_its_seed_and_index(bases) -> None:
    first = list(mutants(bases, seed=3, count=40))
    assert len({m.sha for m in first}) == 40  # distinct, and none is a base
    assert not {m.data for m in first} & set(bases.values())
    for m in first[::7]:
        again = mutant(bases, 3, m.index)
        assert (again.data, again.kind, again.detail) == (m.data, m.kind, m.detail)
    assert {m.family for m in first} == {"bytes", "fields"}


def test_field_mutants_are_well_formed_flatbuffers_that_lie(bases) -> None:
    """A field edit packs a valid file: the importer gets past the flatbuffer layer to the lie."""
    fields = [m for m in mutants(bases, seed=0, count=60) if m.family == "fields"]
    assert fields
    for m in fields:
        try:
            read_tflite(m.data)
        except Exception as e:  # noqa: BLE001
            assert "lies outside" not in str(e) and "vtable" not in str(e), (m.kind, m.detail, e)


def test_toml_writer_round_trips_what_the_board_probe_writes() -> None:
    table = {"name": "x", "n": 10**23, "f": float("inf"), "list": [1, "a", {"k": True}],
             "when": datetime.datetime(1979, 5, 27, 7, 32),
             "memory": {"ram": {"origin": 0x20000000, "size": 4096}}, "odd key": "\u00e9"}
    assert tomllib.loads(dumps(table)) == table


@pytest.mark.slow
def test_sandbox_tells_answers_hangs_and_crashes_apart() -> None:
    box = Sandbox("math", "sqrt", timeout_s=20)
    try:
        assert box.call(16.0) == 4.0
    finally:
        box.close()
    hang = Sandbox("time", "sleep", timeout_s=0.5)
    crash = Sandbox("os", "_exit", timeout_s=20)
    try:
        assert hang.call(30) == Died("hang")
        assert crash.call(7) == Died("crash", 7)
        assert hang.restarts == crash.restarts == 1
    finally:
        hang.close()
        crash.close()
