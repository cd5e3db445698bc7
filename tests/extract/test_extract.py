"""The whole path on a tiny supernet trained on synthetic data: budget → verified firmware."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.boards import get_board
from edgenas.cli import app
from edgenas.data import make_synthetic
from edgenas.errors import InfeasibleBudgetError
from edgenas.extract import PREDICTIONS_FILE, ExtractRequest, extract, per_class_accuracy

pytestmark = pytest.mark.board


def _request(assets, out, **limits):
    return ExtractRequest(
        board=get_board("mps2-an500"), limits=limits, out_dir=out, supernet_dir=assets / "supernet",
        predictor_dir=assets / "predictor", generations=3, verify_inputs=2, seed=3,
    )


def test_extract_writes_verified_artifacts_within_budget(assets, tmp_path):
    limit = 24 * 1024
    report = extract(_request(assets, tmp_path / "a", sram_bytes=limit))
    out = tmp_path / "a"
    for name in ("firmware.elf", "firmware.bin", "model.tflite", "model.onnx", "arch.json", "report.json",
                 "report.md", "src/model.c", "memory.json"):
        assert (out / name).exists(), name
    data = json.loads((out / "report.json").read_text())
    assert data["verified_bit_exact"] is True
    assert data["measured"]["arena_bytes"] == data["predicted"]["arena_bytes"]
    assert data["measured"]["ram_bytes"] <= limit
    assert 0.0 <= data["accuracy"]["int8"] <= 1.0
    assert data["measured"]["latency_unit"] == "instructions"
    summary = (out / "report.md").read_text()
    assert report.arch in summary
    acc, n = data["accuracy"]["int8"], data["accuracy"]["test_images"]
    assert f"±{196 * (acc * (1 - acc) / n) ** 0.5:.2f} points at 95 %" in summary
    predictions = np.load(out / PREDICTIONS_FILE)
    labels = make_synthetic(seed=0).test.y[:n]
    assert predictions.shape == (n,) and np.mean(predictions == labels) == acc
    per_class = data["accuracy"]["int8_per_class"]
    counts = np.bincount(labels, minlength=len(per_class))
    assert sum(a * c for a, c in zip(per_class.values(), counts) if a is not None) == pytest.approx(acc * n)
    assert "Int8 accuracy per class, worst first: " in summary
    baselines = data["accuracy"]["baselines"]
    assert [b["name"] for b in baselines] == ["logistic regression", "small CNN"]
    assert "Baselines on the same split: logistic regression" in summary
    losses = [b for b in baselines if b["test_acc"] > acc]
    assert len(data["accuracy"]["warnings"]) == len(losses)


def test_per_class_accuracy_names_each_class_and_skips_absent_ones():
    got = per_class_accuracy(np.array([0, 1, 1, 0]), np.array([0, 0, 1, 1]), ["cat", "dog", "eel"])
    assert got == {"cat": 0.5, "dog": 0.5, "eel": None}


def test_same_seed_same_subnet_and_firmware_bytes(assets, tmp_path):
    a = extract(_request(assets, tmp_path / "a", flash_bytes=200 * 1024))
    b = extract(_request(assets, tmp_path / "b", flash_bytes=200 * 1024))
    assert a.arch == b.arch
    assert (tmp_path / "a" / "firmware.bin").read_bytes() == (tmp_path / "b" / "firmware.bin").read_bytes()
    assert (tmp_path / "a" / "src" / "model.c").read_bytes() == (tmp_path / "b" / "src" / "model.c").read_bytes()


def test_finetuned_subnet_is_what_gets_deployed(assets, tmp_path):
    """--finetune-epochs trains the chosen subnet further before int8; the report keeps both
    accuracies, and the artifacts (still verified on the board) hold the fine-tuned weights."""
    base = extract(_request(assets, tmp_path / "a", flash_bytes=200 * 1024))
    said: list[str] = []
    tuned = extract(ExtractRequest(**{**_request(assets, tmp_path / "b", flash_bytes=200 * 1024).__dict__,
                                      "finetune_epochs": 1}), said.append)
    progress = [m for m in said if m.startswith("fine-tune epoch 1/1: step")]
    assert progress and said.index(progress[-1]) < said.index(next(m for m in said if "loss" in m))
    assert tuned.arch == base.arch and tuned.verified
    assert tuned.request["finetune_epochs"] == 1 and "float_inherited" in tuned.accuracy
    assert tuned.accuracy["float_inherited"] == base.accuracy["float"]
    assert (tmp_path / "a" / "model.tflite").read_bytes() != (tmp_path / "b" / "model.tflite").read_bytes()
    assert "fine-tuning epochs" in (tmp_path / "b" / "report.md").read_text()


def test_firmware_numerics_run_on_a_fixed_thread_count(assets, tmp_path, monkeypatch):
    """Float sums depend on how work is split between threads (seen on the bundled supernet: 1 and
    2 threads gave different firmware bytes), so BN recalibration, quantization ranges and the
    moments that steer weight rounding run on DETERMINISTIC_THREADS whatever the caller set, and
    the caller's count comes back after."""
    import torch

    import edgenas.supernet as supernet
    from edgenas.deploy import quantize
    from edgenas.torch_threads import DETERMINISTIC_THREADS

    seen: list[tuple[str, int]] = []

    def spy(name, real):
        return lambda *a, **k: (seen.append((name, torch.get_num_threads())), real(*a, **k))[1]

    monkeypatch.setattr(supernet, "prepare_subnet", spy("recalibrate", supernet.prepare_subnet))
    monkeypatch.setattr(quantize, "Calibration", spy("quantize", quantize.Calibration))
    monkeypatch.setattr(quantize, "patch_moment", spy("rounding", quantize.patch_moment))
    before = torch.get_num_threads()
    torch.set_num_threads(DETERMINISTIC_THREADS + 1)
    try:
        extract(_request(assets, tmp_path / "t", flash_bytes=200 * 1024))
        assert torch.get_num_threads() == DETERMINISTIC_THREADS + 1
    finally:
        torch.set_num_threads(before)
    assert {name for name, _ in seen} == {"recalibrate", "quantize", "rounding"}
    assert all(threads == DETERMINISTIC_THREADS for _, threads in seen)


def test_firmware_over_budget_is_never_handed_over(assets, tmp_path, monkeypatch):
    """A cost model that underestimates flash (say, a stale overhead calibration) picks a subnet
    whose linked image breaks the budget: extract searches again under a lowered limit."""
    from dataclasses import replace

    from edgenas.cost import model as cost_model
    from edgenas.extract.pipeline import linked_excess

    first = extract(_request(assets, tmp_path / "free"))
    limit = first.measured["flash_bytes"] - 1  # the unconstrained pick no longer fits
    true_overhead = cost_model.overhead_for_board
    # the model's error on that pick (the base assumes strategies a small subnet may not link),
    # then 4 KB under its linked size
    under = first.predicted["flash_bytes"] - first.measured["flash_bytes"] + 4096

    def underestimating(board):
        o = true_overhead(board)
        return replace(o, flash_base_bytes=o.flash_base_bytes - under)

    monkeypatch.setattr(cost_model, "overhead_for_board", underestimating)
    report = extract(_request(assets, tmp_path / "tight", flash_bytes=limit))
    assert report.search["budget_retries"] >= 1
    assert report.measured["flash_bytes"] <= limit and not linked_excess(report.measured, {"flash_bytes": limit})
    assert report.search["searched_limits"]["flash_bytes"] < limit
    assert report.arch != first.arch


def test_impossible_budget_fails_fast_with_the_minimum(assets, tmp_path):
    with pytest.raises(InfeasibleBudgetError, match="smallest needs"):
        extract(_request(assets, tmp_path / "x", sram_bytes=1024))
    assert not (tmp_path / "x" / "firmware.elf").exists()


def test_cli_reports_units_and_infeasible_budgets(assets, tmp_path):
    runner = CliRunner()
    common = ["extract", "--target", "cortex-m7", "--supernet", str(assets / "supernet"),
              "--predictor", str(assets / "predictor"), "--out", str(tmp_path / "c"), "--quiet"]
    result = runner.invoke(app, [*common, "--ram", "lots"])
    assert result.exit_code == 2 and "hint:" in result.stderr
    result = runner.invoke(app, [*common, "--ram", "1KB"])
    assert result.exit_code == 1 and "smallest needs" in result.stderr
    result = runner.invoke(app, ["extract", "--ram", "64KB"])
    assert result.exit_code == 2 and "--target or --board" in result.stderr


def test_a_clone_of_a_profiled_board_shares_its_table_and_another_toolchain_does_not(tmp_path):
    from edgenas.extract.pipeline import shared_latency_table
    from edgenas.profile import get_profiler

    board = get_board("mps2-an386")
    fp = get_profiler(board.core, board=board.name).fingerprint()
    space = {"name": "mcu-mbv2"}
    same = tmp_path / "twin.json"
    same.write_text(json.dumps({"target": board.core, "unit": "instructions", "fingerprint": {**fp, "board": "twin"},
                                "space": space}))
    other = tmp_path / "a-other.json"
    other.write_text(json.dumps({"target": board.core, "unit": "instructions",
                                 "fingerprint": {**fp, "board": "twin", "clock_hz": 1}, "space": space}))
    audio = tmp_path / "twin.kws-mbv2.json"
    audio.write_text(json.dumps({"target": board.core, "unit": "instructions", "fingerprint": {**fp, "board": "twin"},
                                 "space": {"name": "kws-mbv2"}}))
    assert shared_latency_table(board, [other, audio, same]) == same
    assert shared_latency_table(board, [other, audio, same], "kws-mbv2") == audio  # one table per space
    assert shared_latency_table(board, [other]) is None
    assert shared_latency_table(get_board("mps2-an500"), [same]) is None  # another core
