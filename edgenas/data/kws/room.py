"""A simple synthetic room: an impulse response of a direct path, a few early reflections and an
exponentially decaying diffuse tail, darker as it decays (walls absorb high frequencies)."""

from __future__ import annotations

import numpy as np


def room_impulse_response(rng: np.random.Generator, rt60_s: float, sample_rate_hz: int) -> np.ndarray:
    """Impulse response with reverberation time ``rt60_s`` (the time for the tail to fall by 60 dB),
    float64, direct path at index 0 with gain 1."""
    n = max(2, int(rt60_s * sample_rate_hz))
    t = np.arange(n) / sample_rate_hz
    tail = rng.standard_normal(n) * np.exp(-6.908 * t / rt60_s)  # ln(1000) = 6.908: amplitude -60 dB at rt60
    # One-pole low-pass whose pole moves towards 1 along the tail would be exact; a fixed pole on the
    # second half is enough to make late reverberation duller than early.
    half = n // 2
    from scipy.signal import lfilter  # here, not at the top: scipy.signal takes ~0.8 s to import

    tail[half:] = lfilter([0.4], [1.0, -0.6], tail[half:])
    tail[: int(0.003 * sample_rate_hz)] = 0.0  # the tail starts after the direct sound
    ir = tail / max(float(np.sqrt(np.sum(tail**2))), 1e-12) * rng.uniform(0.3, 0.9)
    for _ in range(4):  # early reflections off nearby walls, 2-20 ms after the direct sound
        ir[min(n - 1, int(rng.uniform(0.002, 0.02) * sample_rate_hz))] += rng.uniform(0.2, 0.6) * rng.choice([-1, 1])
    ir[0] = 1.0
    return ir


def reverberate(x: np.ndarray, ir: np.ndarray) -> np.ndarray:
    """``x`` played in the room of ``ir``, cut to ``len(x)`` samples."""
    from scipy.signal import fftconvolve  # here, not at the top: see room_impulse_response

    return fftconvolve(x, ir)[: x.size]
