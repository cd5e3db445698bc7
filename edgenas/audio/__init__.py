"""Audio front end: fixed-point log-mel features, the Python reference of ``runtime_c/frontend``.

A leaf like ``space``: numpy only, no torch, nothing else from edgenas but ``paths``.
"""

from .config import FRAME_SAMPLES, HOP_SAMPLES, MEL_BINS, SAMPLE_RATE_HZ, frame_count
from .frontend import log2_q16, log_mel_u8
from .tables import FrontendTables, frontend_tables

__all__ = ["FRAME_SAMPLES", "HOP_SAMPLES", "MEL_BINS", "SAMPLE_RATE_HZ", "FrontendTables", "frame_count",
           "frontend_tables", "log2_q16", "log_mel_u8"]
