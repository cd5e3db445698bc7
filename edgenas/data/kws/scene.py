"""One clip's acoustic scene: where the word sits in the second, the room, the noise and the
level; and the rendering of speech through it into int16 samples.

Every random choice is drawn from one generator seeded per clip, so a clip depends only on its own
seed (clips can be rendered in any order, by any number of workers, with the same bytes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .noise import NOISE_KINDS, make_noise
from .room import reverberate, room_impulse_response


@dataclass(frozen=True)
class Scene:
    """The drawn parameters of one clip (kept in the dataset's clips.csv).

    ``start`` is the word's position in [0, 1] of the free space; ``rt60_s`` 0 means no room;
    ``snr_db`` is speech over noise (ignored for silence clips, where ``level_dbfs`` is the noise's
    RMS level); ``level_dbfs`` is the clip's peak level for speech."""

    start: float
    rt60_s: float
    noise: str
    snr_db: float
    level_dbfs: float

    def as_row(self) -> dict[str, str]:
        return {k: (f"{v:.4f}" if isinstance(v, float) else str(v)) for k, v in asdict(self).items()}


def draw_scene(rng: np.random.Generator, *, silence: bool) -> Scene:
    """Draw a scene: a room on two clips in three (RT60 0.1-0.7 s), noise at 0-30 dB SNR on most
    clips (a fifth are left clean, at a 60 dB floor), peak level -30 to -1 dBFS; silence clips get
    noise alone at -75 to -25 dBFS RMS."""
    start = float(rng.uniform(0.0, 1.0))
    rt60_s = float(rng.uniform(0.1, 0.7)) if rng.random() < 2 / 3 else 0.0
    noise = str(rng.choice(NOISE_KINDS))
    snr_db = float(rng.uniform(0.0, 30.0)) if rng.random() < 0.8 else 60.0
    level_dbfs = float(rng.uniform(-75.0, -25.0)) if silence else float(rng.uniform(-30.0, -1.0))
    return Scene(start, rt60_s, noise, snr_db, level_dbfs)


def _trim(speech: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Cut the synthesiser's leading and trailing silence, keeping 20 ms either side of the part
    above -40 dB of the peak, with 5 ms raised-cosine fades so the cuts do not click (a click is
    a broadband line in the features that no microphone would hear)."""
    loud = np.flatnonzero(np.abs(speech) > 0.01 * np.max(np.abs(speech), initial=1e-12))
    if loud.size == 0:
        return speech[:0]
    pad = int(0.02 * sample_rate_hz)
    word = speech[max(0, loud[0] - pad): loud[-1] + pad + 1].copy()
    fade = min(int(0.005 * sample_rate_hz), word.size // 2)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(fade) / fade)
    word[:fade] *= ramp
    word[word.size - fade:] *= ramp[::-1]
    return word


def render(speech: np.ndarray | None, scene: Scene, rng: np.random.Generator, *, clip_samples: int,
           sample_rate_hz: int) -> np.ndarray:
    """The clip: ``speech`` (float, or None for a silence clip) placed, reverberated, mixed with
    noise and scaled, as int16 ``(clip_samples,)``. Samples beyond int16 are clipped (rare: the
    peak is set before noise is added, and noise at >= 0 dB SNR seldom adds more than 6 dB)."""
    n = clip_samples
    noise = make_noise(scene.noise, rng, n, sample_rate_hz)
    if speech is None:
        out = noise * 10 ** (scene.level_dbfs / 20)
    else:
        word = _trim(speech, sample_rate_hz)[:n]  # a word longer than the clip loses its end
        clip = np.zeros(n)
        offset = int(scene.start * (n - word.size))
        clip[offset: offset + word.size] = word
        if scene.rt60_s > 0:
            clip = reverberate(clip, room_impulse_response(rng, scene.rt60_s, sample_rate_hz))
        active = clip[offset: offset + word.size]
        speech_rms = float(np.sqrt(np.mean(active**2))) if active.size else 0.0
        mixed = clip + noise * speech_rms * 10 ** (-scene.snr_db / 20)
        peak = max(float(np.max(np.abs(clip))), 1e-12)
        out = mixed * (10 ** (scene.level_dbfs / 20) / peak)
    return np.clip(np.round(out * 32768.0), -32768, 32767).astype(np.int16)
