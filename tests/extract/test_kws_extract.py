"""`edgenas extract --data <keyword folder>`: the one command adapts the bundled supernet to
log-mel images (49 x 40, resized to the subnet's square resolution), deploys the int8 subnet and
checks the emulated board against the host build on resized test features."""

import json

import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.data import load_dataset
from tests.data.test_kws_data_option import write_keyword_folder

pytestmark = pytest.mark.board


def test_one_command_on_a_keyword_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGENAS_CACHE_DIR", str(tmp_path / "cache"))
    root = write_keyword_folder(tmp_path / "words", per_split=3)
    monkeypatch.chdir(tmp_path)
    args = ["extract", "--data", str(root), "--target", "cortex-m7", "--ram", "64KB", "--out", "x",
            "--work", "adapt", "--adapt-steps", "8", "--adapt-samples", "12", "--baseline-epochs", "1",
            "--generations", "2", "--verify-inputs", "2", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "x" / "report.json").read_text())
    splits = load_dataset(str(root))
    assert report["request"]["adapted"]["fingerprint"] == splits.fingerprint
    assert report["accuracy"]["classes"] == ["bed", "no", "yes"] and report["accuracy"]["test_images"] == 9
    assert report["verified_bit_exact"] is True and report["measured"]["ram_bytes"] <= 64 * 1024
