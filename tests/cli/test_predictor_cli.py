"""``edgenas predictor fit`` on sample files as ``edgenas predictor collect`` writes them."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.estimate import AccuracyPredictor
from edgenas.estimate.dataset import AccuracySample
from edgenas.space import get_space, sample_arch

runner = CliRunner()


def _write_samples(path, count, seed, calib_images, val_images):
    rng = np.random.default_rng(seed)
    spec = get_space("mcu-mbv2")
    lines = [AccuracySample(a := sample_arch(spec, rng), 0.8 + a.resolution / 1000, calib_images, val_images).to_json()
             for _ in range(count)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.slow
def test_fit_trains_on_samples_measured_one_way_and_refuses_a_mix(tmp_path):
    _write_samples(tmp_path / "samples-0of2.jsonl", 10, 0, 500, 5000)
    _write_samples(tmp_path / "samples-1of2.jsonl", 10, 1, 500, 5000)
    out = tmp_path / "model"
    fitted = runner.invoke(app, ["predictor", "fit", "--samples", str(tmp_path), "--out", str(out)])
    assert fitted.exit_code == 0, fitted.stderr
    assert json.loads(fitted.stdout)["train"] == 16
    assert AccuracyPredictor.load(out).metrics["train_samples"] == 16

    _write_samples(tmp_path / "samples-1of2.jsonl", 10, 1, 2000, 5000)
    mixed = runner.invoke(app, ["predictor", "fit", "--samples", str(tmp_path), "--out", str(tmp_path / "other")])
    message = " ".join(mixed.stderr.split())  # rich wraps long lines
    assert mixed.exit_code == 2 and "(500, 5000), (2000, 5000)" in message and "hint:" in message
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize("args, text", [(["--threads", "0"], "--threads must be at least 1"),
                                        (["--seed", "-1"], "--seed must be 0 or more")])
def test_collect_refuses_out_of_range_numbers(tmp_path, args, text):
    result = CliRunner().invoke(app, ["predictor", "collect", "--samples", str(tmp_path / "s"), "--count", "2",
                                      "--quiet", *args])
    assert result.exit_code == 2 and text in result.stderr and "Traceback" not in result.output
