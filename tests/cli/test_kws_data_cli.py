"""``--data <keyword folder>`` through the commands: train records the folder, and predictor
collect finds it again (features from the cache) without being told."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgenas.cli import app
from tests.data.test_kws_data_option import write_keyword_folder

runner = CliRunner()


def test_train_then_collect_on_a_keyword_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGENAS_CACHE_DIR", str(tmp_path / "cache"))
    root = write_keyword_folder(tmp_path / "words")
    out = tmp_path / "ckpt"
    result = runner.invoke(app, ["train", "--data", str(root), "--space", "tiny-test", "--epochs", "1,0,0,0",
                                 "--out", str(out), "--threads", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "supernet.json").read_text())
    assert meta["data_source"] == str(root.resolve()) and meta["space"]["num_classes"] == 3
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["predictor", "collect", "--supernet", str(out), "--samples", "samples", "--count", "2",
                                 "--calib-images", "6", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "samples" / "samples-0of1.jsonl").read_text().splitlines()) == 2
