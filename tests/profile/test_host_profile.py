"""Host CPU profiling (ONNX Runtime, LiteRT) and the TVM RPC path on loopback, plus an aarch64 build."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from elftools.elf.elffile import ELFFile

from edgenas.errors import DeviceError
from edgenas.profile import arch_signatures, build_table
from edgenas.profile.host import (
    HostProfiler,
    RpcProfiler,
    choose_host_backend,
    entry_models,
    entry_module,
    entry_samples,
    export_module,
    prefix_signature,
)
from edgenas.space.signature import Signature
from edgenas.space import get_space, smallest_arch


@pytest.fixture(scope="module")
def spec():
    return get_space("tiny-test")


@pytest.mark.slow  # 11 s
def test_host_table_with_onnxruntime(spec, tmp_path):
    arch = smallest_arch(spec)
    prof = HostProfiler("onnxruntime", rounds=6, samples=3, span_s=0.05)
    table = build_table(prof, spec, tmp_path / "host.json", archs=[arch])
    keys = [s.key for s in arch_signatures(spec, arch)]
    assert table.missing(keys) == [] and table.unit == "ms" and table.backend == "onnxruntime"
    assert table.fingerprint["backend"] == "onnxruntime" and table.fingerprint["threads"] == 1
    m = prof.measure_arch(spec, arch, tmp_path / "arch")
    assert len(m.samples) == 3 and m.latency > 0
    pred = table.predict(arch)
    assert 0 < pred < 10 * m.latency  # sanity only: a shared CI host is too noisy for a tight bound here


def test_entries_are_timed_behind_a_prefix_and_pair_by_pair(spec):
    """mbconv and head entries are (prefix -> entry) minus the prefix, sample by sample; the stem
    (which really reads the graph input) is minus the null model; one prefix per input shape."""
    sigs = arch_signatures(spec, smallest_arch(spec))
    models = entry_models(sigs)
    prefixes = {k for k in models if k.startswith("p")}
    assert prefixes == {f"p{s.in_size}x{s.in_channels}" for s in sigs if s.kind != "stem"}
    times = {k: [10.0, 11.0, 12.0] for k in models}
    times["null"] = [1.0, 2.0, 3.0]
    for i, sig in enumerate(sigs):
        times[f"e{i}"] = [20.0 + i, 30.0 + i, 5.0]  # the last pair falls under its baseline
    samples = entry_samples(sigs, times)
    stem = sigs[0]
    assert stem.kind == "stem" and samples[stem.key] == [19.0, 28.0, 2.0]
    for i, sig in enumerate(sigs[1:], start=1):
        assert samples[sig.key] == [10.0 + i, 19.0 + i, 0.0]


@pytest.mark.slow
def test_litert_times_the_int8_graphs_of_entries_and_prefixes(spec, tmp_path):
    """LiteRT runs the deployed int8 graphs: (prefix -> entry), the prefix alone, the null model."""
    sigs = arch_signatures(spec, smallest_arch(spec))
    prof = HostProfiler("litert", rounds=3, samples=1, span_s=0.02, max_wait_s=0.1)
    samples = prof.measure_entries(sigs, tmp_path).entries
    assert set(samples) == {s.key for s in sigs} and all(len(v) == 1 and v[0] >= 0 for v in samples.values())
    assert sum(v[0] for v in samples.values()) > 0


def test_prefix_keeps_the_entry_input_and_is_a_plain_block():
    sig = Signature("mbconv", 6, 16, 96, 24, 7, 2, False)
    pre = prefix_signature(sig)
    assert (pre.in_size, pre.in_channels, pre.out_channels, pre.out_size) == (6, 16, 16, 6)
    assert pre.kind == "mbconv" and not pre.residual and pre.stride == 1


@pytest.mark.slow
def test_choose_backend_records_every_candidate(spec, tmp_path):
    best, medians = choose_host_backend(spec, tmp_path, backends=("onnxruntime", "litert"))
    assert set(medians) == {"onnxruntime", "litert"} and best == min(medians, key=medians.get)
    assert all(v > 0 for v in medians.values())


@pytest.mark.slow  # a TVM RPC server and builds: 23 s
def test_rpc_path_on_loopback(spec, tmp_path):
    pytest.importorskip("tvm")
    from edgenas.targets.linux_rpc import RpcDevice, loopback_server

    arch = smallest_arch(spec)
    with loopback_server() as port:
        prof = RpcProfiler(RpcDevice("127.0.0.1", port), samples=2, number=5)
        table = build_table(prof, spec, tmp_path / "rpc.json", archs=[arch])
        m = prof.measure_arch(spec, arch, tmp_path / "arch")
    assert table.target == "linux-rpc" and table.backend == "tvm-rpc" and len(table) == 4
    assert m.latency > 0 and table.predict(arch) > 0


@pytest.mark.slow
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
@pytest.mark.slow
def test_aarch64_shared_library_builds(spec, tmp_path):
    pytest.importorskip("tvm")
    from edgenas.targets.linux_rpc import RpcDevice, build

    sig = arch_signatures(spec, smallest_arch(spec))[1]
    onnx_path = export_module(entry_module(sig), (1, sig.in_channels, sig.in_size, sig.in_size), tmp_path / "e.onnx")
    lib = build(onnx_path, RpcDevice.aarch64("192.0.2.1"), tmp_path / "e_aarch64.so")
    with lib.open("rb") as f:
        elf = ELFFile(f)
        assert elf["e_machine"] == "EM_AARCH64" and elf["e_type"] == "ET_DYN"
