import json

import numpy as np
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


@pytest.mark.slow
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


def _save_npz(path, seed):
    from edgenas.data import make_synthetic

    d = make_synthetic(seed=seed)
    np.savez(path, x_train=np.concatenate([d.train.x, d.val.x]), y_train=np.concatenate([d.train.y, d.val.y]),
             x_test=d.test.x, y_test=d.test.y)


@pytest.mark.slow
def test_own_data_is_found_from_any_folder_and_other_data_is_refused(tmp_path, monkeypatch):
    """A checkpoint records its data's absolute path and content hash: later commands run from
    another folder find it without --data, and refuse data with other content unless told."""
    data_dir, work = tmp_path / "data", tmp_path / "elsewhere"
    data_dir.mkdir(), work.mkdir()
    _save_npz(data_dir / "mine.npz", seed=0)
    _save_npz(data_dir / "other.npz", seed=1)
    monkeypatch.chdir(data_dir)
    out = tmp_path / "ckpt"
    result = runner.invoke(app, ["train", "--data", "mine.npz", "--space", "tiny-test", "--epochs", "1,0,0,0",
                                 "--out", str(out), "--threads", "1"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "supernet.json").read_text())
    assert meta["data_source"] == str(data_dir / "mine.npz") and len(meta["data_fingerprint"]) == 16

    monkeypatch.chdir(work)
    result = runner.invoke(app, ["subnet", "--arch", "largest", "--supernet", str(out), "--out", "sub"])
    assert result.exit_code == 0, result.output
    assert json.loads((work / "sub" / "subnet.json").read_text())["provenance"]["data"] == str(data_dir / "mine.npz")
    result = runner.invoke(app, ["predictor", "collect", "--supernet", str(out), "--samples", "samples", "--count", "3",
                                 "--val-images", "16", "--calib-images", "16", "--quiet"])
    assert result.exit_code == 0, result.output

    other = ["subnet", "--arch", "largest", "--supernet", str(out), "--out", "sub2", "--data", str(data_dir / "other.npz")]
    result = runner.invoke(app, other)
    assert result.exit_code == 1 and "not the data the supernet was trained on" in result.stderr
    assert "--other-data" in result.stderr
    assert runner.invoke(app, [*other, "--other-data"]).exit_code == 0


@pytest.mark.slow
def test_a_checkpoint_whose_data_moved_says_to_pass_data(tmp_path, monkeypatch):
    _save_npz(tmp_path / "mine.npz", seed=0)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "ckpt"
    assert runner.invoke(app, ["train", "--data", "mine.npz", "--space", "tiny-test", "--epochs", "1,0,0,0",
                               "--out", str(out), "--threads", "1"]).exit_code == 0
    (tmp_path / "mine.npz").rename(tmp_path / "moved.npz")
    result = runner.invoke(app, ["subnet", "--arch", "largest", "--supernet", str(out), "--out", "sub"])
    assert result.exit_code == 1 and "--data" in result.stderr
    result = runner.invoke(app, ["subnet", "--arch", "largest", "--supernet", str(out), "--out", "sub",
                                 "--data", "moved.npz"])
    assert result.exit_code == 0, result.output


@pytest.mark.slow
def test_a_finished_run_is_not_trained_again_and_other_settings_are_refused(tmp_path):
    out = tmp_path / "ckpt"
    args = ["train", "--data", "synthetic", "--space", "tiny-test", "--epochs", "1,0,0,0", "--out", str(out), "--threads", "1"]
    assert runner.invoke(app, args).exit_code == 0
    before = (out / "supernet.safetensors").read_bytes()
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "nothing to do" in result.stdout
    assert (out / "supernet.safetensors").read_bytes() == before
    result = runner.invoke(app, [*args, "--seed", "3"])
    assert result.exit_code == 1 and "finished run with other settings" in result.stderr


@pytest.mark.parametrize("args, text", [
    (["train", "--data", "synthetic", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["train", "--data", "synthetic", "--subnets", "0"], "--subnets must be at least 1"),
    (["search", "--target", "cortex-m7", "--constraint", "ram=1e308GB"], "too large"),
    (["extract", "--target", "cortex-m7", "--ram", "1e308GB"], "too large"),
])
def test_cli_edges_are_clean_errors(args, text, tmp_path):
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert result.exit_code in (1, 2), result.output
    assert text in result.stderr and "Traceback" not in result.output


def test_out_that_is_an_existing_file_is_a_clean_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("mine")
    result = runner.invoke(app, ["subnet", "--arch", "smallest", "--out", str(blocker / "sub"), "--no-evaluate"])
    assert result.exit_code == 1 and "error:" in result.stderr and str(blocker) in result.stderr
    assert blocker.read_text() == "mine"


def test_error_text_is_not_read_as_markup():
    from edgenas.cli.common import report

    from rich.console import Console

    import edgenas.cli.common as common

    console = Console(record=True, width=200)
    saved, common.stderr = common.stderr, console
    try:
        report("every board needs [memory.ram] and [memory.flash]", "add [memory.ram]")
    finally:
        common.stderr = saved
    text = console.export_text()
    assert "[memory.ram] and [memory.flash]" in text and "add [memory.ram]" in text


@pytest.mark.slow
def test_the_validation_split_is_the_data_seed_not_the_run_seed_and_continued_runs_keep_it(tmp_path):
    """A continued run that carved a new validation split would validate (and later search) on
    images its parent trained on."""
    base = ["train", "--data", "synthetic", "--space", "tiny-test", "--threads", "1"]
    first, second = tmp_path / "a", tmp_path / "b"
    assert runner.invoke(app, [*base, "--epochs", "1,0,0,0", "--seed", "5", "--data-seed", "2",
                               "--out", str(first)]).exit_code == 0
    result = runner.invoke(app, [*base, "--epochs", "0,0,0,1", "--seed", "7", "--init-from", str(first),
                                 "--out", str(second)])
    assert result.exit_code == 0, result.output
    metas = [json.loads((d / "supernet.json").read_text()) for d in (first, second)]
    assert [m["data_seed"] for m in metas] == [2, 2] and [m["seed"] for m in metas] == [5, 7]
    assert metas[0]["data_fingerprint"] == metas[1]["data_fingerprint"]


def test_extract_latency_in_time_against_an_instruction_table_is_refused():
    result = runner.invoke(app, ["extract", "--target", "cortex-m7", "--latency", "50ms", "--out", "unused"])
    assert result.exit_code == 2, result.output
    assert "is a time but the latency table counts instructions" in " ".join(result.stderr.split())


@pytest.mark.slow
def test_extract_on_a_board_defaults_its_budget_to_the_board_memory(tmp_path, monkeypatch):
    from edgenas.boards import registry
    from edgenas.paths import REPO_ROOT

    small = (REPO_ROOT / "boards" / "mps2-an500.toml").read_text()
    small = small.replace('name = "mps2-an500"', 'name = "tiny-ram-an500"').replace(
        "[memory.ram]\norigin = 0x20000000\nsize = 0x00400000", "[memory.ram]\norigin = 0x20000000\nsize = 0x00002000")
    (tmp_path / "tiny-ram-an500.toml").write_text(small)
    monkeypatch.setenv("EDGENAS_BOARDS_DIR", str(tmp_path))
    monkeypatch.setattr(registry, "_default", None)  # the process-wide registry re-reads the folder
    result = runner.invoke(app, ["extract", "--board", "tiny-ram-an500", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert "no subnet fits 8.0 KB RAM" in " ".join(result.stderr.split())
