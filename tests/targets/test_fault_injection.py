"""A lossy, noisy link between QEMU and the client: it recovers or raises DeviceError, never lies."""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.errors import DeviceError
from edgenas.targets.cortex_m.qemu import qemu_process
from edgenas.targets.cortex_m.testmodel import reference
from edgenas.targets.protocol import DeviceClient
from edgenas.targets.transport import connect_socket

from tests.targets.fault_proxy import FaultProxy, FaultRates

pytestmark = pytest.mark.board


def _client_through_proxy(q, down: FaultRates, up: FaultRates, seed: int, **kwargs):
    proxy = FaultProxy(q.port, down, up, seed=seed)
    link = connect_socket(proxy.port, timeout_s=5)
    return proxy, link, DeviceClient(link, **kwargs)


def test_recovers_from_drops_duplicates_corruption_and_delays(build_testmodel, boards):
    fw = build_testmodel("mps2-an500")
    rates = FaultRates(drop=0.002, duplicate=0.002, corrupt=0.002, delay=0.01)
    rng = np.random.default_rng(7)
    xs = [rng.integers(-128, 128, 256).astype(np.int8).tobytes() for _ in range(6)]
    with qemu_process(fw, boards.get("mps2-an500")) as q:
        proxy, link, client = _client_through_proxy(q, rates, rates, seed=11, timeout_s=0.3,
                                                    invoke_timeout_s=0.6, retries=12, chunk_bytes=48)
        try:
            good = 0
            for x in xs:
                try:
                    m = client.run(x)
                except DeviceError:
                    continue  # allowed: a clear failure; never a wrong answer
                assert m.output == reference(x)
                assert abs(m.per_layer[3] - 20_000) <= 100
                good += 1
        finally:
            link.close()
            proxy.close()
    assert proxy.counts.total > 10  # the link really was damaged
    assert client.resends > 0  # and the client really had to recover
    assert good >= 4


def test_hopeless_link_raises_device_error(build_testmodel, boards):
    fw = build_testmodel("mps2-an500")
    awful = FaultRates(corrupt=0.3)
    with qemu_process(fw, boards.get("mps2-an500")) as q:
        proxy, link, client = _client_through_proxy(q, awful, FaultRates(), seed=3, timeout_s=0.3, retries=2)
        try:
            with pytest.raises(DeviceError, match="no valid HELLO_REPLY reply"):
                client.hello()
        finally:
            link.close()
            proxy.close()
    assert proxy.counts.corrupted > 0
