"""The real firmware in QEMU behind a noisy line (NoisyStream: seeded drops, duplicates and bit
flips both ways): every result exact, no run failing, and not much slower than a clean line."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edgenas.errors import DeviceError
from edgenas.targets.cortex_m.qemu import ICOUNT_SHIFT, run_qemu
from edgenas.targets.cortex_m.testmodel import reference
from edgenas.targets.noise import NoiseRates, NoisyStream
from edgenas.targets.protocol import DeviceClient

pytestmark = pytest.mark.board

RATE = 0.002  # per byte, for each of drop, duplicate and bit flip, in each direction
RUNS = 12


def _drain(link) -> None:  # noqa: ANN001
    """Read until the line is quiet: late duplicates of one client's replies must not reach the other."""
    link.timeout = 0.05
    while link.read(4096):
        pass


def test_noisy_line_gives_exact_results_and_no_failures_at_most_3x_slower(build_testmodel, boards):
    """Regression: at this noise 3 of 3 runs used to fail on LOAD_INPUT (one 512-byte piece, 5
    retries), and one bad byte in a RESULT cost the whole 60 s invoke timeout.

    A clean and a noisy client take turns on the same emulator, so a busy machine slows both alike.
    """
    fw, board = build_testmodel("mps2-an500"), boards.get("mps2-an500")
    rng = np.random.default_rng(5)
    xs = [rng.integers(-128, 128, 256).astype(np.int8).tobytes() for _ in range(RUNS)]
    clean_s = noisy_s = 0.0
    noisy_out: list[bytes | None] = []
    with run_qemu(fw, board) as link:
        stream = NoisyStream(link, up=NoiseRates.each(RATE), down=NoiseRates.each(RATE), seed=11)
        clean, noisy = DeviceClient(link, icount_shift=ICOUNT_SHIFT), DeviceClient(stream, icount_shift=ICOUNT_SHIFT)
        for client in (clean, noisy):
            client.hello()
            _drain(link)
        for x in xs:
            t0 = time.monotonic()
            assert clean.run(x).output == reference(x)
            clean_s += time.monotonic() - t0
            _drain(link)
            t0 = time.monotonic()
            try:
                noisy_out.append(noisy.run(x).output)
            except DeviceError:
                noisy_out.append(None)
            noisy_s += time.monotonic() - t0
            _drain(link)
    assert None not in noisy_out  # no run failed
    assert noisy_out == [reference(x) for x in xs]  # and every result is bit-exact
    # The line really was noisy both ways, and the client really recovered.
    assert stream.up.counts.faults >= 10 and stream.down.counts.faults >= 5 and noisy.resends >= 10
    assert noisy.up.size() < noisy.up.max_bytes  # the input pieces shrank to the error rate
    # 2 s of slack: the runs take tenths of a second, so on a loaded machine one descheduling tick
    # decides a bare ratio (seen: 1.33 s vs 0.44 s beside two trainings); the regression this guards
    # against cost a 60 s timeout. bench/reliability.py measures the ratio itself.
    assert noisy_s <= 3 * clean_s + 2.0, f"noisy {noisy_s:.2f} s vs clean {clean_s:.2f} s"
