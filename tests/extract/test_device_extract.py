"""extract --target android / linux-arm64 (#20): search against the device's own latency table (ms),
emit what its runner runs, and say what was measured there.

No phone exists here: android runs against tests/targets/fake_adb.py (a scripted adb; with no
device attached the report must say verification was skipped, plainly). linux-arm64 runs for
real: the qemu-arm64 profile's genuine ARM64 runner under qemu-aarch64, checked bit-exact."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgenas.boards import get_board
from edgenas.cli import app
from edgenas.errors import DeviceError, ToolchainError
from edgenas.extract.devices import open_device
from edgenas.profile import build_table
from edgenas.space import get_space
from tests.profile.instant_profiler import InstantProfiler
from tests.targets.fake_adb import make_device

runner = CliRunner()
needs_sh = pytest.mark.skipif(sys.platform != "linux", reason="the scripted adb device needs sh")


class _PhoneProfiler(InstantProfiler):
    """Every entry 0.05 ms at once: an android table's header and keys are all that matter here."""

    target, backend, board = "android", "litert-benchmark", "android-arm64"
    entry_ms, overhead_ms = 0.05, 0.01


@pytest.fixture
def phone(tmp_path, monkeypatch):
    """The scripted adb first on PATH; ``phone(devices)`` sets what `adb devices` lists."""
    bindir, state = make_device(tmp_path / "phone", devices=[])
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ADB_STATE", str(state))

    def attach(devices: list[dict]) -> None:
        data = json.loads(state.read_text())
        state.write_text(json.dumps({**data, "devices": devices}))

    return attach


def _common(assets: Path, out: Path) -> list[str]:
    return ["--supernet", str(assets / "supernet"), "--predictor", str(assets / "predictor"), "--generations", "3",
            "--eval-images", "64", "--verify-inputs", "2", "--baseline-epochs", "-1", "--out", str(out), "--quiet"]


@needs_sh
@pytest.mark.slow
def test_android_without_a_phone_writes_the_tflite_and_says_verification_was_skipped(assets, tmp_path, phone):
    table = tmp_path / "android.json"
    build_table(_PhoneProfiler(), get_space("tiny-test"), table)
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "--target", "android", "--table", str(table), "--latency", "10ms",
                                 *_common(assets, out)])
    assert result.exit_code == 0, result.output
    stderr = " ".join(result.stderr.split())
    assert "Traceback" not in result.output
    assert "On-device verification skipped: no adb device is attached" in stderr
    assert (out / "model.tflite").read_bytes()[4:8] == b"TFL3"
    report = json.loads((out / "report.json").read_text())
    assert report["verification"]["status"] == "skipped" and report["verified_bit_exact"] is False
    assert report["request"]["target"] == "android" and report["request"]["board"] == "android-arm64"
    assert report["request"]["limits"]["latency"] == 10.0 and 0 < report["predicted"]["latency"] <= 10.0
    assert "latency_median" not in report["measured"]
    summary = " ".join((out / "report.md").read_text().split())
    assert "On-device verification skipped: no adb device is attached" in summary
    assert "Measured latency: none (nothing ran on the device)." in summary


def test_android_without_a_table_names_the_profile_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no latency/android-arm64.json here
    result = runner.invoke(app, ["extract", "--target", "android", "--latency", "10ms", "--out", str(tmp_path / "o")])
    stderr = " ".join(result.stderr.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "no latency table for android-arm64" in stderr and "`edgenas profile --target android`" in stderr
    result = runner.invoke(app, ["extract", "--target", "android", "--board", "pixel-cpu", "--out", str(tmp_path / "o")])
    assert "`edgenas profile --target android --board pixel-cpu`" in " ".join(result.stderr.split())


@pytest.mark.slow
def test_a_table_of_another_target_and_options_of_another_board_are_refused(assets, tmp_path):
    table = tmp_path / "android.json"
    build_table(_PhoneProfiler(), get_space("tiny-test"), table)
    result = runner.invoke(app, ["extract", "--target", "linux-arm64", "--table", str(table), *_common(assets, tmp_path / "o")])
    assert result.exit_code == 2 and "measured for target 'android'" in result.stderr, result.output
    assert "edgenas profile --target linux-arm64" in " ".join(result.stderr.split())
    result = runner.invoke(app, ["extract", "--target", "cortex-m7", "--serial", "A1", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "--serial is for android boards" in result.stderr
    result = runner.invoke(app, ["extract", "--target", "android", "--board", "qemu-arm64", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "not a android profile" in result.stderr


@needs_sh
def test_a_phone_is_reached_before_the_search(tmp_path, phone, monkeypatch):
    """No adb, or no phone: skipped with the reason; a phone that is there but cannot be used
    fails at once, not after the search."""
    profile = get_board("android-arm64")
    benchmark_model = tmp_path / "benchmark_model"
    benchmark_model.write_text("#!/bin/sh\n")
    assert "no adb device is attached" in open_device(profile).skipped
    phone([{"serial": "A1", "state": "device"}, {"serial": "B2", "state": "device"}])
    with pytest.raises(DeviceError, match="2 Android devices are attached"):
        open_device(profile, runner=benchmark_model)
    with pytest.raises(ToolchainError, match="no binary was given"):
        open_device(profile, serial="B2")
    phone([{"serial": "A1", "state": "unauthorized"}])
    with pytest.raises(DeviceError, match="has not authorized"):
        open_device(profile, runner=benchmark_model)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "not on PATH" in open_device(profile).skipped


@pytest.mark.board
@pytest.mark.skipif(shutil.which("qemu-aarch64") is None or shutil.which("aarch64-linux-gnu-gcc") is None,
                    reason="needs qemu-user and gcc-aarch64-linux-gnu")
def test_linux_arm64_runs_the_arm64_runner_under_qemu_bit_exact(assets, tmp_path):
    from edgenas.profile import get_profiler

    table = tmp_path / "qemu-arm64.json"
    build_table(get_profiler("linux-arm64"), get_space("tiny-test"), table)  # a real, emulated table
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "--target", "linux-arm64", "--table", str(table), "--latency", "100ms",
                                 *_common(assets, out)])
    assert result.exit_code == 0, result.output
    with (out / "en_runner").open("rb") as f:
        assert f.read(20)[18:20] == b"\xb7\x00"  # ELF e_machine EM_AARCH64
    report = json.loads((out / "report.json").read_text())
    assert report["verified_bit_exact"] is True and report["verification"]["status"] == "bit-exact"
    m = report["measured"]
    assert m["latency_unit"] == "ms" and m["emulated"] is True and m["launcher"] == "qemu-user"
    assert len(m["latency_ms"]) == 2 and m["latency_median"] > 0 and "timing_note" in m
    assert m["arena_bytes"] == report["predicted"]["arena_bytes"]
    summary = " ".join((out / "report.md").read_text().split())
    assert "under qemu-aarch64 (genuine ARM64 code, emulated) equal the host build bit for bit on 2 inputs" in summary
    assert "The latency table predicted" in summary and "Both are emulated times" in summary
    layers = json.loads((out / "memory.json").read_text())["measured"]["qemu-arm64"]
    assert layers["count_unit"] == "ns" and len(layers["layer_counts"]) > 0


@needs_sh
@pytest.mark.slow
def test_android_with_a_scripted_phone_measures_the_tflite_with_benchmark_model(assets, tmp_path, phone):
    """The whole adb path against the scripted phone (its benchmark_model a LiteRT stand-in on this
    PC): latency comes back, outputs are not compared, and the report says both."""
    pytest.importorskip("ai_edge_litert")
    from tests.targets.test_android_adb import LITERT_BENCHMARK

    benchmark_model = tmp_path / "benchmark_model"
    benchmark_model.write_text(LITERT_BENCHMARK.format(python=sys.executable))
    benchmark_model.chmod(0o755)
    phone([{"serial": "FAKE0001", "state": "device"}])
    table = tmp_path / "android.json"
    build_table(_PhoneProfiler(), get_space("tiny-test"), table)
    out = tmp_path / "out"
    result = runner.invoke(app, ["extract", "--target", "android", "--table", str(table), "--runner", str(benchmark_model),
                                 *_common(assets, out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    m = report["measured"]
    assert report["verification"]["status"] == "latency-only" and report["verified_bit_exact"] is False
    assert m["runner"] == "litert-benchmark" and m["serial"] == "FAKE0001" and m["latency_median"] > 0
    assert m["android_version"] == "14" and m["affinity"] == "80"  # pinned to cpu7, the highest online
    summary = " ".join((out / "report.md").read_text().split())
    assert "Latency measured with LiteRT benchmark_model on FAKE0001" in summary and "The latency table predicted" in summary
