"""The one latency-table check ``extract`` and ``search`` share: a table the user names must have
been measured for the supernet's space; a bundled one of another space is dropped instead."""

import pytest

from edgenas.boards import get_board
from edgenas.cost.latency_table import LatencyTable
from edgenas.errors import SpaceError, UsageError
from edgenas.extract import pipeline
from edgenas.extract.pipeline import load_latency_table
from edgenas.space import get_space

BOARD = get_board("mps2-an500")
SPEC = get_space("mcu-mbv2", in_channels=1, num_classes=10)
OTHER = get_space("mcu-mbv2", in_channels=3, num_classes=10)


def _table(path, spec):
    return LatencyTable(BOARD.core, "instructions", {}, spec, board=BOARD.name).save(path)


def test_a_given_table_of_the_space_is_used(tmp_path):
    path = _table(tmp_path / "t.json", SPEC)
    table, found = load_latency_table(BOARD, SPEC, path)
    assert found == path and table.spec == SPEC


def test_a_given_table_of_another_space_is_refused_with_the_callers_error(tmp_path):
    path = _table(tmp_path / "t.json", OTHER)
    with pytest.raises(SpaceError, match="was measured for space") as e:
        load_latency_table(BOARD, SPEC, path)
    assert "edgenas profile" in e.value.hint
    with pytest.raises(UsageError, match=str(path)):
        load_latency_table(BOARD, SPEC, path, error=UsageError)


def test_a_bundled_table_of_another_space_means_no_latency_model(tmp_path, monkeypatch):
    path = _table(tmp_path / "bundled.json", OTHER)
    monkeypatch.setattr(pipeline, "default_latency_table", lambda board: path)
    assert load_latency_table(BOARD, SPEC) == (None, None)
    monkeypatch.setattr(pipeline, "default_latency_table", lambda board: None)
    assert load_latency_table(BOARD, SPEC) == (None, None)
