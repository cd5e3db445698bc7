"""Host CPU profiling (ONNX Runtime, LiteRT) and the TVM RPC path on loopback, plus an aarch64 build."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from edgenas.errors import DeviceError
from edgenas.profile import arch_signatures, build_table
from edgenas.profile.host import HostProfiler, RpcProfiler, choose_host_backend, entry_module, export_module
from edgenas.space import get_space, smallest_arch


@pytest.fixture(scope="module")
def spec():
    return get_space("tiny-test")


def test_host_table_with_onnxruntime(spec, tmp_path):
    arch = smallest_arch(spec)
    prof = HostProfiler("onnxruntime", repeats=3, number=10, warmup=2)
    table = build_table(prof, spec, tmp_path / "host.json", archs=[arch])
    keys = [s.key for s in arch_signatures(spec, arch)]
    assert table.missing(keys) == [] and table.unit == "ms" and table.backend == "onnxruntime"
    assert table.fingerprint["backend"] == "onnxruntime" and table.fingerprint["threads"] == 1
    m = prof.measure_arch(spec, arch, tmp_path / "arch")
    assert len(m.samples) == 3 and m.latency > 0
    pred = table.predict(arch)
    assert 0 < pred < 10 * m.latency  # sanity only: a shared CI host is too noisy for a tight bound here


def test_choose_backend_records_every_candidate(spec, tmp_path):
    best, medians = choose_host_backend(spec, tmp_path, backends=("onnxruntime", "litert"))
    assert set(medians) == {"onnxruntime", "litert"} and best == min(medians, key=medians.get)
    assert all(v > 0 for v in medians.values())


def test_rpc_path_on_loopback(spec, tmp_path):
    pytest.importorskip("tvm")
    from edgenas.targets.linux_rpc import RpcDevice, loopback_server

    arch = smallest_arch(spec)
    with loopback_server() as port:
        prof = RpcProfiler(RpcDevice("127.0.0.1", port), repeats=2, number=5)
        table = build_table(prof, spec, tmp_path / "rpc.json", archs=[arch])
        m = prof.measure_arch(spec, arch, tmp_path / "arch")
    assert table.target == "linux-rpc" and table.backend == "tvm-rpc" and len(table) == 4
    assert m.latency > 0 and table.predict(arch) > 0


def test_rpc_server_that_does_not_answer(spec, tmp_path):
    pytest.importorskip("tvm")
    import socket

    from edgenas.targets.linux_rpc import RpcDevice, build, measure

    sig = arch_signatures(spec, smallest_arch(spec))[1]
    onnx_path = export_module(entry_module(sig), (1, sig.in_channels, sig.in_size, sig.in_size), tmp_path / "e.onnx")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = RpcDevice("127.0.0.1", s.getsockname()[1])
    lib = build(onnx_path, dead, tmp_path / "e.so")
    with pytest.raises(DeviceError, match="does not answer") as e:
        measure(lib, dead, np.zeros((1, sig.in_channels, sig.in_size, sig.in_size), np.float32))
    assert "rpc_server" in e.value.hint


@pytest.mark.skipif(shutil.which("aarch64-linux-gnu-g++") is None, reason="no aarch64 cross compiler")
def test_aarch64_shared_library_builds(spec, tmp_path):
    pytest.importorskip("tvm")
    from edgenas.targets.linux_rpc import RpcDevice, build

    sig = arch_signatures(spec, smallest_arch(spec))[1]
    onnx_path = export_module(entry_module(sig), (1, sig.in_channels, sig.in_size, sig.in_size), tmp_path / "e.onnx")
    lib = build(onnx_path, RpcDevice.aarch64("192.0.2.1"), tmp_path / "e_aarch64.so")
    with lib.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_AARCH64" and elf["e_type"] == "ET_DYN"
