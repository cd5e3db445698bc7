import math
import sqlite3

import pytest

from edgenas.errors import UsageError
from edgenas.store import ResultsStore, RunMismatchError, StoreError, Trial, resolve_location

SETTINGS = dict(strategy="evolution", seed=3, space="mcu-mbv2", config={"population": 20, "estimator": "predictor"},
                objectives=("accuracy", "latency"), constraints={"sram_bytes": 65536})


def _trial(seq, arch, fitness=0.5, feasible=True):
    return Trial(seq, arch, fitness, feasible, 0.0 if feasible else 0.25, (-fitness, 1.5e6 + seq),
                 {"sram_bytes": 40000 + seq, "latency": 1.5e6 + seq}, "predictor", 0.001, 1700000000.0 + seq)


def test_trials_round_trip_exactly(tmp_path):
    path = tmp_path / "r.db"
    fitness = 0.1 + 0.2  # not representable in few digits: must come back bit-identical
    trials = [_trial(0, "r32|w1|k3e3", fitness), _trial(1, "r40|w1|k5e6", 1 / 3, feasible=False)]
    with ResultsStore(path) as store:
        run = store.open_run("a", **SETTINGS)
        store.add_trials(run, trials)
    with ResultsStore(path) as store:
        run = store.get_run("a")
        assert run is not None and run.strategy == "evolution" and run.objectives == ("accuracy", "latency")
        assert run.constraints == {"sram_bytes": 65536.0} and run.started > 0
        back = store.trials(run)
    assert back == trials
    assert back[0].fitness == fitness and back[1].objectives[0] == -1 / 3
    assert back[1].feasible is False and math.isclose(back[1].violation, 0.25)


def test_file_store_uses_wal_and_sqlite_urls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_location("sqlite:///rel/x.db") == "rel/x.db"
    assert resolve_location(f"sqlite:///{tmp_path}/abs.db") == f"{tmp_path}/abs.db"
    assert resolve_location("sqlite://") == ":memory:" == resolve_location(":memory:")
    with ResultsStore("sqlite:///rel/x.db") as store:
        store.open_run("a", **SETTINGS)
    assert (tmp_path / "rel" / "x.db").is_file()
    conn = sqlite3.connect(tmp_path / "rel" / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT name FROM runs").fetchall() == [("a",)]
    with pytest.raises(UsageError) as err:
        ResultsStore("postgresql://host/db")
    assert "sqlite:///" in err.value.hint


def test_reopening_a_run_with_other_settings_is_refused(tmp_path):
    store = ResultsStore(tmp_path / "r.db")
    first = store.open_run("a", **SETTINGS)
    assert store.open_run("a", **{**SETTINGS, "objectives": ["accuracy", "latency"]}).id == first.id
    with pytest.raises(RunMismatchError) as err:
        store.open_run("a", **{**SETTINGS, "seed": 4})
    assert "seed: stored 3, asked 4" in str(err.value) and "another run name" in err.value.hint
    with pytest.raises(RunMismatchError, match="constraints"):
        store.open_run("a", **{**SETTINGS, "constraints": {"sram_bytes": 1024}})
    other = store.open_run("b", **{**SETTINGS, "seed": 4})
    assert other.id != first.id and [r.name for r in store.runs()] == ["a", "b"]


def test_a_batch_is_stored_whole_or_not_at_all():
    store = ResultsStore(":memory:")
    run = store.open_run("a", **SETTINGS)
    store.add_trials(run, [_trial(0, "r32|w1|k3e3")])
    with pytest.raises(StoreError, match="already stored"):
        store.add_trials(run, [_trial(1, "r40|w1|k3e3"), _trial(2, "r32|w1|k3e3")])  # second repeats an arch
    assert store.count_trials(run) == 1 and [t.arch for t in store.trials(run)] == ["r32|w1|k3e3"]


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as err:
        ResultsStore(bad)
    assert "cannot open results store" in str(err.value) and err.value.hint
