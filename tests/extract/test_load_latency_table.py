"""The one latency-table check ``extract`` and ``search`` share: a table the user names must have
been measured for the supernet's space; a bundled one of another space is dropped instead; one of
the space measured for other input channels or classes is reused with rescaled stem and head."""

import pytest

from edgenas.boards import get_board
from edgenas.cost.latency_table import LatencyTable
from edgenas.errors import SpaceError, UsageError
from edgenas.extract import pipeline
from edgenas.extract.pipeline import load_latency_table
from edgenas.space import get_space

BOARD = get_board("mps2-an500")
SPEC = get_space("mcu-mbv2", in_channels=1, num_classes=10)
OTHER = get_space("kws-mbv2", in_channels=1, num_classes=10)


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
    monkeypatch.setattr(pipeline, "default_latency_table", lambda board, space: path)
    assert load_latency_table(BOARD, SPEC) == (None, None)
    monkeypatch.setattr(pipeline, "default_latency_table", lambda board, space: None)
    assert load_latency_table(BOARD, SPEC) == (None, None)


def test_a_table_measured_for_other_channels_and_classes_is_reused_with_rescaled_stem_and_head():
    from edgenas.space import largest_arch, smallest_arch

    table, path = load_latency_table(BOARD, SPEC)  # the bundled grayscale, 10-class table
    rgb12 = get_space("mcu-mbv2", in_channels=3, num_classes=12)
    reused, same_path = load_latency_table(BOARD, rgb12)
    assert same_path == path and reused.spec == rgb12 and "estimated" in reused.meta
    for arch in (largest_arch(SPEC), smallest_arch(SPEC)):
        # 3 input channels and 2 more classes cost more than the measured shape, by far less than 2x
        assert table.predict(arch) < reused.predict(arch) < 2 * table.predict(arch)
    block = next(k for k in table.entries if k.startswith("mbconv"))
    assert reused.entries[block] == table.entries[block]  # blocks are measured, not estimated
    assert not any(k.startswith("head") and ":o10:" in k for k in reused.entries)
