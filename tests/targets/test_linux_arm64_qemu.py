"""ARM64 Linux runner: genuine aarch64 code (cross-compiled, static) run under qemu-aarch64, its
outputs bit-exact with the same model built for this PC and with the deploy host build."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from edgenas.deploy.compile import compile_graph
from edgenas.deploy.host_build import build_host
from edgenas.errors import DeviceError
from edgenas.profile.graphs import random_arch_graph
from edgenas.space import get_space, sample_arch
from edgenas.targets.linux_arm64 import (AARCH64, HOST, LocalLauncher, QemuUserLauncher, build, parse_records,
                                         run, run_runner)

pytestmark = pytest.mark.skipif(
    shutil.which("qemu-aarch64") is None or shutil.which("aarch64-linux-gnu-gcc") is None,
    reason="needs qemu-aarch64 (apt-get install qemu-user) and aarch64-linux-gnu-gcc (g++-aarch64-linux-gnu)")

EM_AARCH64 = 183  # ELF e_machine


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[Path, Path]:
    """A random-weight subnet of the default space compiled to C, and a build root."""
    spec = get_space("mcu-mbv2", in_channels=1, num_classes=10)
    arch = sample_arch(spec, np.random.default_rng(3))
    root = tmp_path_factory.mktemp("arm64")
    compile_graph(random_arch_graph(spec, arch, 0), root / "src")
    return root / "src", root / "build"


@pytest.fixture(scope="module")
def inputs(model) -> list[bytes]:
    src, _ = model
    n = int(next(line.split()[2] for line in (src / "model.h").read_text().splitlines()
                 if line.startswith("#define EN_MODEL_INPUT_BYTES")))
    x = np.random.default_rng(1).integers(-128, 128, size=(3, n), dtype=np.int8)
    return [row.tobytes() for row in x]


@pytest.mark.board  # runs qemu-aarch64
def test_arm64_runner_matches_host_bit_for_bit_under_qemu(model, inputs):
    src, root = model
    arm = build(src, AARCH64, build_root=root)
    host = build(src, HOST, build_root=root)
    header = arm.exe.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == EM_AARCH64

    got = run(arm, inputs, QemuUserLauncher(), repeats=2)
    want = run(host, inputs, LocalLauncher())
    reference = build_host(src, build_root=root / "host").run(np.frombuffer(b"".join(inputs), np.int8))
    assert [m.output for m in got] == [m.output for m in want] == [r.tobytes() for r in reference]
    assert len({m.output for m in got}) > 1  # the inputs really give different answers
    for m in got:
        assert m.unit == "ns" and len(m.per_layer) == arm.num_layers and all(t > 0 for t in m.per_layer)
        assert 0 < sum(m.per_layer) <= m.total_count
        assert 0 < m.arena_touched_bytes <= m.arena_bytes == arm.arena_bytes


@pytest.mark.board  # runs qemu-aarch64
def test_arm64_runner_reports_every_repeat_and_pins_a_cpu(model, inputs):
    src, root = model
    out = run_runner(build(src, AARCH64, build_root=root), inputs[:1], QemuUserLauncher(), warmup=2, repeats=3, cpu=0)
    assert out.hello["cpu"] == "0" and out.hello["warmup"] == "2"
    assert len(out.inputs) == 1 and len(out.inputs[0].totals_ns) == 3


@pytest.mark.slow
def test_wrong_input_size_is_refused_before_running(model, inputs):
    src, root = model
    with pytest.raises(DeviceError, match="is not .* bytes"):
        run(build(src, AARCH64, build_root=root), [inputs[0][:-1]], QemuUserLauncher())


def test_runner_that_dies_midway_is_a_device_error_with_its_exit_status():
    text = "EN hello inputs=2\nEN run input=0 rep=0 total_ns=5 layers_ns=2,3\n"
    with pytest.raises(DeviceError, match="stopped without finishing .exit status -11") as e:
        parse_records(text, -11, where="(test)")
    assert "crash" in e.value.hint


def test_runner_error_record_and_cut_output():
    with pytest.raises(DeviceError, match="en_model_invoke_failed"):
        parse_records("EN_DONE status=error code=3 reason=en_model_invoke_failed\n", 3, where="(test)")
    cut = "EN hello inputs=2\nEN run input=0 rep=0 total_ns=5 layers_ns=5\nEN output input=0 hex=01\nEN_DONE status=ok\n"
    with pytest.raises(DeviceError, match="1 of 2 inputs"):
        parse_records(cut, 0, where="(test)")


def test_pty_line_endings_are_read():
    text = "EN hello inputs=1\r\nEN run input=0 rep=0 total_ns=9 layers_ns=4,5\r\nEN output input=0 hex=ff01\r\nEN_DONE status=ok arena_touched_bytes=7\r\n"
    out = parse_records(text, 0, where="(test)")
    assert out.inputs[0].output == b"\xff\x01" and out.inputs[0].layers_ns == [(4, 5)] and out.arena_touched_bytes == 7


@pytest.mark.board  # runs qemu-aarch64
def test_cli_profiles_qemu_arm64_and_says_the_timing_is_emulated(tmp_path):
    import json

    from typer.testing import CliRunner

    from edgenas.cli import app
    from edgenas.cost.latency_table import LatencyTable

    table = tmp_path / "qemu-arm64.json"
    result = CliRunner().invoke(app, ["profile", "--target", "linux-arm64", "--budget", "3", "--table", str(table),
                                      "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["board"] == "qemu-arm64"
    assert "say nothing about a Pi" in " ".join(result.stderr.split())
    t = LatencyTable.load(table)
    assert t.unit == "ms" and t.target == "linux-arm64" and len(t) == 3 and t.overhead
    assert t.fingerprint["launcher"] == "qemu-user" and "says nothing" in t.fingerprint["timing_note"]
    assert t.fingerprint["arch"] == "aarch64" and all(v >= 0 for s in t.entries.values() for v in s)


FAKE_SSH = """#!{python}
# Stand-in for OpenSSH: `ssh -o BatchMode=yes HOST CMD` runs CMD here (ARM64 programs under
# qemu-aarch64); `scp -q -o BatchMode=yes FILES HOST:DIR/` copies into DIR. Logs each call.
import os, shlex, shutil, subprocess, sys
name, args = os.path.basename(sys.argv[0]), sys.argv[1:]
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(name + " " + " ".join(args) + "\\n")
args = [a for a in args if a not in ("-q", "-o", "BatchMode=yes")]
if name == "scp":
    dest = args[-1].split(":", 1)[1]
    for f in args[:-1]:
        shutil.copy(f, dest)
    sys.exit(0)
words = shlex.split(args[1])
elf = open(words[0], "rb").read(20) if os.path.isfile(words[0]) else b""
if elf[:4] == b"\\x7fELF" and elf[18:20] == b"\\xb7\\x00":
    sys.exit(subprocess.run(["qemu-aarch64", *words]).returncode)
sys.exit(subprocess.run(["sh", "-c", args[1]]).returncode)
"""


@pytest.mark.board  # runs qemu-aarch64 behind a scripted ssh
def test_ssh_launcher_copies_and_runs_the_arm64_runner(model, inputs, tmp_path, monkeypatch):
    import os
    import sys

    from edgenas.targets.linux_arm64 import SshLauncher

    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name in ("ssh", "scp"):
        (bindir / name).write_text(FAKE_SSH.format(python=sys.executable))
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SSH_LOG", str(tmp_path / "ssh.log"))
    remote = tmp_path / "pi"
    src, root = model
    arm = build(src, AARCH64, build_root=root)
    got = run(arm, inputs[:2], SshLauncher("pi@raspberrypi.local", str(remote)), cpu=0)
    want = run(build(src, HOST, build_root=root), inputs[:2], LocalLauncher())
    assert [m.output for m in got] == [m.output for m in want]
    log = (tmp_path / "ssh.log").read_text()
    assert f"ssh -o BatchMode=yes pi@raspberrypi.local mkdir -p {remote}" in log
    assert f"pi@raspberrypi.local:{remote}/" in log and "--cpu 0" in log
