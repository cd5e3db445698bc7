"""16-bit PCM mono WAV files, read and written with the standard library only.

A keyword clip is int16 at a fixed rate; anything else is refused with the sox command that
converts it, since resampling silently here would hide a mismatch between training and device.
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ...errors import DataError


def write_wav(path: Path, samples: np.ndarray, sample_rate_hz: int) -> None:
    """Write int16 ``(N,)`` samples as a mono 16-bit WAV (the header holds no timestamp, so the
    same samples always give the same bytes)."""
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise DataError(f"{path}: samples must be int16 (N,), got {samples.dtype} {samples.shape}")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sample_rate_hz)
        f.writeframes(samples.astype("<i2").tobytes())


def read_wav(path: Path, sample_rate_hz: int) -> np.ndarray:
    """Read a mono 16-bit WAV at ``sample_rate_hz`` as int16 ``(N,)``.

    Raises:
        DataError: not a WAV, not 16-bit mono, or another sample rate (the hint gives the sox command).
    """
    convert = f"convert it with: sox IN.wav -r {sample_rate_hz} -c 1 -b 16 OUT.wav"
    try:
        with wave.open(str(path), "rb") as f:
            channels, width, rate, frames = f.getnchannels(), f.getsampwidth(), f.getframerate(), f.getnframes()
            raw = f.readframes(frames)
    except (wave.Error, EOFError, OSError) as exc:
        raise DataError(f"cannot read {path} as a PCM WAV file: {exc}", hint=convert) from exc
    if rate != sample_rate_hz:
        raise DataError(f"{path} is sampled at {rate} Hz, not {sample_rate_hz} Hz", hint=convert)
    if channels != 1 or width != 2:
        raise DataError(f"{path} has {channels} channel(s) of {8 * width}-bit samples; need mono 16-bit", hint=convert)
    return np.frombuffer(raw, dtype="<i2").astype(np.int16)
