"""search --target for targets other than a Cortex-M core (issue #25): `edgenas profile --target
host` builds host latency tables, yet `search --target host` answered "unknown target".

No board for such a target: CostModel(spec, None, table) counts the model alone; the table comes
from --table, else where `edgenas profile` writes it, else an error naming `edgenas profile
--target host`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from tests.profile.instant_profiler import InstantProfiler

runner = CliRunner()


@pytest.fixture
def host_table(tmp_path, monkeypatch):
    import edgenas.profile

    monkeypatch.setattr(edgenas.profile, "get_profiler", lambda *a, **k: InstantProfiler())
    path = tmp_path / "host.json"
    result = runner.invoke(app, ["profile", "--target", "host", "--table", str(path), "--quiet"])
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.slow
def test_search_on_the_host_with_a_host_table(host_table, tmp_path):
    out = tmp_path / "s"
    result = runner.invoke(app, ["search", "--target", "host", "--table", str(host_table), "--budget", "3",
                                 "--constraint", "latency=50ms", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "search.json").read_text())["latency_unit"] == "ms"


def test_search_on_the_host_without_a_table_names_the_profile_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no latency/host.json here
    result = runner.invoke(app, ["search", "--target", "host", "--budget", "3", "--out", str(tmp_path / "s")])
    stderr = " ".join(result.stderr.split())
    assert result.exit_code in (1, 2) and "unknown target" not in stderr, stderr
    assert "edgenas profile --target host" in stderr


class _PhoneProfiler(InstantProfiler):
    target, backend, board = "android", "litert-benchmark", "android-arm64"


@pytest.mark.slow
def test_search_on_a_phone_reads_its_table_where_profile_wrote_it(tmp_path, monkeypatch):
    import edgenas.profile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(edgenas.profile, "get_profiler", lambda *a, **k: _PhoneProfiler())
    made = runner.invoke(app, ["profile", "--target", "android", "--table", "latency/android-arm64.json", "--quiet"])
    assert made.exit_code == 0, made.output
    result = runner.invoke(app, ["search", "--target", "android", "--budget", "3", "--constraint", "latency=50ms",
                                 "--quiet", "--out", "s"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "s" / "search.json").read_text())
    assert summary["latency_unit"] == "ms" and summary["board"] == "android-arm64"
    host = runner.invoke(app, ["search", "--target", "linux-arm64", "--table", "latency/android-arm64.json",
                               "--budget", "3", "--quiet", "--out", "t"])
    assert host.exit_code == 2 and "measured for target 'android'" in " ".join(host.stderr.split())
