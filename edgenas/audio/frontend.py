"""Log-mel features from int16 audio in integer arithmetic: the Python reference of the C front
end in ``runtime_c/frontend`` (bit-exact with it; tests/audio checks both on synthesised clips).

Per frame of 480 samples (hop 320):
  1. window: xw = (x * hann_q15 + 2^14) >> 15                       |xw| <= 32767
  2. 2X = rfft_q(xw zero-padded to 512)                             (fft.py)
  3. power P[k] = (re^2 + im^2) >> 10                                < 2^40.1 (|2X| < 2^25.05)
  4. mel E[j] = sum_k w[j,k] P[k], w in Q12, <= 64 bins             < 2^12 * 2^40.1 * 2^6 < 2^59
  5. L[j] = log2(max(E[j], 1)) in Q16                               < 64 * 2^16
  6. out[j] = clamp((L[j] - LOG_OFFSET_Q16) * 29 >> 18, 0, 255)     uint8
Everything is int64 in numpy and the same widths in C, so no step rounds differently.
"""

from __future__ import annotations

import numpy as np

from . import config as cf
from .fft import rfft_q
from .tables import frontend_tables

CHUNK_FRAMES = 8192
"""Frames processed at once (bounds the int64 temporaries to tens of MB)."""


def log2_q16(e: np.ndarray) -> np.ndarray:
    """floor-exact integer log2 in Q16 of positive int64 values (values < 1 count as 1): the
    position of the top bit, plus log2 of the next 16 bits from a 65-entry table, linearly
    interpolated on the low 10 of them."""
    e = np.maximum(e.astype(np.int64), 1)
    n = np.zeros(e.shape, np.int64)
    v = e.copy()
    for s in (32, 16, 8, 4, 2, 1):  # binary search for the top bit
        big = (v >> s) > 0
        n += np.where(big, s, 0)
        v = np.where(big, v >> s, v)
    frac_bits = cf.LOG2_FRAC_BITS
    mant = np.where(n >= frac_bits, e >> np.maximum(n - frac_bits, 0), e << np.maximum(frac_bits - n, 0))
    frac = mant - (1 << frac_bits)  # [0, 2^16)
    low_bits = frac_bits - cf.LOG2_LUT_BITS
    i, r = frac >> low_bits, frac & ((1 << low_bits) - 1)
    lut = frontend_tables().log2_lut
    return (n << frac_bits) + lut[i] + (((lut[i + 1] - lut[i]) * r + (1 << (low_bits - 1))) >> low_bits)


def frames_q(audio: np.ndarray) -> np.ndarray:
    """int16 ``(N, samples)`` → windowed int64 frames ``(N, F, 512)`` (zero-padded past 480)."""
    n_frames = cf.frame_count(audio.shape[1])
    idx = np.arange(n_frames)[:, None] * cf.HOP_SAMPLES + np.arange(cf.FRAME_SAMPLES)[None, :]
    x = audio.astype(np.int64)[:, idx]
    out = np.zeros((*x.shape[:2], cf.FFT_SIZE), np.int64)
    out[..., : cf.FRAME_SAMPLES] = (x * frontend_tables().window + (1 << (cf.WINDOW_FRAC_BITS - 1))) >> cf.WINDOW_FRAC_BITS
    return out


def mel_energy_q(frames: np.ndarray) -> np.ndarray:
    """Windowed frames int64 ``(M, 512)`` → mel energies int64 ``(M, MEL_BINS)`` (steps 2-4)."""
    re, im = rfft_q(frames)
    power = (re * re + im * im) >> cf.POWER_SHIFT
    return power @ frontend_tables().mel_matrix()  # integer matmul: exact, order-free


def log_mel_u8(audio: np.ndarray) -> np.ndarray:
    """Features of int16 audio: ``(samples,)`` → uint8 ``(F, MEL_BINS)``, or ``(N, samples)`` →
    ``(N, F, MEL_BINS)``; F = 49 for a second at 16 kHz.

    Raises:
        ValueError: not int16, or shorter than one frame.
    """
    if audio.dtype != np.int16:
        raise ValueError(f"audio must be int16 samples, got {audio.dtype}")
    single = audio.ndim == 1
    batch = audio[None] if single else audio
    if batch.ndim != 2 or cf.frame_count(batch.shape[1]) == 0:
        raise ValueError(f"audio must be (samples,) or (N, samples) with >= {cf.FRAME_SAMPLES} samples, got {audio.shape}")
    n_frames = cf.frame_count(batch.shape[1])
    out = np.empty((batch.shape[0], n_frames, cf.MEL_BINS), np.uint8)
    clips_per_chunk = max(1, CHUNK_FRAMES // n_frames)
    for s in range(0, batch.shape[0], clips_per_chunk):
        frames = frames_q(batch[s: s + clips_per_chunk])
        m = frames.shape[0] * n_frames
        level = log2_q16(mel_energy_q(frames.reshape(m, cf.FFT_SIZE))) - cf.LOG_OFFSET_Q16
        u8 = np.clip((np.maximum(level, 0) * cf.OUT_MULT) >> cf.OUT_SHIFT, 0, 255)
        out[s: s + clips_per_chunk] = u8.reshape(-1, n_frames, cf.MEL_BINS)
    return out[0] if single else out
