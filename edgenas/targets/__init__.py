"""Targets: measuring models on devices. One driver per family (``cortex_m``); shared link code."""

from .measurement import Measurement
from .protocol import DeviceClient, DeviceInfo, FrameParser, encode_frame

__all__ = ["Measurement", "DeviceClient", "DeviceInfo", "FrameParser", "encode_frame"]
