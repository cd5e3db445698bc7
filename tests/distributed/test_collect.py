"""``predictor collect`` on workers: the same samples file as a serial run, and a killed run that
resumes without losing or repeating a measurement."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from edgenas.cli import app
from edgenas.data import make_synthetic
from edgenas.distributed import RayPool
from edgenas.estimate import collect_samples, read_samples
from edgenas.torch_threads import torch_threads

pytestmark = pytest.mark.timeout(180)
COUNT = 10


@pytest.fixture(scope="module")
def reference(tiny_supernet, tmp_path_factory):
    """The serial run's samples file, the one every parallel or resumed run must reproduce."""
    _, net, data = tiny_supernet
    path = tmp_path_factory.mktemp("serial") / "samples.jsonl"
    with torch_threads(1):
        collect_samples(net, data, path, count=COUNT, seed=3, calib_images=64)
    return path.read_bytes()


@pytest.mark.slow
def test_one_and_two_workers_write_the_same_samples_file(ray_cluster, tiny_supernet, reference, tmp_path):
    _, net, data = tiny_supernet
    path = tmp_path / "samples.jsonl"
    samples = collect_samples(net, data, path, count=COUNT, seed=3, calib_images=64, pool=RayPool(2), threads=1)
    assert path.read_bytes() == reference
    assert [s.arch for s in samples] == [s.arch for s in read_samples(path)]


@pytest.mark.slow
def test_a_driver_stopped_after_k_results_loses_and_repeats_nothing(ray_cluster, tiny_supernet, reference, tmp_path):
    _, net, data = tiny_supernet
    path = tmp_path / "samples.jsonl"

    class Killed(Exception):
        pass

    def die_at_four(done, total, sample):
        if done == 4:
            raise Killed

    with pytest.raises(Killed):
        collect_samples(net, data, path, count=COUNT, seed=3, calib_images=64, pool=RayPool(2), threads=1,
                        progress=die_at_four)
    kept = read_samples(path)
    assert len(kept) == 4  # every result that arrived was written before the driver died
    measured = []
    collect_samples(net, data, path, count=COUNT, seed=3, calib_images=64, pool=RayPool(2), threads=1,
                    progress=lambda done, total, sample: measured.append(sample.arch))
    assert len(measured) == COUNT - 4 and not set(measured) & {s.arch for s in kept}  # nothing measured twice
    assert path.read_bytes() == reference


def _big_val_npz(path) -> None:
    """The tiny supernet's kind of images with 800 validation images, so a measurement takes long
    enough to kill a run in the middle."""
    big = make_synthetic(seed=0, n_train=8_000, n_val=1, n_test=64)
    np.savez(path, x_train=big.train.x, y_train=big.train.y, x_test=big.test.x, y_test=big.test.y)


@pytest.mark.slow  # a second process with its own Ray cluster: 25 s on 2 idle cores
def test_collect_killed_with_sigkill_and_run_again_gives_the_serial_file(ray_cluster, tiny_supernet, tmp_path):
    directory, net, _ = tiny_supernet
    npz = tmp_path / "big.npz"
    _big_val_npz(npz)
    args = ["predictor", "collect", "--supernet", str(directory), "--data", str(npz), "--other-data",
            "--count", "10", "--seed", "5", "--calib-images", "64", "--quiet"]
    serial = tmp_path / "serial"
    assert CliRunner().invoke(app, [*args, "--samples", str(serial)]).exit_code == 0  # in this process, serial
    expected = (serial / "samples-0of1.jsonl").read_bytes()

    out = tmp_path / "killed"
    file = out / "samples-0of1.jsonl"
    cli = [sys.executable, "-c", "from edgenas.cli import app; app()", *args, "--samples", str(out), "--workers", "2"]
    env = {**os.environ, "RAY_ADDRESS": ""}  # its own local cluster, not the tests'
    proc = subprocess.Popen(cli, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if file.is_file() and len(file.read_text().splitlines()) >= 3:
                break
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # the driver, mid-run
        proc.wait(30)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever of its cluster is left
        except ProcessLookupError:
            pass
    before = file.read_text().splitlines()
    assert 3 <= len(before) < 10, proc.stderr.read().decode()[-2000:]

    again = CliRunner().invoke(app, [*args, "--samples", str(out), "--workers", "2"])
    assert again.exit_code == 0, again.stderr
    assert file.read_bytes() == expected
    assert set(before) <= set(expected.decode().splitlines())  # what the killed run wrote was kept as it was


def test_collect_cli_refuses_bad_worker_settings_with_hints(tmp_path):
    runner = CliRunner()
    zero = runner.invoke(app, ["predictor", "collect", "--samples", str(tmp_path), "--workers", "0"])
    assert zero.exit_code == 2 and "--workers 0" in zero.stderr and "hint:" in zero.stderr
    bad = runner.invoke(app, ["predictor", "collect", "--samples", str(tmp_path), "--ray-address", "nowhere"])
    assert bad.exit_code == 2 and "not auto or HOST:PORT" in bad.stderr
    down = runner.invoke(app, ["predictor", "collect", "--samples", str(tmp_path), "--ray-address", "127.0.0.1:9"])
    assert down.exit_code == 3 and "ray start" in " ".join(down.stderr.split())
