"""Synthetic background noises, generated from a seeded generator (nothing recorded, nothing
downloaded): coloured noise, mains hum, and a fan-like band of low-frequency rumble."""

from __future__ import annotations

import numpy as np

NOISE_KINDS: tuple[str, ...] = ("white", "pink", "brown", "hum", "fan")


def _coloured(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise whose power falls as ``1/f**exponent`` (0 white, 1 pink, 2 brown), shaped in the
    frequency domain so its spectrum is exact rather than approximated by a filter."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spectrum.size, dtype=np.float64)
    f[0] = 1.0
    spectrum *= f ** (-exponent / 2)
    spectrum[0] = 0.0  # no DC offset
    return np.fft.irfft(spectrum, n)


def _hum(rng: np.random.Generator, n: int, sample_rate_hz: int) -> np.ndarray:
    """Mains hum: 50 or 60 Hz with decaying odd and even harmonics at random phases, plus a
    little hiss."""
    mains = 50.0 if rng.random() < 0.5 else 60.0
    t = np.arange(n) / sample_rate_hz
    out = np.zeros(n)
    for h in range(1, 8):
        out += rng.uniform(0.2, 1.0) / h * np.sin(2 * np.pi * mains * h * t + rng.uniform(0, 2 * np.pi))
    return out + 0.05 * rng.standard_normal(n)


def _fan(rng: np.random.Generator, n: int, sample_rate_hz: int) -> np.ndarray:
    """Band-limited rumble (a fan, an air conditioner, a car): white noise through a band-pass with
    a random low and high corner and second-order (12 dB per octave) slopes, as a real fan's
    spectrum falls gradually, not at a wall."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sample_rate_hz)
    lo, hi = rng.uniform(40, 200), rng.uniform(600, 2500)
    high_pass = (f / lo) ** 2 / (1 + (f / lo) ** 2)
    low_pass = 1 / (1 + (f / hi) ** 2)
    return np.fft.irfft(spectrum * high_pass * low_pass, n)


def make_noise(kind: str, rng: np.random.Generator, n: int, sample_rate_hz: int) -> np.ndarray:
    """``n`` samples of ``kind`` noise, float64 with unit RMS."""
    if kind == "white":
        out = rng.standard_normal(n)
    elif kind == "pink":
        out = _coloured(rng, n, 1.0)
    elif kind == "brown":
        out = _coloured(rng, n, 2.0)
    elif kind == "hum":
        out = _hum(rng, n, sample_rate_hz)
    elif kind == "fan":
        out = _fan(rng, n, sample_rate_hz)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; known: {NOISE_KINDS}")
    return out / max(float(np.sqrt(np.mean(out**2))), 1e-12)
