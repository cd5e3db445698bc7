"""The host side of the framed device link (see targets/cortex_m/main.c for the device side).

Frame, all integers little-endian::

    magic E5 4E | type u8 | seq u8 | length u16 | payload[length] | crc32 u32

The CRC-32 (zlib) covers type, seq, length and payload. Replies echo the request's ``seq``. The
parser resynchronises after garbage by rescanning its buffer for the next magic, so a corrupt or
truncated frame costs only itself. :class:`DeviceClient` retries on timeouts and CRC errors and
validates every reply's shape: it raises DeviceError rather than return a damaged result.
"""

from __future__ import annotations

import enum
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from ..errors import DeviceError
from .measurement import Measurement

PROTOCOL_VERSION = 1
MAGIC = b"\xe5\x4e"
HEADER_BYTES = 6  # magic, type, seq, length
CRC_BYTES = 4
MAX_PAYLOAD = 0xFFFF


class MsgType(enum.IntEnum):
    HELLO = 0x01
    LOAD_INPUT = 0x02
    INVOKE = 0x03
    HELLO_REPLY = 0x81
    ACK = 0x82
    RESULT = 0x83
    ERROR = 0x7F


class ErrorCode(enum.IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_TYPE = 3
    BAD_RANGE = 4
    INPUT_CRC = 5
    MODEL = 6


COUNTER_UNITS = {0: "cycles", 1: "instructions"}


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Serialise one frame."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = struct.pack("<BBH", msg_type, seq & 0xFF, len(payload)) + payload
    return MAGIC + body + struct.pack("<I", crc32(body))


class FrameParser:
    """Incremental frame decoder with resynchronisation.

    Args:
        max_payload: lengths above this are treated as corruption (resync) instead of waiting
            for bytes that will never come; the client tightens it once it knows the model.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self.crc_errors = 0
        self.skipped_bytes = 0

    def reset(self) -> None:
        """Drop any partial frame (the client does this before a retry)."""
        self.skipped_bytes += len(self._buf)
        self._buf.clear()

    @property
    def pending(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every complete, CRC-valid frame now available, in order."""
        self._buf += data
        frames = []
        while True:
            start = self._buf.find(MAGIC)
            if start < 0:
                # Keep a trailing first magic byte: the second may arrive next.
                keep = 1 if self._buf[-1:] == MAGIC[:1] else 0
                self.skipped_bytes += len(self._buf) - keep
                del self._buf[: len(self._buf) - keep]
                return frames
            if start:
                self.skipped_bytes += start
                del self._buf[:start]
            if len(self._buf) < HEADER_BYTES:
                return frames
            msg_type, seq, length = struct.unpack_from("<BBH", self._buf, 2)
            if length > self.max_payload:
                self._skip_one()
                continue
            end = HEADER_BYTES + length + CRC_BYTES
            if len(self._buf) < end:
                return frames
            (want,) = struct.unpack_from("<I", self._buf, end - CRC_BYTES)
            if crc32(bytes(self._buf[2: end - CRC_BYTES])) != want:
                self.crc_errors += 1
                self._skip_one()  # rescan: a real frame may start inside the bad one
                continue
            frames.append(Frame(msg_type, seq, bytes(self._buf[HEADER_BYTES: end - CRC_BYTES])))
            del self._buf[:end]

    def _skip_one(self) -> None:
        self.skipped_bytes += 1
        del self._buf[:1]


class ByteStream(Protocol):
    """What the client needs from a link: pyserial's Serial (real port or socket://) fits."""

    timeout: float | None

    def write(self, data: bytes) -> int | None: ...

    def read(self, size: int = 1) -> bytes: ...


@dataclass(frozen=True)
class DeviceInfo:
    """The HELLO reply: what firmware and model the device runs."""

    version: int
    max_rx_payload: int
    input_bytes: int
    output_bytes: int
    num_layers: int
    counter_unit: str
    counter_hz: int
    stack_reserve_bytes: int

    @property
    def result_payload_bytes(self) -> int:
        return 20 + 4 * self.num_layers + self.output_bytes


@dataclass(frozen=True)
class RawResult:
    """A RESULT frame, counts still in raw counter ticks."""

    total_ticks: int
    stack_bytes: int
    layer_ticks: tuple[int, ...]
    output: bytes


class _Retry(Exception):
    """Internal: the reply was lost or damaged; send the request again."""


class DeviceClient:
    """Talks to one device over a byte stream.

    Args:
        stream: a pyserial-like object (``Serial`` or ``serial_for_url("socket://...")``).
        timeout_s: how long to wait for a reply to HELLO / LOAD_INPUT.
        invoke_timeout_s: how long to wait for an inference result.
        retries: extra attempts per request after a timeout or a CRC error.
        icount_shift: QEMU ``-icount shift`` used, to turn SysTick ticks into instructions
            (one instruction = 2**shift ns of virtual time).
        chunk_bytes: input bytes per LOAD_INPUT frame (default: the most the device accepts);
            smaller chunks lose less to each corrupted byte on a noisy link.
    """

    def __init__(self, stream: ByteStream, *, timeout_s: float = 2.0, invoke_timeout_s: float = 60.0,
                 retries: int = 5, icount_shift: int = 0, chunk_bytes: int | None = None) -> None:
        self.stream = stream
        self.timeout_s = timeout_s
        self.invoke_timeout_s = invoke_timeout_s
        self.retries = retries
        self.icount_shift = icount_shift
        self.chunk_bytes = chunk_bytes
        self.info: DeviceInfo | None = None
        self.parser = FrameParser(max_payload=64)
        self.resends = 0
        self._seq = 0

    # ---- public API ----
    def hello(self) -> DeviceInfo:
        """Handshake: read the device's model sizes and counter unit, check the protocol version."""
        payload = self._request(MsgType.HELLO, b"", MsgType.HELLO_REPLY, self.timeout_s, 28)
        word0, inp, out, layers, unit, hz, stack = struct.unpack("<7I", payload)
        version, max_rx = word0 & 0xFFFF, word0 >> 16
        if version != PROTOCOL_VERSION:
            raise DeviceError(f"device speaks link protocol v{version}, host speaks v{PROTOCOL_VERSION}",
                              hint="rebuild and reflash the firmware with this edgenas version")
        if unit not in COUNTER_UNITS or max_rx <= 4:
            raise DeviceError(f"device HELLO is malformed (counter unit {unit}, max payload {max_rx})",
                              hint="the firmware does not match this host; rebuild it")
        self.info = DeviceInfo(version, max_rx, inp, out, layers, COUNTER_UNITS[unit], hz, stack)
        self.parser.max_payload = max(64, self.info.result_payload_bytes)
        return self.info

    def load_input(self, data: bytes) -> None:
        """Send the input tensor in chunks; each chunk is acknowledged (and resent if not)."""
        info = self.info or self.hello()
        if len(data) != info.input_bytes:
            raise DeviceError(f"input is {len(data)} bytes but the device's model takes {info.input_bytes}",
                              hint="quantise the input to the model's int8 input shape")
        chunk = info.max_rx_payload - 4
        if self.chunk_bytes is not None:
            chunk = max(1, min(chunk, self.chunk_bytes))
        for offset in range(0, len(data), chunk):
            part = data[offset: offset + chunk]
            ack = self._request(MsgType.LOAD_INPUT, struct.pack("<I", offset) + part, MsgType.ACK,
                                self.timeout_s, 8)
            if struct.unpack("<II", ack) != (offset, len(part)):
                raise DeviceError(f"device acknowledged {struct.unpack('<II', ack)} for chunk ({offset}, {len(part)})",
                                  hint="the firmware does not match this host; rebuild it")

    def invoke(self, input_crc: int) -> RawResult:
        """Run one inference on the loaded input (the device checks it against ``input_crc``)."""
        info = self.info or self.hello()
        payload = self._request(MsgType.INVOKE, struct.pack("<I", input_crc), MsgType.RESULT,
                                self.invoke_timeout_s, info.result_payload_bytes)
        status, total, stack, layers = struct.unpack_from("<iIII", payload)
        counts = struct.unpack_from(f"<{layers}I", payload, 16) if layers == info.num_layers else None
        out_len_at = 16 + 4 * info.num_layers
        (out_len,) = struct.unpack_from("<I", payload, out_len_at)
        if status != 0 or counts is None or out_len != info.output_bytes:
            raise DeviceError(f"device RESULT is inconsistent (status {status}, {layers} layers, {out_len} output bytes)",
                              hint="the firmware does not match this host; rebuild it")
        return RawResult(total, stack, tuple(counts), payload[out_len_at + 4:])

    def run(self, input_bytes: bytes) -> Measurement:
        """Load ``input_bytes``, run one inference and return the measurement (counts scaled to unit)."""
        info = self.info or self.hello()
        want_crc = crc32(input_bytes)
        for _ in range(2):
            self.load_input(input_bytes)
            try:
                raw = self.invoke(want_crc)
                break
            except _InputMismatch:
                continue  # the device lost our input (reset?): load it once more
        else:
            raise DeviceError("device input buffer does not match what was sent, twice",
                              hint="the link is corrupting data the CRC did not catch, or the device resets")
        scale = self.ticks_to_unit(info)
        return Measurement(
            output=raw.output,
            total_count=round(raw.total_ticks * scale),
            per_layer=tuple(round(t * scale) for t in raw.layer_ticks),
            unit=info.counter_unit,
            stack_bytes=raw.stack_bytes,
        )

    def ticks_to_unit(self, info: DeviceInfo) -> float:
        """Counter ticks -> unit: 1 for cycles; for QEMU SysTick, (1e9 / counter_hz) / 2**shift."""
        if info.counter_unit == "cycles":
            return 1.0
        return 1e9 / info.counter_hz / (1 << self.icount_shift)

    # ---- request/response with retries ----
    def _request(self, msg_type: MsgType, payload: bytes, expect: MsgType, timeout_s: float,
                 expect_len: int) -> bytes:
        last = "no reply"
        for attempt in range(self.retries + 1):
            if attempt:
                self.resends += 1
            self._seq = (self._seq + 1) & 0xFF
            seq = self._seq
            self.parser.reset()
            try:
                self.stream.write(encode_frame(msg_type, seq, payload))
                return self._await(seq, expect, timeout_s, expect_len)
            except _Retry as e:
                last = str(e)
            except OSError as e:  # pyserial's SerialException is an OSError too
                raise DeviceError(f"link to the device failed during {msg_type.name}: {e}",
                                  hint="the port was closed or the emulator exited") from e
        raise DeviceError(
            f"no valid {expect.name} reply to {msg_type.name} after {self.retries + 1} attempts "
            f"(last problem: {last})",
            hint="check the board is flashed with edgenas firmware and the port/baud are right; "
                 "for QEMU, check the emulator is running",
        )

    def _await(self, seq: int, expect: MsgType, timeout_s: float, expect_len: int) -> bytes:
        deadline = time.monotonic() + timeout_s
        for frame in self._frames(deadline):
            if frame.seq != seq:
                continue  # stale reply to an earlier attempt
            if frame.type == MsgType.ERROR:
                code, detail = _parse_error(frame.payload)
                if code in (ErrorCode.BAD_CRC, ErrorCode.BAD_LENGTH):
                    raise _Retry(f"device reported {code.name} on our request")
                if code == ErrorCode.INPUT_CRC:
                    raise _InputMismatch()
                raise DeviceError(f"device error {code.name if code else '?'} (detail {detail})",
                                  hint=_ERROR_HINTS.get(code, "see targets/cortex_m/main.c for the code"))
            if frame.type != expect:
                continue
            if len(frame.payload) != expect_len:
                raise _Retry(f"{expect.name} payload is {len(frame.payload)} bytes, expected {expect_len}")
            return frame.payload
        raise _Retry(f"timed out after {timeout_s:.1f} s")

    def _frames(self, deadline: float) -> Iterator[Frame]:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            data = self._read(remaining)
            if data:
                yield from self.parser.feed(data)

    def _read(self, remaining: float) -> bytes:
        self.stream.timeout = min(remaining, 0.1)
        first = self.stream.read(1)
        if not first:
            return b""
        waiting = getattr(self.stream, "in_waiting", 0) or 0
        return first + (self.stream.read(waiting) if waiting else b"")


class _InputMismatch(DeviceError):
    """The device's input buffer CRC differs from the input we sent (run() reloads once)."""

    def __init__(self) -> None:
        super().__init__("device input CRC mismatch", hint="load the input again")


def _parse_error(payload: bytes) -> tuple[ErrorCode | None, int]:
    if len(payload) != 8:
        return None, -1
    code, _reserved, detail = struct.unpack("<HHI", payload)
    try:
        return ErrorCode(code), detail
    except ValueError:
        return None, detail


_ERROR_HINTS = {
    ErrorCode.UNKNOWN_TYPE: "host and firmware disagree on the protocol; rebuild the firmware",
    ErrorCode.BAD_RANGE: "input chunk outside the model's input buffer; rebuild the firmware for this model",
    ErrorCode.MODEL: "en_model_invoke() returned an error status (e.g. EN_ERR_ARENA); check the generated model",
}
