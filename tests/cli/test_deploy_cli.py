"""``edgenas compile``/``run``/``flash``: artifact layout, QEMU runs from the CLI, memory.json
measured figures, and the error paths (too big for a board, wrong board kind, bad input)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.deploy import build_host, plan_memory, read_tflite
from edgenas.deploy.pipeline import load_artifact, make_inputs, ramp_input, read_inputs
from edgenas.errors import DataError, UsageError
from edgenas.paths import BOARDS_DIR
from edgenas.supernet import save_subnet

from tests.deploy.test_subnets_end_to_end import CALIB_IMAGES, our_subnets

runner = CliRunner()
KWS = Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite")
needs_kws = pytest.mark.skipif(not KWS.exists(), reason="MLPerf Tiny KWS model not available")


@pytest.fixture(scope="module")
def kws_artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("kws")
    result = runner.invoke(app, ["compile", str(KWS), "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return out


@needs_kws
def test_compile_tflite_writes_sources_model_and_memory(kws_artifact):
    out = kws_artifact
    assert (out / "model.tflite").read_bytes() == KWS.read_bytes()
    assert not (out / "model.onnx").exists()  # only subnets have a float model
    for f in ("model.c", "model.h", "memory.json", "README.md", "runtime/include/edgenas/kernels.h"):
        assert (out / "src" / f).is_file(), f
    assert list((out / "src" / "runtime" / "src" / "ref").glob("*.c"))
    record = json.loads((out / "memory.json").read_text())
    plan = plan_memory(read_tflite(KWS))
    assert record["predicted"]["arena_bytes"] == plan.arena_bytes
    assert record["predicted"]["lower_bound_bytes"] == plan.lower_bound_bytes
    assert record["source"] == {"kind": "tflite", "path": str(KWS)}
    assert record["model"]["name"] == "kws_dscnn_int8" and record["measured"] == {}
    art = load_artifact(out)
    assert art.input_shape == (1, 49, 10, 1) and len(art.layers) == record["predicted"]["num_layers"]
    assert f"EN_ARENA_BYTES {plan.arena_bytes}" in (out / "src" / "model.h").read_text()


@pytest.mark.board  # runs in QEMU
def test_compile_and_run_a_subnet_in_qemu(tmp_path):
    s = our_subnets()[1]
    sub_dir = save_subnet(s.subnet, tmp_path / "subnet", {"data": "fashion-mnist"})
    out = tmp_path / "art"
    result = runner.invoke(app, ["compile", str(sub_dir), "--out", str(out), "--calib-images", str(CALIB_IMAGES),
                                 "--eval-images", "32", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["source"] == "subnet" and info["model"] == str(s.arch)
    assert {"model.tflite", "model.onnx", "memory.json", "src"} <= set(info["files"])
    acc = info["accuracy"]
    assert acc["images"] == 32 and acc["split"] == "test" and 0 <= acc["int8"] <= 1 and 0 <= acc["float"] <= 1
    # The CLI quantizes exactly as the library does (same data, same images): same .tflite bytes.
    assert (out / "model.tflite").read_bytes() == s.tflite

    x = s.inputs[[0, 4]]
    np.save(tmp_path / "x.npy", x)
    result = runner.invoke(app, ["run", str(out), "--target", "cortex-m55", "--input", str(tmp_path / "x.npy"),
                                 "--check", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["board"] == "mps3-an547" and report["unit"] == "instructions" and report["checked"]
    host = build_host(out / "src").run(x)
    assert [r["output"] for r in report["runs"]] == host.tolist()
    assert len(report["layers"]) == info["num_layers"]
    assert all(len(lay["count"]) == 2 and min(lay["count"]) > 0 for lay in report["layers"])

    measured = json.loads((out / "memory.json").read_text())["measured"]["mps3-an547"]
    assert measured["arena_bytes"] == info["arena_bytes"] and measured["arena_equals_plan"]
    assert measured["weights_bytes"] == info["weights_bytes"]
    assert measured["flash_bytes"] == measured["weights_bytes"] + measured["code_bytes"]
    assert measured["ram_bytes"] == measured["data_bytes"] + measured["bss_bytes"] + measured["stack_reserve_bytes"]
    assert 0 < measured["stack_bytes"] < measured["stack_reserve_bytes"]
    assert measured["stack_bytes"] == max(r["stack_bytes"] for r in report["runs"])
    assert 0 < measured["arena_touched_bytes"] <= measured["arena_bytes"]
    assert measured["arena_touched_bytes"] == max(r["arena_touched_bytes"] for r in report["runs"])


@needs_kws
@pytest.mark.board  # runs in QEMU
def test_run_prints_outputs_layers_and_memory(kws_artifact):
    result = runner.invoke(app, ["run", str(kws_artifact), "--board", "mps2-an500", "--opt", "-Os"])
    assert result.exit_code == 0, result.output
    assert "input 0:" in result.stdout and "instructions" in result.stdout
    assert "depthwise_conv2d" in result.stdout and "stack used" in result.stdout
    assert "arena touched" in result.stdout
    measured = json.loads((kws_artifact / "memory.json").read_text())["measured"]["mps2-an500"]
    assert measured["opt"] == "-Os" and 0 < measured["arena_touched_bytes"] <= measured["arena_bytes"]


@needs_kws
@pytest.mark.board  # runs in QEMU
def test_run_check_fails_when_the_model_writes_past_its_arena(kws_artifact, tmp_path):
    """Regression: a model writing past its arena passed `run --check` (and corrupted the stack figure)."""
    art = tmp_path / "broken"
    shutil.copytree(kws_artifact, art, ignore=shutil.ignore_patterns("firmware"))
    model_c = art / "src" / "model.c"
    end = "    (void)st;\n    return (int)EN_OK;"
    model_c.write_text(model_c.read_text().replace(
        end, "    *(volatile uint8_t *)((uintptr_t)en_arena + EN_ARENA_BYTES) = 0x42;\n" + end))
    result = runner.invoke(app, ["run", str(art), "--board", "mps2-an500", "--check"])
    assert result.exit_code == 1, result.output
    err = " ".join(result.stderr.split())
    assert "wrote 1 byte(s) past the end of its 8,496-byte arena on the device" in err and "hint:" in err
    assert "outputs match" not in result.stdout
    assert "stack_bytes" not in json.loads((art / "memory.json").read_text())["measured"].get("mps2-an500", {})


@needs_kws
@pytest.mark.slow
def test_model_too_big_for_board_names_region_and_bytes(kws_artifact, tmp_path):
    text = (BOARDS_DIR / "mps2-an500.toml").read_text().replace('name = "mps2-an500"', 'name = "small-m7"')
    text = text.replace("size = 0x00400000", "size = 0x00004000")  # 16 KiB flash and RAM
    (tmp_path / "small-m7.toml").write_text(text)
    result = runner.invoke(app, ["run", str(kws_artifact), "--board", str(tmp_path / "small-m7.toml")])
    assert result.exit_code == 1
    err = " ".join(result.stderr.split())
    assert "does not fit board small-m7" in err
    assert "`flash` of 16384 bytes by" in err and "`ram` of 16384 bytes by" in err
    assert "hint:" in err


@needs_kws
@pytest.mark.slow
def test_flash_builds_for_a_real_board_and_calls_pyocd(kws_artifact, tmp_path, monkeypatch):
    """No board here: a stand-in ``pyocd`` on PATH records what it was asked to write."""
    bindir, log = tmp_path / "bin", tmp_path / "args.txt"
    bindir.mkdir()
    (bindir / "pyocd").write_text(f'#!/bin/sh\necho "$@" > {log}\nexit 0\n')
    (bindir / "pyocd").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    result = runner.invoke(app, ["flash", str(kws_artifact), "--board", "nucleo-f746zg", "--opt", "Os", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    image = kws_artifact / "firmware" / "nucleo-f746zg" / "firmware.bin"
    assert log.read_text().split() == ["load", "--target", "stm32f746zgtx", "--format", "bin",
                                       "--base-address", "0x08000000", str(image)]
    assert info["memory"]["opt"] == "-Os" and info["memory"]["flash_bytes"] == image.stat().st_size
    assert info["memory"]["ram_bytes"] <= 320 * 1024 and info["memory"]["arena_equals_plan"]


@needs_kws
@pytest.mark.slow
def test_flash_emulated_board_is_refused(kws_artifact):
    result = runner.invoke(app, ["flash", str(kws_artifact), "--target", "cortex-m7"])
    assert result.exit_code == 1
    assert "emulated" in result.stderr and "edgenas run" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--board", "mps2-an500", "--target", "cortex-m7"], 2, "exactly one of --board and --target"),
        ([], 2, "exactly one of --board and --target"),
        (["--board", "mps2-an5000"], 1, "unknown board"),
        (["--board", "mps2-an500", "--inputs", "0"], 2, "at least one input"),
    ],
)
@needs_kws
def test_run_usage_errors(kws_artifact, args, code, text):
    result = runner.invoke(app, ["run", str(kws_artifact), *args])
    assert result.exit_code == code, result.output
    assert text in result.stderr


def test_run_on_a_directory_that_is_not_an_artifact(tmp_path):
    result = runner.invoke(app, ["run", str(tmp_path), "--board", "mps2-an500"])
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "not a compiled artifact" in err and "edgenas compile" in err


def test_compile_rejects_what_it_cannot_compile(tmp_path):
    (tmp_path / "model.onnx").write_bytes(b"x")
    for target in (tmp_path / "missing.tflite", tmp_path / "model.onnx", tmp_path):
        result = runner.invoke(app, ["compile", str(target), "--out", str(tmp_path / "out")])
        assert result.exit_code == 2, result.output
        assert "hint:" in result.stderr
    (tmp_path / "bad.tflite").write_bytes(b"TFL3 but not really a model")
    result = runner.invoke(app, ["compile", str(tmp_path / "bad.tflite"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1 and "error:" in result.stderr


def test_inputs_ramp_random_and_files(tmp_path):
    shape = (1, 4, 4, 2)
    x = make_inputs(shape, 3, seed=5)
    assert x.shape == (3, 4, 4, 2) and x.dtype == np.int8
    assert x[0].reshape(-1).view(np.uint8).tolist() == [(i * 37) % 256 for i in range(32)]
    assert np.array_equal(x[0], ramp_input(shape)[0]) and np.array_equal(x, make_inputs(shape, 3, seed=5))
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    assert np.array_equal(read_inputs(tmp_path / "x.bin", shape), x)
    (tmp_path / "short.bin").write_bytes(x.tobytes()[:-1])
    with pytest.raises(DataError, match="whole number"):
        read_inputs(tmp_path / "short.bin", shape)
    np.save(tmp_path / "f.npy", x.astype(np.float32))
    with pytest.raises(DataError, match="int8"):
        read_inputs(tmp_path / "f.npy", shape)
    with pytest.raises(UsageError):
        make_inputs(shape, 0)


def test_compile_never_deletes_files_it_did_not_write(tmp_path):
    from edgenas.deploy import write_tflite

    from tests.deploy.test_tflite_ops import make_case

    model = tmp_path / "dense.tflite"
    model.write_bytes(write_tflite(make_case("fully_connected", 0)))
    out = tmp_path / "project"
    (out / "src").mkdir(parents=True)
    (out / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    result = runner.invoke(app, ["compile", str(model), "--out", str(out)])
    assert result.exit_code == 2 and "--force" in result.stderr
    assert (out / "src" / "main.c").read_text().startswith("int main")
    assert runner.invoke(app, ["compile", str(model), "--out", str(out), "--force"]).exit_code == 0
    assert not (out / "src" / "main.c").exists()
    assert runner.invoke(app, ["compile", str(model), "--out", str(out)]).exit_code == 0  # its own earlier compile


def test_compile_refuses_a_folder_it_did_not_create_unless_forced(tmp_path):
    """A user's own model.tflite in --out was silently replaced (only src/, firmware/ and
    model.onnx were protected)."""
    from edgenas.deploy import write_tflite

    from tests.deploy.test_tflite_ops import make_case

    model = tmp_path / "dense.tflite"
    model.write_bytes(write_tflite(make_case("fully_connected", 0)))
    out = tmp_path / "project"
    out.mkdir()
    (out / "model.tflite").write_bytes(b"the user's other model")
    (out / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["compile", str(model), "--out", str(out)])
    assert result.exit_code == 2, result.output
    stderr = " ".join(result.stderr.split())
    assert "holds files no earlier compile wrote (model.tflite, notes.txt)" in stderr and "--force" in stderr
    assert (out / "model.tflite").read_bytes() == b"the user's other model"
    assert sorted(p.name for p in out.iterdir()) == ["model.tflite", "notes.txt"]
    assert runner.invoke(app, ["compile", str(model), "--out", str(tmp_path / "empty")]).exit_code == 0
    assert runner.invoke(app, ["compile", str(model), "--out", str(tmp_path / "empty")]).exit_code == 0  # its own
    assert runner.invoke(app, ["compile", str(model), "--out", str(out), "--force"]).exit_code == 0
    assert (out / "notes.txt").read_text() == "mine" and (out / "model.tflite").read_bytes() == model.read_bytes()
