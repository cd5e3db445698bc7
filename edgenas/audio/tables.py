"""The front end's constant tables (Hann window, FFT twiddles, mel filterbank, log2 table), made
once in floating point and rounded to integers. The C build reads the same integers from the
generated ``runtime_c/frontend/src/frontend_tables.c``, so C and Python share the constants
exactly."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from . import config as cf


@dataclass(frozen=True)
class FrontendTables:
    """``window`` int16 ``(FRAME_SAMPLES,)`` Q15; ``cos``/``sin`` int16 ``(FFT_SIZE/2,)`` Q15 of
    2 pi k / FFT_SIZE; per mel filter its first bin ``mel_start``, bin count ``mel_len`` and offset
    ``mel_offset`` into the flat Q12 weights ``mel_weights``; ``log2_lut`` int32 Q16 of
    log2(1 + i / 64), i = 0..64."""

    window: np.ndarray
    cos: np.ndarray
    sin: np.ndarray
    mel_start: np.ndarray
    mel_len: np.ndarray
    mel_offset: np.ndarray
    mel_weights: np.ndarray
    log2_lut: np.ndarray

    def mel_matrix(self) -> np.ndarray:
        """The filterbank as a dense int64 ``(SPECTRUM_BINS, MEL_BINS)`` matrix (for the reference)."""
        m = np.zeros((cf.SPECTRUM_BINS, cf.MEL_BINS), dtype=np.int64)
        for j in range(cf.MEL_BINS):
            s, n, o = int(self.mel_start[j]), int(self.mel_len[j]), int(self.mel_offset[j])
            m[s: s + n, j] = self.mel_weights[o: o + n]
        return m


def _q(x: np.ndarray, frac_bits: int) -> np.ndarray:
    """Round to Q``frac_bits``, clamped to int16 (so 1.0 becomes 32767 in Q15)."""
    return np.clip(np.round(x * (1 << frac_bits)), -32768, 32767).astype(np.int64)


def _mel(f_hz: np.ndarray) -> np.ndarray:
    return 1127.0 * np.log1p(f_hz / 700.0)


def _mel_filters() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triangular filters with centres equally spaced in mel, weights in Q12 (peak 1.0), zero
    weights trimmed from both ends so each filter is one contiguous run of bins."""
    edges_mel = np.linspace(_mel(np.array(cf.MEL_LOW_HZ)), _mel(np.array(cf.MEL_HIGH_HZ)), cf.MEL_BINS + 2)
    bin_mel = _mel(np.arange(cf.SPECTRUM_BINS) * cf.SAMPLE_RATE_HZ / cf.FFT_SIZE)
    starts, lens, offsets, weights = [], [], [], []
    for j in range(cf.MEL_BINS):
        lo, mid, hi = edges_mel[j], edges_mel[j + 1], edges_mel[j + 2]
        tri = np.maximum(0.0, np.minimum((bin_mel - lo) / (mid - lo), (hi - bin_mel) / (hi - mid)))
        w = np.round(tri * (1 << cf.MEL_WEIGHT_FRAC_BITS)).astype(np.int64)
        nz = np.flatnonzero(w)
        if nz.size == 0:
            raise ValueError(f"mel filter {j} covers no FFT bin: too many mel bins for the FFT size")
        if nz.size > cf.MAX_FILTER_BINS:
            raise ValueError(f"mel filter {j} spans {nz.size} bins, over the {cf.MAX_FILTER_BINS} the int64 bound allows")
        starts.append(nz[0])
        lens.append(nz[-1] - nz[0] + 1)
        offsets.append(sum(len(x) for x in weights))
        weights.append(w[nz[0]: nz[-1] + 1])
    return (np.array(starts, np.int64), np.array(lens, np.int64), np.array(offsets, np.int64),
            np.concatenate(weights))


@lru_cache(maxsize=1)
def frontend_tables() -> FrontendTables:
    """The tables (computed once per process)."""
    n = np.arange(cf.FRAME_SAMPLES)
    window = _q(0.5 - 0.5 * np.cos(2 * np.pi * n / cf.FRAME_SAMPLES), cf.WINDOW_FRAC_BITS)  # periodic Hann
    k = np.arange(cf.FFT_SIZE // 2)
    cos = _q(np.cos(2 * np.pi * k / cf.FFT_SIZE), cf.TWIDDLE_FRAC_BITS)
    sin = _q(np.sin(2 * np.pi * k / cf.FFT_SIZE), cf.TWIDDLE_FRAC_BITS)
    start, length, offset, weights = _mel_filters()
    lut_size = 1 << cf.LOG2_LUT_BITS
    log2_lut = np.round(np.log2(1 + np.arange(lut_size + 1) / lut_size) * (1 << cf.LOG2_FRAC_BITS)).astype(np.int64)
    return FrontendTables(window, cos, sin, start, length, offset, weights, log2_lut)
