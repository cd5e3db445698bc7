"""``edgenas data kws``: builds a small keyword dataset, reports it as JSON, refuses to overwrite,
and says how to install espeak-ng when it is missing."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.data.kws import espeak

runner = CliRunner()
SMALL = ["--speakers", "f3,m1,klatt", "--keywords", "yes,no", "--takes", "1", "--unknown", "1", "--silence", "1",
         "--quiet"]


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup)")
def test_builds_a_small_dataset_and_refuses_to_overwrite_it(tmp_path):
    out = tmp_path / "kws"
    result = runner.invoke(app, ["data", "kws", "--out", str(out), "--json", *SMALL])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["clips"] == 3 * (2 + 1 + 1)
    assert summary["counts"]["test"] == {"_silence_": 1, "_unknown_": 1, "no": 1, "yes": 1}
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["_silence_", "_unknown_", "no", "yes"]
    again = runner.invoke(app, ["data", "kws", "--out", str(out), *SMALL])
    message = " ".join(again.stderr.split())  # Rich wraps long lines
    assert again.exit_code == 1 and "already exists" in message and "hint: pick a new --out" in message


def test_missing_espeak_exits_3_with_a_setup_hint(tmp_path, monkeypatch):
    monkeypatch.setattr(espeak.shutil, "which", lambda name: None)
    espeak.list_variants.cache_clear()
    try:
        result = runner.invoke(app, ["data", "kws", "--out", str(tmp_path / "kws"), "--quiet"])
    finally:
        espeak.list_variants.cache_clear()
    assert result.exit_code == 3 and "make setup" in " ".join(result.stderr.split())
