"""`edgenas extract --data PATH`: a user's dataset is adapted from the bundled supernet (cached and
resumed in a work folder), searched and deployed in one command, from any working folder."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.data import load_dataset, make_synthetic
from edgenas.extract.adapt import AdaptPlan, work_folder

pytestmark = pytest.mark.board


def _write_npz(path, splits):
    np.savez(path, x_train=np.concatenate([splits.train.x, splits.val.x]),
             y_train=np.concatenate([splits.train.y, splits.val.y]), x_test=splits.test.x, y_test=splits.test.y,
             classes=np.array(splits.classes))
    return path


def test_one_command_adapts_searches_and_deploys_own_npz_from_another_folder(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    data = _write_npz(tmp_path / "data" / "shapes.npz",
                      make_synthetic(num_classes=3, size=16, n_train=96, n_val=32, n_test=48, seed=1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = ["extract", "--data", str(data), "--target", "cortex-m7", "--ram", "64KB", "--out", "x",
            "--work", "adapt", "--adapt-steps", "8", "--adapt-samples", "12", "--baseline-epochs", "1",
            "--generations", "2", "--verify-inputs", "1", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((elsewhere / "x" / "report.json").read_text())
    adapted = report["request"]["adapted"]
    splits = load_dataset(str(data))
    work = work_folder(elsewhere / "adapt", splits)
    assert adapted["fingerprint"] == splits.fingerprint and (work / "supernet" / "supernet.json").is_file()
    assert adapted["predictor"]["train"] + adapted["predictor"]["heldout"] == 12
    assert report["request"]["supernet"] == str(work / "supernet")
    assert report["accuracy"]["classes"] == list(splits.classes)
    assert report["verified_bit_exact"] is True and report["measured"]["ram_bytes"] <= 64 * 1024
    assert [b["name"] for b in report["accuracy"]["baselines"]] == ["logistic regression", "small CNN"]
    # A second run reuses every cached stage: the supernet and the predictor are not touched.
    stamps = {p: p.stat().st_mtime_ns for p in work.rglob("*") if p.is_file() and p.name != "adapt.json"}
    again = CliRunner().invoke(app, args[:8] + ["x2"] + args[9:])
    assert again.exit_code == 0, again.output
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def _write_image_folder(root, splits):
    """``root/<class>/<n>.png`` from every split's images (the loader holds out its own test images)."""
    from PIL import Image

    for part in (splits.train, splits.val, splits.test):
        for i, (image, label) in enumerate(zip(part.x, part.y)):
            folder = root / splits.classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image[..., 0]).save(folder / f"{len(list(folder.iterdir()))}.png")
    return root


def test_one_command_on_an_image_folder_given_relative_to_another_folder(tmp_path, monkeypatch):
    """The folder is named relative to the working folder, which holds a decoy of the same name
    (an empty class folder): every stage must use the folder given, resolved once."""
    data = _write_image_folder(tmp_path / "data" / "shapes",
                               make_synthetic(num_classes=3, size=16, n_train=48, n_val=12, n_test=24, seed=2))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "shapes" / "firmware").mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    args = ["extract", "--data", "../data/shapes", "--target", "cortex-m7", "--ram", "64KB", "--out", "x",
            "--work", "adapt", "--adapt-steps", "4", "--adapt-samples", "12", "--baseline-epochs", "0",
            "--generations", "2", "--verify-inputs", "1", "--quiet"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((elsewhere / "x" / "report.json").read_text())
    splits = load_dataset(str(data))
    adapted = report["request"]["adapted"]
    assert adapted["data"] == str(data.resolve()) and adapted["fingerprint"] == splits.fingerprint
    work = work_folder(elsewhere / "adapt", splits)
    assert report["request"]["supernet"] == str(work / "supernet") and work.name.startswith("shapes-")
    assert report["accuracy"]["classes"] == list(splits.classes) and report["accuracy"]["test_images"] == len(splits.test)
    assert report["verified_bit_exact"] is True and report["measured"]["ram_bytes"] <= 64 * 1024
    assert [b["name"] for b in report["accuracy"]["baselines"]] == ["logistic regression"]
    assert "(predictor estimate" in (elsewhere / "x" / "report.md").read_text()
    assert 0 <= report["search"]["predicted_accuracy"] <= 1


def test_plan_gives_small_sets_more_epochs_and_scales_steps():
    plan = AdaptPlan()
    assert plan.epochs(60000) == (1, 1, 1, 1)
    small = plan.epochs(1294)
    assert small[0] == round(600 / 21) and small[3] == plan.max_epochs_per_phase
    tiny = plan.scaled(210, 20)
    assert tiny.total_steps == 210 and tiny.samples == 20 and tiny.full_steps == 60
