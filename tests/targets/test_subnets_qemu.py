"""Our own subnets on the three emulated boards: outputs bit-exact with the host build and with
TFLite Micro, the linked arena equal to the plan, counts and stack sane.

Each subnet runs on a different board (three firmware builds, a few seconds each), so every
subnet and every emulated core is covered once; see tests/deploy/test_subnets_end_to_end.py for
where the subnets come from.
"""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.deploy import build_host, compile_graph
from edgenas.deploy.tflm import run_tflm
from edgenas.targets.cortex_m import build_firmware, driver, elf_memory

from tests.deploy.test_subnets_end_to_end import our_subnets
from tests.targets.board_names import EMULATED

pytestmark = pytest.mark.board


@pytest.mark.parametrize(("index", "board_name"), list(enumerate(EMULATED)))
def test_subnet_bit_exact_in_qemu(index, board_name, tmp_path, boards):
    s = our_subnets()[index]
    board = boards.get(board_name)
    result = compile_graph(s.graph, tmp_path / "src")
    fw = build_firmware(tmp_path / "src", board, tmp_path / "fw")
    mem = elf_memory(fw.elf)
    assert mem["arena_bytes"] == result.arena_bytes
    assert mem["weights_bytes"] == result.flash_bytes

    x = s.inputs[[0, 3]]  # the ramp and one Fashion-MNIST image
    want = run_tflm(s.tflite, x).reshape(len(x), -1)
    host = build_host(tmp_path / "src").run(x)
    assert np.array_equal(host, want)
    ms = driver.run(fw, [xi.tobytes() for xi in x])
    for m, w in zip(ms, want):
        assert np.frombuffer(m.output, np.int8).tolist() == w.tolist()
        assert m.unit == "instructions" and 1e5 < m.total_count < 100e6
        assert len(m.per_layer) == result.num_layers and all(c > 0 for c in m.per_layer)
        assert 0 <= m.total_count - sum(m.per_layer) < 0.01 * m.total_count
        assert 0 < m.stack_bytes < fw.stack_bytes
