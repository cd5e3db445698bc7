"""Latency tables without any device: keys, storage, prediction arithmetic, and the errors."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.cost.latency_table import EntryStats, LatencyTable, StaleTableError, TableError, UnknownTargetError
from edgenas.profile import arch_signatures, get_profiler, space_signatures
from edgenas.space.signature import Signature
from edgenas.space import get_space, sample_arch
from tests.profile.instant_profiler import InstantProfiler

FP = {"compiler": "gcc 12.2", "cflags": ["-O2"], "runtime_sources": "abc", "clock_hz": 25_000_000}


@pytest.fixture
def spec():
    return get_space("tiny-test")


def _filled(spec) -> LatencyTable:
    table = LatencyTable("cortex-m7", "instructions", FP, spec, board="mps2-an500", backend="edgenas-c")
    for i, sig in enumerate(space_signatures(spec)):
        table.add(sig.key, [1000 + 10 * i, 1000 + 10 * i + 4, 1000 + 10 * i + 2])
    table.add_overhead([300, 320, 310])
    return table


def test_signature_key_round_trips_and_covers_every_arch(spec):
    all_keys = {s.key for s in space_signatures(spec)}
    rng = np.random.default_rng(0)
    for _ in range(50):
        for sig in arch_signatures(spec, sample_arch(spec, rng)):
            assert Signature.parse(sig.key) == sig
            assert sig.key in all_keys
    with pytest.raises(ValueError):
        Signature.parse("conv:i3")


def test_signatures_follow_the_plan(spec):
    arch = sample_arch(spec, np.random.default_rng(1))
    sigs = arch_signatures(spec, arch)
    assert [s.kind for s in sigs] == ["stem"] + ["mbconv"] * sum(arch.depths) + ["head"]
    for a, b in zip(sigs[:-1], sigs[1:]):  # entries chain: each output is the next input
        assert (a.out_size, a.out_channels) == (b.in_size, b.in_channels)


def test_entry_stats_median_and_iqr():
    s = EntryStats.of([1, 2, 3, 4, 100])
    assert (s.count, s.median, s.spread) == (5, 3.0, 2.0)
    with pytest.raises(TableError):
        EntryStats.of([])


def test_round_trip_keeps_every_sample(spec, tmp_path):
    table = _filled(spec)
    path = table.save(tmp_path / "t.json")
    back = LatencyTable.load(path, fingerprint=FP)
    assert back.entries == table.entries and back.overhead == table.overhead
    assert (back.target, back.unit, back.board, back.backend, back.spec) == (
        "cortex-m7", "instructions", "mps2-an500", "edgenas-c", spec)
    data = json.loads(path.read_text())
    assert data["summary"][next(iter(table.entries))]["count"] == 3
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_prediction_is_sum_of_entry_medians_plus_overhead(spec):
    table = _filled(spec)
    rng = np.random.default_rng(2)
    for _ in range(10):
        arch = sample_arch(spec, rng)
        want = sum(float(np.median(table.entries[s.key])) for s in arch_signatures(spec, arch)) + 310.0
        assert table.predict(arch) == pytest.approx(want, abs=1e-9)


def test_missing_entry_names_key_and_hint(spec):
    table = LatencyTable("cortex-m7", "instructions", FP, spec)
    table.add_overhead([1])
    with pytest.raises(TableError, match="no entry 'stem:") as e:
        table.predict(sample_arch(spec, np.random.default_rng(0)))
    assert "edgenas profile" in e.value.hint


def test_stale_fingerprint_is_refused(spec, tmp_path):
    path = _filled(spec).save(tmp_path / "t.json")
    other = {**FP, "compiler": "gcc 14.1"}
    with pytest.raises(StaleTableError, match="compiler: table 'gcc 12.2' vs now 'gcc 14.1'"):
        LatencyTable.load(path, fingerprint=other)


def test_corrupt_or_absent_table(tmp_path):
    with pytest.raises(TableError, match="does not exist"):
        LatencyTable.load(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(TableError, match="not valid JSON"):
        LatencyTable.load(tmp_path / "bad.json")


def test_unknown_target_is_a_clear_error():
    with pytest.raises(UnknownTargetError) as e:
        get_profiler("cortex-m99")
    assert "cortex-m7" in e.value.hint
    res = CliRunner().invoke(app, ["profile", "--target", "gpu9000"])
    assert res.exit_code == 2
    assert "unknown profiling target" in res.output and "hint:" in res.output


def test_stale_table_via_cli_exits_1(spec, tmp_path):
    path = _filled(get_space("mcu-mbv2")).save(tmp_path / "t.json")  # FP is not this machine's toolchain
    res = CliRunner().invoke(app, ["profile", "--target", "cortex-m7", "--table", str(path), "--budget", "0"])
    assert res.exit_code == 1
    assert "another toolchain" in res.output


def test_repeated_predictions_do_not_recompute_percentiles(spec, monkeypatch):
    """Regression: the search spent 85% of its time recomputing entry statistics per predict()."""
    table = _filled(spec)
    arch = sample_arch(spec, np.random.default_rng(0))
    first = table.predict(arch)
    calls = []
    real_of = EntryStats.of.__func__

    def counting_of(cls, samples):
        calls.append(1)
        return real_of(cls, samples)

    monkeypatch.setattr(EntryStats, "of", classmethod(counting_of))
    assert table.predict(arch) == first and not calls
    key = arch_signatures(spec, arch)[0].key
    table.add(key, [table.stats(key).median + 1000.0] * 5)  # new samples are seen at once
    assert table.predict(arch) > first and calls == [1]


class _InstantProfiler(InstantProfiler):
    """The profile command's own output is under test: batches of 4 entries."""

    batch_size = 4


def test_profile_says_how_big_a_full_table_is_and_how_long_the_rest_takes(tmp_path, monkeypatch):
    import edgenas.profile

    monkeypatch.setattr(edgenas.profile, "get_profiler", lambda *a, **k: _InstantProfiler())
    full = len({s.key for s in space_signatures(get_space("mcu-mbv2"))})
    path = tmp_path / "t.json"
    args = ["profile", "--target", "host", "--table", str(path), "--budget", "10"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    err = " ".join(res.stderr.split())
    assert f"a full table has {full:,} entries; 0 measured, {full:,} missing; this run measures 10 in 3 batches of up to 4" in err
    assert re.search(r"first batch in \d+ s: about \d+ s more for the 6 entries left", err), err
    res = CliRunner().invoke(app, args)  # resumed: what is there is counted
    assert f"10 measured, {full - 10:,} missing; this run measures 10 in 3 batches" in " ".join(res.stderr.split())
    res = CliRunner().invoke(app, [*args[:-1], "0", "--quiet"])
    assert res.exit_code == 0 and "a full table" not in res.stderr


def test_the_time_left_is_told_once_from_the_first_batch():
    from edgenas.cli.commands_profile import Eta, plan_text

    now = [100.0]
    eta = Eta(todo=100, batch=10, workers=2, clock=lambda: now[0])
    assert eta.after(0) is None
    now[0] += 30.0  # one batch of 10 in 30 s; 9 batches left on 2 workers: 5 rounds of 30 s
    assert eta.after(10).startswith("first batch in 30 s: about 2 min more for the 90 entries left")
    assert eta.after(20) is None
    assert plan_text(768, 768, 0, 40, 1).endswith("768 measured, 0 missing: nothing to measure")
    assert plan_text(768, 0, 768, 40, 4).endswith("this run measures 768 in 20 batches of up to 40 on 4 workers")
