import json

import pytest
from typer.testing import CliRunner

from edgenas.cli import app

runner = CliRunner()


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("space", "train", "subnet"):
        assert command in result.output


def test_space_json_reports_exact_size():
    result = runner.invoke(app, ["space", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["size"] == 5 * 3 * (9**2 + 9**3 + 9**4) ** 4
    assert data["space"]["name"] == "mcu-mbv2"


def test_unknown_space_is_a_clean_error():
    result = runner.invoke(app, ["space", "--space", "nope"])
    assert result.exit_code == 1
    assert "error:" in result.stderr and "hint:" in result.stderr


def test_bad_epochs_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["train", "--data", "synthetic", "--epochs", "x", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "--epochs" in result.stderr


def test_fresh_run_needs_full_epochs_unless_continuing(tmp_path):
    result = runner.invoke(app, ["train", "--data", "synthetic", "--epochs", "0,0,0,2", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "--init-from" in result.stderr


def test_train_and_subnet_on_synthetic(tmp_path):
    out = tmp_path / "ckpt"
    result = runner.invoke(
        app, ["train", "--data", "synthetic", "--space", "tiny-test", "--epochs", "1,1,0,0", "--out", str(out), "--threads", "1",
              "--lr-scale", "2"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "supernet.safetensors").exists()
    phases = json.loads((out / "supernet.json").read_text())["config"]["phases"]
    assert [p["lr"] for p in phases] == pytest.approx([0.2, 0.06])  # twice the default peaks
    result = runner.invoke(
        app, ["subnet", "--arch", "largest", "--supernet", str(out), "--data", "synthetic", "--out", str(tmp_path / "sub")]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert 0.0 <= data["test_acc"] <= 1.0
    assert (tmp_path / "sub" / "model.onnx").exists() and (tmp_path / "sub" / "subnet.json").exists()
