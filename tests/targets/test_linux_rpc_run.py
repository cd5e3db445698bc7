"""linux_rpc's ``run -> Measurement`` (the interface every target has), over TVM RPC on loopback:
outputs computed on the RPC device equal the same library run in this process, timing in ns."""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.errors import DeviceError
from edgenas.profile.host import entry_module, export_module
from edgenas.space import get_space, smallest_arch
from edgenas.space.signature import arch_signatures


@pytest.fixture(scope="module")
def entry(tmp_path_factory):
    """A small float ONNX model (one MBConv entry of the tiny space) and its input shape."""
    spec = get_space("tiny-test")
    sig = arch_signatures(spec, smallest_arch(spec))[1]
    shape = (1, sig.in_channels, sig.in_size, sig.in_size)
    return export_module(entry_module(sig), shape, tmp_path_factory.mktemp("rpc") / "e.onnx"), shape


def _local_outputs(lib, x: np.ndarray) -> bytes:
    """The same library run in this process (no RPC): what the device must compute."""
    import tvm
    from tvm import relax

    vm = relax.VirtualMachine(tvm.runtime.load_module(str(lib)), tvm.cpu())
    return np.asarray(vm["main"](tvm.runtime.tensor(x, tvm.cpu())).numpy(), np.float32).tobytes()


# one TVM build and an RPC server: about 4 s here, so not marked slow
@pytest.mark.slow
def test_run_returns_a_measurement_per_input_with_the_devices_outputs(entry, tmp_path):
    pytest.importorskip("tvm")
    from edgenas.targets.linux_rpc import RpcDevice, build, loopback_server, run

    onnx_path, shape = entry
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    with loopback_server() as port:
        device = RpcDevice("127.0.0.1", port)
        lib = build(onnx_path, device, tmp_path / "e.so")
        got = run(lib, device, inputs, number=3, repeat=2)
    assert len(got) == 2
    for m, x in zip(got, inputs):
        assert m.unit == "ns" and m.total_count > 0 and m.per_layer == () and m.stack_bytes == 0
        assert m.output == _local_outputs(lib, x)
    assert got[0].output != got[1].output  # each input's own outputs, not one run repeated


@pytest.mark.slow
def test_run_without_inputs_or_server_is_a_device_error(entry, tmp_path):
    pytest.importorskip("tvm")
    import socket

    from edgenas.targets.linux_rpc import RpcDevice, run

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = RpcDevice("127.0.0.1", s.getsockname()[1])
    with pytest.raises(DeviceError, match="no inputs"):
        run(tmp_path / "e.so", dead, [])
    with pytest.raises(DeviceError, match="does not answer") as e:
        run(tmp_path / "e.so", dead, [np.zeros(entry[1], np.float32)])
    assert "rpc_server" in e.value.hint
