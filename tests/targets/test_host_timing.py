"""Host timing: interleaved rounds, samples over the whole span, the quiet gate, denormals."""

from __future__ import annotations

import time

import numpy as np
import pytest

from edgenas.targets.host import QuietGate, Runner, time_runners
from edgenas.targets.host.backends import flush_denormals


def _recording(log: list[str], name: str, seconds: float = 0.0) -> Runner:
    def call() -> None:
        log.append(name)
        if seconds:
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                pass

    return Runner("fake", call)


def test_rounds_visit_every_runner_in_turn_and_samples_take_the_fastest_of_their_rounds():
    log: list[str] = []
    runners = {"a": _recording(log, "a"), "b": _recording(log, "b")}
    out = time_runners(runners, rounds=6, samples=3, span_s=0.0)
    assert set(out) == {"a", "b"} and all(len(v) == 3 for v in out.values())
    timed = log[6:]  # after 3 warm-up calls each
    assert timed[:3] == ["a"] * 3 and timed[3:6] == ["b"] * 3 and timed[6:9] == ["a"] * 3  # 3-call bursts, in turn
    assert len(timed) == 6 * 2 * 3


def test_a_slower_model_times_slower():
    out = time_runners({"fast": _recording([], "f", 0.0002), "slow": _recording([], "s", 0.0010)},
                       rounds=3, samples=1, span_s=0.0)
    assert 0.15 < out["fast"][0] < 0.6 and 0.9 < out["slow"][0] < 2.0


def test_bad_round_counts_are_refused():
    with pytest.raises(ValueError, match="rounds"):
        time_runners({}, rounds=2, samples=3)


def test_gate_waits_while_the_sentinel_runs_slow_and_gives_up_after_its_budget():
    gate = QuietGate(tolerance=0.05, max_wait_s=0.2, probe_s=0.001)
    gate.best = 1e-9  # a fastest-ever sentinel no real probe can match: the machine looks busy
    t0 = time.perf_counter()
    gate.wait()
    waited = time.perf_counter() - t0
    assert 0.2 <= waited < 1.0 and gate.quiet()  # budget spent: the gate stays open


def test_gate_is_open_on_a_quiet_machine():
    gate = QuietGate(tolerance=10.0, max_wait_s=5.0, probe_s=0.001)
    t0 = time.perf_counter()
    gate.wait()
    assert time.perf_counter() - t0 < 0.5 and gate.best < float("inf")


def test_denormals_are_flushed_while_timing_only():
    tiny = np.float32(1e-39)  # a denormal
    torch = pytest.importorskip("torch")
    with flush_denormals():
        assert float(torch.tensor([tiny]) * 1.0) == 0.0
    assert float(torch.tensor([tiny]) * 1.0) != 0.0
