"""Speech from Debian's ``espeak-ng``: its English accents, its voice variants, one word at a time.

A formant synthesiser is no human, but it is installable from Debian, deterministic (the same
arguments give the same samples) and has ~100 voice variants, which stand in for speakers.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...errors import DataError, ToolchainError

ESPEAK_RATE_HZ = 22050
"""espeak-ng always synthesises at 22,050 Hz."""

EXCLUDED_VARIANTS = frozenset({"fast"})
"""Variants that are test fixtures of espeak-ng itself, not voices."""

SETUP_HINT = "run `make setup` (it installs the Debian packages espeak-ng and sox)"


@dataclass(frozen=True)
class Prosody:
    """How one word is spoken: accent (an espeak-ng English voice), variant (the "speaker"),
    pitch 0-99 (50 is espeak's default), rate in words per minute, amplitude 0-200 (100 default)."""

    accent: str
    variant: str
    pitch: int
    rate_wpm: int
    amplitude: int

    def args(self) -> list[str]:
        return ["-v", f"{self.accent}+{self.variant}", "-p", str(self.pitch), "-s", str(self.rate_wpm),
                "-a", str(self.amplitude)]


def espeak_binary() -> str:
    """The path of ``espeak-ng``; raises ``ToolchainError`` with a set-up hint when it is missing."""
    path = shutil.which("espeak-ng")
    if path is None:
        raise ToolchainError("espeak-ng not found on PATH: the keyword dataset is synthesised with it",
                             hint=SETUP_HINT)
    return path


def _run(args: list[str]) -> bytes:
    proc = subprocess.run([espeak_binary(), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        raise ToolchainError(f"espeak-ng {' '.join(args)} failed: {proc.stderr.decode(errors='replace')[-500:]}",
                             hint=SETUP_HINT)
    return proc.stdout


@lru_cache(maxsize=1)
def espeak_version() -> str:
    """First line of ``espeak-ng --version`` (recorded in the dataset manifest)."""
    return _run(["--version"]).decode().splitlines()[0].split(" Data at")[0].strip()


@lru_cache(maxsize=1)
def list_variants() -> tuple[str, ...]:
    """Installed voice variants (``+name``), sorted, without espeak-ng's test variants."""
    names = []
    for line in _run(["--voices=variant"]).decode().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and fields[4].startswith("!v/"):
            names.append(fields[4][3:])
    found = tuple(sorted(set(names) - EXCLUDED_VARIANTS))
    if not found:
        raise ToolchainError("espeak-ng lists no voice variants", hint=SETUP_HINT)
    return found


@lru_cache(maxsize=1)
def list_accents() -> tuple[str, ...]:
    """Installed English espeak-ng voices (``en-us``, ``en-gb-scotland``, ...), sorted. MBROLA
    voices are left out: they need the separate ``mbrola`` program and take no variants."""
    names = []
    for line in _run(["--voices=en"]).decode().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 5 and fields[4].startswith("gmw/"):
            names.append(fields[1])
    found = tuple(sorted(set(names)))
    if not found:
        raise ToolchainError("espeak-ng lists no English voices", hint=SETUP_HINT)
    return found


def _pcm_from_wav_stream(data: bytes) -> np.ndarray:
    """Samples of the WAV espeak-ng writes to stdout (its header sizes are placeholders, so the
    data chunk is taken to run to the end of the stream)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ToolchainError("espeak-ng --stdout did not write a WAV stream", hint=SETUP_HINT)
    channels, rate, bits = (int.from_bytes(data[22:24], "little"), int.from_bytes(data[24:28], "little"),
                            int.from_bytes(data[34:36], "little"))
    if (channels, rate, bits) != (1, ESPEAK_RATE_HZ, 16):
        raise ToolchainError(f"espeak-ng wrote {channels} channel(s), {rate} Hz, {bits} bit; expected mono "
                             f"{ESPEAK_RATE_HZ} Hz 16-bit")
    start = data.find(b"data", 12) + 8
    body = data[start:]
    return np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2")


def synthesize(word: str, prosody: Prosody, sample_rate_hz: int = 16_000) -> np.ndarray:
    """``word`` spoken with ``prosody``: float64 ``(N,)`` in [-1, 1) at ``sample_rate_hz``.

    Resampled with a polyphase filter (scipy), which is exact arithmetic on the same build, so the
    same word and prosody always give the same samples."""
    if not word or not all(c.isalpha() or c in " -'" for c in word):
        raise DataError(f"{word!r} is not a word espeak-ng should speak (letters, spaces, - and ' only)")
    pcm = _pcm_from_wav_stream(_run([*prosody.args(), "--stdout", word])).astype(np.float64) / 32768.0
    from scipy.signal import resample_poly  # here, not at the top: importing edgenas.data (every
    # worker, every CLI call) would pay scipy.signal's ~0.8 s import for audio it may never make

    g = np.gcd(sample_rate_hz, ESPEAK_RATE_HZ)
    return resample_poly(pcm, sample_rate_hz // g, ESPEAK_RATE_HZ // g)
