"""The fixed-point log-mel front end's constants, shared by the Python reference and (through the
generated C tables) the C implementation in ``runtime_c/frontend``.

16 kHz audio, 30 ms Hann frames every 20 ms (49 frames per second, as in Speech Commands'
standard features and MLPerf Tiny's DS-CNN), zero-padded to a 512-point FFT, 40 triangular mel
filters between 125 and 7,500 Hz, integer log2, mapped to uint8 so a second of audio is a
49 x 40 grayscale "image".
"""

from __future__ import annotations

SAMPLE_RATE_HZ = 16_000
FRAME_SAMPLES = 480
HOP_SAMPLES = 320
FFT_SIZE = 512
MEL_BINS = 40
MEL_LOW_HZ = 125.0
MEL_HIGH_HZ = 7_500.0
SPECTRUM_BINS = FFT_SIZE // 2 + 1

WINDOW_FRAC_BITS = 15
TWIDDLE_FRAC_BITS = 15
MEL_WEIGHT_FRAC_BITS = 12
POWER_SHIFT = 10
"""|X'|^2 is shifted right by this before the filterbank, so its sum stays below 2^63 (bound in
``frontend.py``)."""
MAX_FILTER_BINS = 64
"""The widest mel filter the int64 bound allows (the generator checks each filter against it)."""
LOG2_FRAC_BITS = 16
LOG2_LUT_BITS = 6
"""log2(1 + f) is tabulated at 2^6 + 1 points and linearly interpolated between them."""

LOG_OFFSET_Q16 = 12 << 16
"""log2 of the mel energy that maps to 0 (below it: 0)."""
OUT_MULT = 29
OUT_SHIFT = 18
"""uint8 = (log2_q16 - LOG_OFFSET_Q16) * 29 >> 18: 7.25 steps per doubling of energy (0.42 dB a
step), so 0..255 spans 35 doublings (105 dB), log2 energy 12 to 47 (the synthetic clips reach 45)."""


def frame_count(n_samples: int) -> int:
    """Frames in ``n_samples`` (49 for one second)."""
    return 0 if n_samples < FRAME_SAMPLES else 1 + (n_samples - FRAME_SAMPLES) // HOP_SAMPLES
