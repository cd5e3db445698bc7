"""The test fixture runs in QEMU on the three emulated boards: exact outputs, sane counts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgenas.errors import BoardError, DeviceError
from edgenas.targets.cortex_m import driver
from edgenas.targets.cortex_m.qemu import EXTRA_ARGS_ENV, qemu_command, qemu_process, run_qemu
from edgenas.targets.cortex_m.testmodel import DEFAULT_SPIN, reference
from edgenas.targets.protocol import DeviceClient

from tests.targets.board_names import EMULATED

pytestmark = pytest.mark.board


def _inputs(n: int, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    xs = [rng.integers(-128, 128, 256).astype(np.int8).tobytes() for _ in range(n - 1)]
    return xs + [bytes([0x80, 0x7F] * 128)]  # saturating extremes


@pytest.mark.parametrize("name", EMULATED)
def test_runs_with_exact_outputs_and_sane_counts(build_testmodel, name):
    fw = build_testmodel(name)
    xs = _inputs(3, seed=hash(name) % 1000)
    ms = driver.run(fw, xs)
    for x, m in zip(xs, ms):
        assert m.output == reference(x)
        assert m.unit == "instructions"
        assert len(m.per_layer) == 5 and all(c > 0 for c in m.per_layer)
        # Layer 3 spins DEFAULT_SPIN times over a 2-instruction loop: checks the tick->instruction scale.
        assert abs(m.per_layer[3] - 2 * DEFAULT_SPIN) <= 100
        # The dense layer (4096 MACs) dominates the arithmetic layers.
        assert m.per_layer[2] > m.per_layer[0] and m.per_layer[2] > m.per_layer[4]
        # Per-layer counts sum to the total up to call overhead and one tick of rounding per layer.
        assert 0 <= m.total_count - sum(m.per_layer) <= 300
        assert 32 <= m.stack_bytes <= 2048
        assert m.arena_bytes == 1024 and m.flash_bytes > 4096


def test_counts_repeat_to_one_tick_under_icount(build_testmodel):
    """Instruction streams are identical; only where SysTick's 40-instruction ticks fall moves."""
    fw = build_testmodel("mps2-an500")
    x = _inputs(1)[0]
    with driver.connect(fw) as c1:
        a = c1.run(x)
    with driver.connect(fw) as c2:
        b = c2.run(x)
    tick = 40
    assert abs(a.total_count - b.total_count) <= tick
    assert all(abs(p - q) <= tick for p, q in zip(a.per_layer, b.per_layer))


def test_spin_scales_with_define(build_testmodel):
    fw = build_testmodel("mps3-an547", defines={"EN_TESTMODEL_SPIN": 50_000})
    (m,) = driver.run(fw, [_inputs(1)[0]])
    assert abs(m.per_layer[3] - 100_000) <= 100  # 31.25 instructions per SysTick tick at 32 MHz


def test_qemu_is_killed_on_exception(build_testmodel, boards):
    fw = build_testmodel("mps2-an386")
    board = boards.get("mps2-an386")
    procs: list[subprocess.Popen] = []
    with pytest.raises(KeyboardInterrupt):
        with qemu_process(fw, board) as q:
            procs.append(q.process)
            assert q.alive()
            raise KeyboardInterrupt
    assert procs[0].poll() is not None


def test_no_answer_is_a_device_error(build_testmodel, boards):
    fw = build_testmodel("mps2-an386")
    with run_qemu(fw, boards.get("mps2-an386")) as link:
        client = DeviceClient(link, timeout_s=0.3, retries=1)
        client.hello()
        link.close()
        with pytest.raises(DeviceError):
            client.run(bytes(256))


def test_real_board_cannot_run_in_qemu(build_testmodel, boards):
    with pytest.raises(BoardError, match="not emulated"):
        with run_qemu(build_testmodel("nucleo-f746zg"), boards.get("nucleo-f746zg")):
            pass


def test_extra_qemu_arguments_come_from_the_environment(monkeypatch, boards):
    """EDGENAS_QEMU_ARGS (bench/instruction_trace.py's hook) lands right after the binary, split as
    a shell would."""
    board = boards.get("mps2-an386")
    monkeypatch.delenv(EXTRA_ARGS_ENV, raising=False)
    plain = qemu_command(Path("fw.elf"), board, 1234)
    monkeypatch.setenv(EXTRA_ARGS_ENV, "-singlestep -d 'exec,nochain' -D /tmp/x.log")
    traced = qemu_command(Path("fw.elf"), board, 1234)
    assert traced == [plain[0], "-singlestep", "-d", "exec,nochain", "-D", "/tmp/x.log", *plain[1:]]
