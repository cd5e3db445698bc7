"""Android driver over adb, against a scripted device (tests/targets/fake_adb.py): the driver's
code path is real (adb client calls, push, shell, parsing, pinning, errors), only the phone is
scripted. The LiteRT runner here is a stand-in for benchmark_model that runs the pushed .tflite
with LiteRT on this PC and prints benchmark_model's output format; edgenas's own ARM64 runner
is the genuine cross-compiled binary, run by the scripted device under qemu-aarch64."""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgenas.boards import BoardRegistry
from edgenas.errors import DeviceError, ToolchainError
from edgenas.targets.android import DeviceLost, connect, parse_benchmark_output, parse_devices, run
from tests.targets.fake_adb import make_device

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the scripted device needs sh and od")

LITERT_BENCHMARK = """#!{python}
# Stand-in for LiteRT's benchmark_model: times the pushed .tflite with LiteRT on this PC and
# prints what benchmark_model prints. The op table's times are the mean split evenly (scripted).
import sys, time
import numpy as np
from ai_edge_litert.interpreter import Interpreter
a = dict(x[2:].split("=", 1) for x in sys.argv[1:])
t0 = time.perf_counter()
it = Interpreter(model_path=a["graph"], num_threads=int(a["num_threads"]))
it.allocate_tensors()
init = (time.perf_counter() - t0) * 1e6
d = it.get_input_details()[0]
it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
def timed(n):
    out = []
    for _ in range(n):
        t = time.perf_counter(); it.invoke(); out.append((time.perf_counter() - t) * 1e6)
    return np.array(out)
def stats(x):
    return (f"INFO: count={{len(x)}} first={{x[0]:.0f}} curr={{x[-1]:.0f}} min={{x.min():.0f}} max={{x.max():.0f}} "
            f"avg={{x.mean():g}} std={{x.std():.0f}} p5={{x.min():.0f}} median={{np.median(x):.0f}} p95={{x.max():.0f}}")
w = timed(max(1, int(a["warmup_runs"])))
print(f"INFO: Running benchmark for at least {{a['warmup_runs']}} iterations and at least 0 seconds")
print(stats(w))
r = timed(int(a["num_runs"]))
print(f"INFO: Running benchmark for at least {{a['num_runs']}} iterations and at least 0 seconds")
print(stats(r))
print(f"INFO: Inference timings in us: Init: {{init:.0f}}, First inference: {{w[0]:.0f}}, Warmup (avg): {{w.mean():g}}, Inference (avg): {{r.mean():g}}")
if a.get("enable_op_profiling") == "true":
    ops = it._get_ops_details()
    print("INFO: Operator-wise Profiling Info for Regular Benchmark Runs:")
    print("============================== Run Order ==============================")
    print("\\t[node type]\\t[first]\\t[avg ms]\\t[%]\\t[cdf%]\\t[mem KB]\\t[times called]\\t[Name]")
    for op in ops:
        ms = r.mean() / 1e3 / len(ops)
        print(f"\\t{{op['op_name']}}\\t{{ms:.3f}}\\t{{ms:.3f}}\\t0%\\t0%\\t0.000\\t1\\t[{{op['op_name']}}]:{{op['index']}}")
"""

CRASHING = "#!/bin/sh\necho 'INFO: Loaded model'\nkill -SEGV $$\n"


@pytest.fixture
def profiles() -> BoardRegistry:
    return BoardRegistry(entry_points=False, user_dir=None)


@pytest.fixture
def device(tmp_path, monkeypatch):
    """The scripted phone on PATH; returns a function that rewrites its state."""
    bindir, state = make_device(tmp_path)
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    monkeypatch.setenv("FAKE_ADB_STATE", str(state))

    def set_state(**changes) -> dict:
        data = json.loads(state.read_text())
        data.update(changes)
        state.write_text(json.dumps(data))
        return data

    set_state.root = Path(json.loads(state.read_text())["root"])
    return set_state


def _script(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def tflite(tmp_path) -> Path:
    from edgenas.deploy import write_tflite
    from edgenas.profile.graphs import random_arch_graph
    from edgenas.space import get_space, smallest_arch

    spec = get_space("mcu-mbv2", in_channels=1, num_classes=10)
    path = tmp_path / "model.tflite"
    path.write_bytes(write_tflite(random_arch_graph(spec, smallest_arch(spec), 0)))
    return path


def test_no_adb_on_path(tmp_path, monkeypatch, profiles):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolchainError, match="not on PATH") as e:
        connect(profiles.get("android-arm64"), runner=_script(tmp_path, "bm", CRASHING))
    assert "apt-get install adb" in e.value.hint


@pytest.mark.parametrize(("devices", "serial", "match", "hint"), [
    ([], None, "no Android device is attached", "USB debugging"),
    ([{"serial": "A1", "state": "device"}, {"serial": "B2", "state": "device"}], None,
     "2 Android devices are attached: A1, B2", "--serial"),
    ([{"serial": "A1", "state": "unauthorized"}], None, "has not authorized", "Allow USB debugging"),
    ([{"serial": "A1", "state": "offline"}], None, "is 'offline'", "reconnect"),
    ([{"serial": "A1", "state": "device"}], "Z9", "no Android device with serial 'Z9'", "adb devices"),
])
def test_device_selection_errors(device, tmp_path, profiles, devices, serial, match, hint):
    device(devices=devices)
    with pytest.raises(DeviceError, match=match) as e:
        connect(profiles.get("android-arm64"), serial, runner=_script(tmp_path, "bm", CRASHING))
    assert hint in e.value.hint


@pytest.mark.slow
def test_several_devices_with_serial_and_runner_missing(device, tmp_path, profiles):
    device(devices=[{"serial": "A1", "state": "device"}, {"serial": "B2", "state": "device"}])
    assert connect(profiles.get("android-arm64"), "B2", runner=_script(tmp_path, "bm", CRASHING)).serial == "B2"
    with pytest.raises(ToolchainError, match="no binary was given") as e:
        connect(profiles.get("pixel-cpu"), "B2")
    assert "--runner" in e.value.hint and "downloads nothing" in e.value.hint
    with pytest.raises(ToolchainError, match="does not exist"):
        connect(profiles.get("pixel-cpu"), "B2", runner=tmp_path / "nope")


@pytest.mark.slow
def test_litert_benchmark_run_pinned_with_fingerprint(device, tmp_path, profiles, tflite):
    bm = _script(tmp_path, "benchmark_model", LITERT_BENCHMARK.format(python=sys.executable))
    session = connect(profiles.get("android-arm64"), runner=bm)
    assert session.cpus == (7,)  # highest-numbered online CPU of "0-7"
    [m] = run(tflite, session)
    assert m.unit == "ns" and m.total_count > 0 and len(m.per_layer) > 3 and m.output == b""
    assert (device.root / "taskset.log").read_text().split() == ["80"]
    assert (device.root / "data/local/tmp/edgenas/benchmark_model").is_file()
    fp = session.fingerprint()
    assert fp["android_version"] == "14" and fp["affinity"] == "80" and fp["governor"] == "schedutil"
    assert fp["runner"] == "litert-benchmark" and fp["threads"] == 1 and len(fp["runner_sha256"]) == 16


@pytest.mark.slow
def test_runner_crash_is_reported_with_its_output(device, tmp_path, profiles, tflite):
    session = connect(profiles.get("pixel-cpu"), runner=_script(tmp_path, "bm", CRASHING))
    with pytest.raises(DeviceError, match="exited with 139 .segmentation fault.: INFO: Loaded model"):
        run(tflite, session)


@pytest.mark.slow
def test_disconnect_midway_is_device_lost(device, tmp_path, profiles, tflite):
    bm = _script(tmp_path, "benchmark_model", LITERT_BENCHMARK.format(python=sys.executable))
    session = connect(profiles.get("pixel-cpu"), runner=bm)
    device(disconnect_after_shells=0, shells=0)
    with pytest.raises(DeviceLost, match="disconnected") as e:
        run(tflite, session)
    assert "resumes" in e.value.hint


@pytest.mark.skipif(shutil.which("qemu-aarch64") is None or shutil.which("aarch64-linux-gnu-gcc") is None,
                    reason="needs qemu-aarch64 and aarch64-linux-gnu-gcc")
@pytest.mark.board  # the scripted device runs the ARM64 runner in qemu-aarch64
def test_edgenas_runner_over_adb_matches_host_bit_for_bit(device, tmp_path, profiles):
    from edgenas.deploy.compile import compile_graph
    from edgenas.deploy.host_build import build_host
    from edgenas.profile.graphs import random_arch_graph
    from edgenas.space import get_space, sample_arch
    from edgenas.targets.android import build

    spec = get_space("mcu-mbv2", in_channels=1, num_classes=10)
    compiled = compile_graph(random_arch_graph(spec, sample_arch(spec, np.random.default_rng(5)), 0), tmp_path / "src")
    profile = replace(profiles.get("android-arm64"), runner=replace(profiles.get("android-arm64").runner,
                                                                     kind="edgenas-c", warmup_runs=1, runs=2))
    session = connect(profile)
    runner = build(compiled.out_dir, session, tmp_path / "build")
    x = np.random.default_rng(2).integers(-128, 128, size=(2, runner.input_bytes), dtype=np.int8)
    got = run(runner, session, [row.tobytes() for row in x])
    want = build_host(compiled.out_dir, build_root=tmp_path / "host").run(x)
    assert [m.output for m in got] == [w.tobytes() for w in want]
    assert all(m.unit == "ns" and len(m.per_layer) == runner.num_layers for m in got)


def test_parsers_read_real_adb_and_benchmark_model_output():
    devices = parse_devices("* daemon started successfully\nList of devices attached\n"
                            "R58M1234\tdevice usb:1-1 product:oriole model:Pixel_6 transport_id:3\n"
                            "emulator-5554\tno permissions (missing udev rules?); see [http://x]\n\n")
    assert [(d.serial, d.state) for d in devices] == [("R58M1234", "device"), ("emulator-5554", "no permissions")]
    assert devices[0].details["model"] == "Pixel_6"
    text = ("INFO: count=9 first=87112 curr=51629 min=51629 max=87112 avg=58147.4 std=11478\n\n"
            "INFO: count=50 first=1249964 curr=1240143 min=1238588 max=1252566 avg=1.24027e+06 std=2565 p5=1 median=2 p95=3\n"
            "INFO: Inference timings in us: Init: 5579, First inference: 1357602, Warmup (avg): 1.3576e+06, "
            "Inference (avg): 1.24027e+06\n"
            "INFO: Operator-wise Profiling Info for Regular Benchmark Runs:\n"
            "============================== Run Order ==============================\n"
            "\t                     [node type]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]\n"
            "\t Fully Connected (NC, PF32) GEMM\t    0.538\t    0.382\t 92.948%\t 97.018%\t     0.000\t        1\tDelegate/FC:1\n"
            "\n")
    r = parse_benchmark_output(text)
    assert r.avg_us == 1.24027e6 and r.runs == 50 and r.init_us == 5579 and r.min_us == 1238588
    assert [(o.node_type, o.avg_ms) for o in r.ops] == [("Fully Connected (NC, PF32) GEMM", 0.382)]
    with pytest.raises(DeviceError, match="gave no timings: ERROR: Could not open"):
        parse_benchmark_output("ERROR: Could not open '/data/local/tmp/x.tflite'.\n")


FAST = """#!/bin/sh
# Stand-in for benchmark_model that answers at once: the "time" is the graph file's size, so
# every model gets its own deterministic figure.
for a in "$@"; do case "$a" in --graph=*) g="${a#--graph=}";; esac; done
n=$(wc -c < "$g")
echo "INFO: count=5 first=$n curr=$n min=$n max=$n avg=$n std=0"
echo "INFO: Inference timings in us: Init: 1, First inference: $n, Warmup (avg): $n, Inference (avg): $n"
"""


@pytest.mark.slow
def test_profile_keeps_what_was_measured_when_the_phone_goes_and_resumes(device, tmp_path):
    from edgenas.cost.latency_table import LatencyTable
    from edgenas.profile import build_table, get_profiler
    from edgenas.space import get_space, sample_arch

    spec = get_space("mcu-mbv2", in_channels=1, num_classes=10)
    archs = [sample_arch(spec, np.random.default_rng(0))]
    path = tmp_path / "android.json"
    prof = get_profiler("android", runner=str(_script(tmp_path, "benchmark_model", FAST)), samples=1, batch_size=2)

    def unplug_after_first_batch(done: int, total: int, info: str) -> None:
        if done == 2:
            state = device()
            device(disconnect_after_shells=state["shells"] + 1)

    with pytest.raises(DeviceError, match="disconnected|no exit status|device"):
        build_table(prof, spec, path, archs=archs, progress=unplug_after_first_batch)
    kept = LatencyTable.load(path)
    assert len(kept) == 2 and kept.overhead and kept.unit == "ms" and kept.target == "android"
    assert kept.fingerprint["android_version"] == "14" and kept.fingerprint["affinity"] == "80"

    device(devices=[{"serial": "FAKE0001", "state": "device"}], disconnect_after_shells=None)
    prof = get_profiler("android", runner=str(_script(tmp_path, "benchmark_model", FAST)), samples=1, batch_size=2)
    table = build_table(prof, spec, path, archs=archs)
    assert len(table) > 2 and table.missing(list(kept.entries)) == []
    assert all(table.entries[k] == v for k, v in kept.entries.items())  # measured once, kept


@pytest.mark.slow
def test_cli_profile_android_and_its_errors(device, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from edgenas.cli import app

    bm = _script(tmp_path, "benchmark_model", FAST)
    table = tmp_path / "phone.json"
    result = CliRunner().invoke(app, ["profile", "--target", "android", "--serial", "FAKE0001", "--runner", str(bm),
                                      "--budget", "2", "--table", str(table), "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["target"] == "android" and out["board"] == "android-arm64" and out["entries"] == 2

    device(devices=[{"serial": "A1", "state": "device"}, {"serial": "B2", "state": "device"}])
    result = CliRunner().invoke(app, ["profile", "--target", "android", "--runner", str(bm), "--table", str(table)])
    assert result.exit_code == 3 and "2 Android devices" in result.stderr and "--serial" in result.stderr
