"""``edgenas boards`` / ``boards list`` / ``boards show``: built-ins, user profiles, errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgenas import __version__
from edgenas.boards import registry
from edgenas.cli import app
from edgenas.paths import BOARDS_DIR

from tests.targets.board_names import EMULATED, REAL

runner = CliRunner()


@pytest.fixture
def fresh_registry(monkeypatch):
    """Let the command build the process-wide registry again (and forget it afterwards)."""
    monkeypatch.setattr(registry, "_default", None)
    yield
    registry._default = None


@pytest.mark.parametrize("args", [["boards", "--json"], ["boards", "list", "--json"]])
def test_lists_builtin_boards_with_source_and_version(args, fresh_registry, monkeypatch, tmp_path):
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))  # empty: no user boards
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(EMULATED + REAL) <= set(rows)
    for name in EMULATED + REAL:
        assert rows[name]["source"] == "builtin" and rows[name]["version"] == __version__
        assert rows[name]["emulated"] == (name in EMULATED)
    assert rows["mps2-an500"]["core"] == "cortex-m7" and rows["mps2-an500"]["ram_bytes"] == 4 << 20


def test_table_lists_every_board(fresh_registry):
    result = runner.invoke(app, ["boards"])
    assert result.exit_code == 0
    for name in EMULATED + REAL:
        assert name in result.stdout
    assert "QEMU" in result.stdout and "builtin" in result.stdout


def test_user_profile_is_listed_as_user(fresh_registry, monkeypatch, tmp_path):
    text = (BOARDS_DIR / "mps2-an386.toml").read_text().replace('name = "mps2-an386"', 'name = "my-m4"')
    (tmp_path / "my-m4.toml").write_text(text)
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))
    result = runner.invoke(app, ["boards", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["my-m4"]["source"] == "user" and rows["my-m4"]["file"] == str(tmp_path / "my-m4.toml")
    assert rows["my-m4"]["core"] == "cortex-m4"


def test_show_prints_the_whole_profile(fresh_registry):
    result = runner.invoke(app, ["boards", "show", "mps3-an547", "--json"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["core"] == "cortex-m55" and d["qemu_machine"] == "mps3-an547" and d["features"]["mve"] is True
    assert d["memory"]["flash"]["origin"] == "0x00000000" and d["memory"]["ram"]["size_bytes"] == 512 * 1024
    assert d["counter_unit"] == "instructions" and d["default_for_core"] is True
    table = runner.invoke(app, ["boards", "show", "nucleo-f746zg"])
    assert table.exit_code == 0 and "stm32f746zgtx" in table.stdout and "cycles" in table.stdout


def test_show_resolves_a_core_to_its_default_board(fresh_registry):
    result = runner.invoke(app, ["boards", "show", "cortex-m4", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == "mps2-an386"


def test_unknown_board_is_a_clean_error(fresh_registry):
    result = runner.invoke(app, ["boards", "show", "mps2-an50"])
    assert result.exit_code == 1
    assert "error: unknown target 'mps2-an50'" in result.stderr and "hint:" in result.stderr
    assert "mps2-an500" in result.stderr  # close names suggested


def test_bad_user_profile_names_file_and_field(fresh_registry, monkeypatch, tmp_path):
    text = (BOARDS_DIR / "mps2-an386.toml").read_text().replace('name = "mps2-an386"', 'name = "bad"')
    (tmp_path / "bad.toml").write_text(text.replace('core = "cortex-m4"', 'core = "cortex-m9"'))
    (tmp_path / "latin1.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    (tmp_path / "deep.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))
    result = runner.invoke(app, ["boards"])
    assert result.exit_code == 0, result.output  # one broken file never stops every command
    assert "skipped:" in result.stderr and "bad.toml" in result.stderr and "core" in result.stderr
    assert "latin1.toml" in result.stderr and "UTF-8" in result.stderr and "deep.toml" in result.stderr
    assert "mps2-an500" in result.stdout and "Traceback" not in result.output
    assert runner.invoke(app, ["boards", "show", "mps2-an500"]).exit_code == 0


def test_missing_user_board_folder_is_reported(fresh_registry, monkeypatch, tmp_path):
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path / "nope"))
    result = runner.invoke(app, ["boards"])
    assert result.exit_code == 0 and "does not exist" in result.stderr and "EDGENAS_BOARDS_DIR" in result.stderr
