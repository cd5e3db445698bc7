"""``edgenas search`` on the bundled supernet, predictor and the emulated Cortex-M7 board's table."""

import json

import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.cli.commands_search import parse_constraint
from edgenas.cost.latency_table import LatencyTable
from edgenas.errors import UsageError
from edgenas.space import get_space

runner = CliRunner()


def _search(out, *extra):
    return runner.invoke(app, ["search", "--target", "cortex-m7", "--out", str(out), "--quiet", "--json", *extra])


@pytest.mark.slow
def test_multi_objective_search_writes_results_and_resumes(tmp_path):
    args = ["--strategy", "aging", "--objective", "accuracy", "--objective", "latency", "--constraint", "ram=64KB",
            "--constraint", "latency=20M", "--budget", "60", "--batch", "10", "--seed", "2"]
    first = _search(tmp_path, *args)
    assert first.exit_code == 0, first.stderr
    summary = json.loads(first.stdout)
    trials = json.loads((tmp_path / "trials.json").read_text())
    assert len(trials) == 60 == summary["evaluations"] == summary["new_evaluations"]
    assert summary["constraints"] == {"latency": 20e6, "sram_bytes": 65536.0} and summary["board"] == "mps2-an500"
    best = summary["best"]
    assert best["metrics"]["sram_bytes"] <= 65536 and best["metrics"]["latency"] <= 20e6
    assert best["fitness"] == max(t["fitness"] for t in trials if t["feasible"])
    assert summary["front"] and summary["hypervolume"] > 0 and summary["reference"] == [0.0, 20e6]
    assert (tmp_path / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "results.db").is_file()

    again = _search(tmp_path, *args)  # the same command resumes: nothing evaluated again
    assert again.exit_code == 0, again.stderr
    resumed = json.loads(again.stdout)
    assert resumed["new_evaluations"] == 0 and resumed["run"] == summary["run"]
    assert resumed["best"]["arch"] == best["arch"] and resumed["hypervolume"] == summary["hypervolume"]
    assert json.loads((tmp_path / "trials.json").read_text()) == trials


@pytest.mark.slow
def test_warm_start_from_an_earlier_search_folder(tmp_path):
    first = _search(tmp_path / "a", "--constraint", "ram=128KB", "--budget", "30")
    assert first.exit_code == 0, first.stderr
    earlier = json.loads(first.stdout)["best"]["arch"]
    warm = _search(tmp_path / "b", "--constraint", "ram=128KB", "--budget", "30", "--warm-start", str(tmp_path / "a"))
    assert warm.exit_code == 0, warm.stderr
    trials = json.loads((tmp_path / "b" / "trials.json").read_text())
    assert trials[0]["arch"] == earlier  # evaluated before the strategy's own proposals
    missing = _search(tmp_path / "c", "--budget", "5", "--warm-start", str(tmp_path / "nothing"))
    assert missing.exit_code != 0 and "no earlier search" in missing.stderr


@pytest.mark.slow
def test_single_objective_search_has_no_front(tmp_path):
    result = _search(tmp_path, "--strategy", "random", "--constraint", "flash=256KB", "--budget", "20",
                     "--store", f"sqlite:///{tmp_path}/other.db", "--run", "mine")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["run"] == "mine" and summary["hypervolume"] is None and summary["front"] == []
    assert summary["best"]["metrics"]["flash_bytes"] <= 256 * 1024
    assert not (tmp_path / "pareto.png").exists() and (tmp_path / "other.db").is_file()
    # the named run refuses other settings
    clash = _search(tmp_path, "--strategy", "random", "--constraint", "flash=256KB", "--budget", "20",
                    "--store", f"sqlite:///{tmp_path}/other.db", "--run", "mine", "--seed", "1")
    assert clash.exit_code == 1 and "other settings" in clash.stderr and "hint:" in clash.stderr


@pytest.mark.parametrize("args,code,text", [
    (["--constraint", "ram=lots"], 2, "cannot read 'lots'"),
    (["--constraint", "speed=1"], 2, "unknown constraint"),
    (["--constraint", "ram"], 2, "KEY=VALUE"),
    (["--constraint", "latency=50ms"], 2, "counts instructions"),
    (["--strategy", "annealing"], 2, "unknown search strategy"),
    (["--objective", "latency"], 2, "leave out accuracy"),
    (["--constraint", "ram=1KB"], 1, "smallest needs"),
])
@pytest.mark.slow
def test_bad_requests_exit_with_a_hint(tmp_path, args, code, text):
    result = _search(tmp_path, "--budget", "5", *args)
    assert result.exit_code == code, result.stderr
    stderr = " ".join(result.stderr.split())  # Rich wraps long lines
    assert text in stderr and "hint:" in stderr


def test_constraint_values_use_the_usual_units():
    assert parse_constraint("ram=256KB", "instructions") == ("sram_bytes", 262144.0)
    assert parse_constraint("flash=1MB", None) == ("flash_bytes", 1048576.0)
    assert parse_constraint("latency=1.5M", "instructions") == ("latency", 1.5e6)
    assert parse_constraint("latency=50ms", "ms") == ("latency", 50.0)
    assert parse_constraint("MACs=20M", None) == ("macs", 20e6)
    assert parse_constraint("params = 200k", None) == ("params", 200e3)
    with pytest.raises(UsageError):
        parse_constraint("arena=-1", None)


def test_a_latency_table_of_another_space_is_a_usage_error(tmp_path):
    other = LatencyTable("cortex-m7", "instructions", {}, get_space("kws-mbv2", in_channels=1, num_classes=10))
    table = other.save(tmp_path / "other.json")
    result = _search(tmp_path / "s", "--budget", "5", "--table", str(table))
    assert result.exit_code == 2, result.stderr
    stderr = " ".join(result.stderr.split())
    assert "was measured for space 'kws-mbv2'" in stderr and "edgenas profile" in stderr


def test_text_output_shows_the_predicted_accuracy_as_a_labelled_percentage(tmp_path):
    result = runner.invoke(app, ["search", "--target", "cortex-m7", "--out", str(tmp_path), "--quiet",
                                 "--strategy", "random", "--constraint", "ram=64KB", "--budget", "10"])
    assert result.exit_code == 0, result.stderr
    best = json.loads((tmp_path / "search.json").read_text())["best"]["fitness"]
    line = next(line for line in result.stdout.splitlines() if line.startswith("predictor"))
    assert line.split(None, 1)[1] == f"{100 * min(1.0, best):.2f} % (predictor estimate)"
