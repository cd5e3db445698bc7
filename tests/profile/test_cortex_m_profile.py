"""A tiny profile run on the emulated Cortex-M7 (QEMU): resumable table, prediction vs end to end."""

from __future__ import annotations

import socket
import threading

import pytest

from edgenas.boards import get_board
from edgenas.cost.latency_table import LatencyTable
from edgenas.errors import DeviceError
from edgenas.profile import arch_signatures, build_table
from edgenas.profile.cortex_m import CortexMProfiler
from edgenas.space import get_space, smallest_arch
from edgenas.targets.cortex_m import build_firmware
from edgenas.targets.cortex_m.profile import profile_firmware
from edgenas.targets.cortex_m.testmodel import TESTMODEL_DIR

pytestmark = pytest.mark.board


class _Interrupt(Exception):
    pass


def test_profile_is_resumable_and_predicts_whole_subnet(tmp_path):
    spec = get_space("tiny-test")
    arch = smallest_arch(spec)  # stem, 2 blocks, head: 4 entries
    prof = CortexMProfiler(get_board("mps2-an500"), batch_size=2)
    path = tmp_path / "m7.json"

    def stop_after_first_batch(done: int, total: int, info: str) -> None:
        if done == 2:
            raise _Interrupt

    with pytest.raises(_Interrupt):
        build_table(prof, spec, path, archs=[arch], progress=stop_after_first_batch)
    saved = LatencyTable.load(path, fingerprint=prof.fingerprint())
    assert len(saved) == 2 and saved.overhead  # the first firmware's entries survived the interruption
    first = dict(saved.entries)

    table = build_table(prof, spec, path, archs=[arch])  # resumes: measures only the 2 missing entries
    keys = [s.key for s in arch_signatures(spec, arch)]
    assert table.missing(keys) == []
    assert all(table.entries[k] == v for k, v in first.items())
    assert all(table.stats(k).count == 2 for k in keys)
    assert table.unit == "instructions" and table.backend == "edgenas-c"
    assert all(table.stats(k).spread == 0 for k in keys)  # -icount: deterministic counts

    m = prof.measure_arch(spec, arch, tmp_path / "arch")
    assert abs(table.predict(arch) - m.latency) <= 0.02 * m.latency
    assert m.memory_exact and m.arena_bytes == m.predicted_arena_bytes


def test_board_that_does_not_answer(tmp_path):
    """A 'real' board whose port accepts the connection but never replies -> DeviceError, fast."""
    board = get_board("nucleo-f746zg")
    fw = build_firmware(TESTMODEL_DIR, board, tmp_path / "fw", with_runtime=False)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    conns = []
    threading.Thread(target=lambda: conns.append(server.accept()), daemon=True).start()
    try:
        with pytest.raises(DeviceError, match="no valid HELLO_REPLY") as e:
            profile_firmware(fw, b"", port=f"socket://127.0.0.1:{server.getsockname()[1]}",
                             timeout_s=0.3, retries=1)
        assert "flashed" in e.value.hint
    finally:
        server.close()
