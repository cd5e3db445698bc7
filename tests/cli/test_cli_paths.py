"""Paths given on the command line that cannot be used (issue #25's CLI edges): an --out that is a
file or lies under one, an --out nobody may write, a --table that is a folder. Each is an
``error:``/``hint:`` and exit 1, never a traceback, and the user's file is left as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.deploy import write_tflite

runner = CliRunner()
TRAIN = ["train", "--data", "synthetic", "--space", "tiny-test", "--epochs", "1,0,0,0", "--threads", "1", "--quiet"]
SEARCH = ["search", "--target", "cortex-m7", "--budget", "2", "--quiet"]
EXTRACT = ["extract", "--target", "cortex-m7", "--generations", "1", "--eval-images", "16", "--baseline-epochs", "-1",
           "--verify-inputs", "1", "--quiet"]
SUBNET = ["subnet", "--arch", "smallest", "--no-evaluate"]


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> str:
    from tests.deploy.test_tflite_ops import make_case

    path = tmp_path_factory.mktemp("model") / "dense.tflite"
    path.write_bytes(write_tflite(make_case("fully_connected", 0)))
    return str(path)


def _commands(model: str) -> dict[str, list[str]]:
    """Each command writing a folder, with the option that names it last."""
    return {"train": [*TRAIN, "--out"], "subnet": [*SUBNET, "--out"], "search": [*SEARCH, "--out"],
            "extract": [*EXTRACT, "--out"], "compile": ["compile", model, "--out"],
            "predictor fit": ["predictor", "fit", "--out"], "predictor collect": ["predictor", "collect", "--samples"],
            "predictor refine": ["predictor", "refine", "--target", "cortex-m7", "--ram", "64KB", "--out"],
            "data kws": ["data", "kws", "--out"]}


def _clean_failure(args: list[str], *texts: str) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    stderr = " ".join(result.stderr.split())  # undo Rich's line wrapping
    assert "error:" in stderr and "hint:" in stderr and "Traceback" not in result.output
    for text in texts:
        assert text in stderr, stderr
    return stderr


@pytest.mark.parametrize("command", ["train", "subnet", "search", "extract", "compile", "predictor fit",
                                     "predictor collect", "predictor refine", "data kws"])
@pytest.mark.timeout(120)
@pytest.mark.slow
def test_out_that_is_an_existing_file_is_refused_and_the_file_kept(command, model, tmp_path):
    mine = tmp_path / "notes.txt"
    mine.write_text("mine")
    args = _commands(model)[command]
    stderr = _clean_failure([*args, str(mine)], str(mine))
    assert f"{args[-1]} {mine} is not a folder" in stderr
    under = _clean_failure([*args, str(mine / "sub")], str(mine))
    assert f"its parent {mine} is a file" in under
    assert mine.read_text() == "mine"


def test_train_does_not_read_a_file_at_out_as_a_damaged_checkpoint(tmp_path):
    mine = tmp_path / "run"
    mine.write_text("mine")
    stderr = _clean_failure([*TRAIN, "--out", str(mine)], f"--out {mine} is not a folder")
    assert "checkpoint" not in stderr


def _unwritable(tmp_path: Path) -> Path:
    """A folder path that cannot be created, as root too (sysfs refuses new entries)."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        return locked / "out"
    target = Path("/sys/edgenas-unwritable-test/out")
    try:
        target.parent.mkdir()
    except OSError:
        return target
    target.parent.rmdir()
    pytest.skip("no folder that root cannot write to here")


@pytest.mark.parametrize("command", ["train", "subnet", "search", "extract", "compile"])
@pytest.mark.timeout(180)
@pytest.mark.slow
def test_out_that_cannot_be_written_is_a_clean_error(command, model, tmp_path):
    out = _unwritable(tmp_path)
    _clean_failure([*_commands(model)[command], str(out)], "check the paths given on the command line",
                   str(out.parent))


@pytest.mark.parametrize("args", [
    ["profile", "--target", "cortex-m7"],
    [*SEARCH, "--out", "{tmp}/s"],
    [*EXTRACT, "--out", "{tmp}/e"],
])
@pytest.mark.timeout(120)
def test_a_table_that_is_a_folder_is_refused(args, tmp_path):
    args = [a.format(tmp=tmp_path) for a in args]
    _clean_failure([*args, "--table", str(tmp_path)], f"{tmp_path} is a folder, not a file")


@pytest.mark.slow
def test_a_folder_without_a_predictor_is_answered_with_the_commands_that_make_one(tmp_path):
    stderr = _clean_failure([*EXTRACT, "--predictor", str(tmp_path), "--out", str(tmp_path / "e")],
                            f"no accuracy predictor in {tmp_path}", "edgenas predictor collect --samples S")
    assert "edgenas.estimate" not in stderr and "AccuracyPredictor" not in stderr


def test_a_table_that_cannot_be_written_names_the_table(tmp_path, monkeypatch):
    """profile --table in a folder nobody may write named a temp file (t.jsonab12cd.tmp)."""
    import edgenas.profile

    from tests.profile.test_table import _InstantProfiler

    monkeypatch.setattr(edgenas.profile, "get_profiler", lambda *a, **k: _InstantProfiler())
    table = _unwritable(tmp_path).parent / "t.json"
    stderr = _clean_failure(["profile", "--target", "host", "--table", str(table), "--budget", "1", "--quiet"],
                            f"cannot write latency table {table}:")
    assert ".tmp" not in stderr
