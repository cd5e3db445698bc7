"""CLI edges bench/reliability.py's cli_cases probe found ending in a traceback (or, for -1 test
images, in a whole extract run), each now a usage or data error that says what to change."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.paths import SUPERNETS_DIR

runner = CliRunner()
# Short runs of each command, so on code without a check the bad value fails the test quickly
# (instead of a whole training or extract run).
TRAIN = ["train", "--data", "synthetic", "--space", "tiny-test", "--epochs", "1,0,0,0", "--threads", "1", "--quiet"]
EXTRACT = ["extract", "--target", "cortex-m7", "--generations", "1", "--eval-images", "16", "--baseline-epochs", "-1",
           "--verify-inputs", "1", "--quiet"]


def _clean_error(args: list[str], text: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in (1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert text in " ".join(result.stderr.split()) and "Traceback" not in result.output


@pytest.mark.parametrize("args, text", [
    ([*TRAIN, "--seed", "-1"], "--seed must be at least 0, got -1"),
    ([*TRAIN, "--data-seed", "-1"], "--data-seed must be at least 0, got -1"),
    ([*TRAIN, "--lr-scale", "nan"], "--lr-scale must be a positive number, got nan"),
    ([*TRAIN, "--lr-scale", "inf"], "--lr-scale must be a positive number, got inf"),
    ([*TRAIN, "--resolution-weights", "4,x"], "--resolution-weights '4,x' is not a list of numbers"),
    ([*TRAIN, "--resolution-weights", "0,0,0,0,0"], "need non-negative numbers, not all 0"),
    ([*TRAIN, "--resolution-weights", "4,3,2"], "3 resolution weights for the 2 resolutions"),
    ([*TRAIN, "--width-weights", "1,y"], "--width-weights '1,y' is not a list of numbers"),
    ([*TRAIN, "--width-weights", "3,2,1,1"], "4 width weights for the"),
    (["search", "--target", "cortex-m7", "--budget", "2", "--seed", "-1"], "--seed must be 0 or more, got -1"),
    (["search", "--target", "cortex-m7", "--budget", "2", "--batch", "0"], "--batch must be at least 1, got 0"),
    ([*EXTRACT, "--seed", "-1"], "--seed must be 0 or more, got -1"),
    ([*EXTRACT, "--eval-images", "-1"], "--eval-images must be 0 or more, got -1"),
    ([*EXTRACT, "--verify-inputs", "-1"], "--verify-inputs must be 0 or more, got -1"),
    (["space", "--channels", "0"], "in_channels must be an integer from 1 to 64, got 0"),
    (["space", "--classes", "1"], "num_classes must be an integer from 2 to 100,000, got 1"),
])
@pytest.mark.timeout(90)
def test_out_of_range_numbers_are_usage_errors(args, text, tmp_path) -> None:
    if args[0] in ("train", "search", "extract"):
        args = [*args, "--out", str(tmp_path / "o")]
    _clean_error(args, text)


def _supernet_claiming(tmp_path, edit) -> str:
    """The bundled checkpoint's weights under an edited supernet.json."""
    d = tmp_path / "sn"
    d.mkdir()
    for f in ("supernet.safetensors", "teacher.safetensors"):
        os.symlink(SUPERNETS_DIR / "fashion-mnist" / f, d / f)
    meta = json.loads((SUPERNETS_DIR / "fashion-mnist" / "supernet.json").read_text())
    edit(meta["space"])
    (d / "supernet.json").write_text(json.dumps(meta))
    return str(d)


def test_a_supernet_json_claiming_a_million_channels_is_refused_before_allocating(tmp_path) -> None:
    """It made the supernet allocate 24 TB (a RuntimeError traceback from torch)."""
    def million(space: dict) -> None:
        for stage in space["stages"]:
            stage["channels"] = 1_000_000

    sn = _supernet_claiming(tmp_path, million)
    _clean_error(["subnet", "--arch", "largest", "--no-evaluate", "--supernet", sn, "--out", str(tmp_path / "o")],
                 "stage 0 channels must be an integer from 1 to 4,096, got 1000000")
    _clean_error(["search", "--target", "cortex-m7", "--supernet", sn, "--out", str(tmp_path / "s")],
                 "stage 0 channels must be an integer from 1 to 4,096")


def test_a_negative_channel_count_in_supernet_json_is_refused(tmp_path) -> None:
    sn = _supernet_claiming(tmp_path, lambda space: space.update(first_channels=-16))
    _clean_error(["subnet", "--arch", "largest", "--no-evaluate", "--supernet", sn, "--out", str(tmp_path / "o")],
                 "first_channels must be an integer from 1 to 4,096, got -16")


@pytest.mark.parametrize("content, text", [
    ("[]", "a JSON list, not an object"),
    (b"\xff\xfe\x00garbage", "is not valid JSON"),
])
def test_a_latency_table_that_is_not_a_json_object_is_a_clean_error(content, text, tmp_path) -> None:
    table = tmp_path / "table.json"
    table.write_bytes(content.encode() if isinstance(content, str) else content)
    _clean_error(["search", "--target", "cortex-m7", "--table", str(table), "--out", str(tmp_path / "s")], text)


@pytest.mark.parametrize("edit, text", [
    (lambda space: space.update(stages=[]), "needs 1 to 16 stages, got 0"),  # was an IndexError traceback
    (lambda space: space["stages"][0].update(depths=[2, 3, 1_000_000]),  # would build a million blocks
     "stage 0 depths must be integers from 1 to 32, got (2, 3, 1000000)"),
])
def test_a_supernet_json_with_no_stages_or_a_million_blocks_is_refused(edit, text, tmp_path) -> None:
    sn = _supernet_claiming(tmp_path, edit)
    _clean_error(["subnet", "--arch", "largest", "--no-evaluate", "--supernet", sn, "--out", str(tmp_path / "o")], text)
