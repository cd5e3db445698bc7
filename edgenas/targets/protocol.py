"""The host side of the framed device link (see targets/cortex_m/main.c for the device side).

Frame, all integers little-endian::

    magic E5 4E | type u8 | seq u8 | length u16 | hcheck u8 | payload[length] | crc32 u32 | pad 00

``hcheck`` is the low byte of the CRC-32 of type, seq and length: a damaged header, above all a
damaged length, is refused at once instead of waiting for the bytes it claims. The CRC-32 (zlib)
covers everything from type to the end of the payload. Replies echo the request's ``seq``. The
pad byte is idle filler skipped between frames: if the line drops a byte of a frame, the pad
completes it and the receiver sees a bad CRC at once instead of waiting for the missing byte. The
parser resynchronises after garbage by rescanning its buffer for the next magic, so a corrupt or
truncated frame costs only itself. The device answers a damaged request with a BAD_CRC error
(also a request that lost its magic: garbage, then a quiet line), so the host resends at once.

:class:`DeviceClient` never waits out a whole inference for a reply that was damaged: every
exchange is timed per frame (a timeout learned from round trips), a reply that fails its CRC or
stops mid-frame is re-requested at once, input and result travel in pieces sized to the error
rate seen so far (:mod:`~edgenas.targets.adaptive`), and the result stays on the device until it
has been read intact (each piece CRC-checked, then the whole result against the CRC the device
computed). It raises DeviceError rather than return a damaged result.
"""

from __future__ import annotations

import enum
import os
import struct
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..errors import ArenaOverrunError, DeviceError
from .adaptive import ChunkSizer, RetransmitTimer
from .measurement import Measurement

PROTOCOL_VERSION = 2
MAGIC = b"\xe5\x4e"
PAD = b"\x00"
HEADER_BYTES = 7  # magic, type, seq, length, hcheck
CRC_BYTES = 4
MAX_PAYLOAD = 0xFFFF
HELLO_BYTES = 32
RESULT_HEADER_BYTES = 24  # status, total, stack, arena touched, num_layers, output_len (+ 4 per layer)
# Request and reply framing around one LOAD_INPUT or READ_RESULT payload, for the chunk sizer.
EXCHANGE_OVERHEAD_BYTES = 30


class MsgType(enum.IntEnum):
    HELLO = 0x01
    LOAD_INPUT = 0x02
    INVOKE = 0x03
    READ_RESULT = 0x04
    HELLO_REPLY = 0x81
    ACK = 0x82
    DONE = 0x83
    STARTED = 0x84
    RESULT_DATA = 0x85
    ERROR = 0x7F


class ErrorCode(enum.IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    UNKNOWN_TYPE = 3
    BAD_RANGE = 4
    INPUT_CRC = 5
    MODEL = 6
    ARENA_OVERRUN = 7
    NO_RESULT = 8


COUNTER_UNITS = {0: "cycles", 1: "instructions"}


@dataclass(frozen=True)
class Frame:
    type: int
    seq: int
    payload: bytes


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def header_check(header: bytes) -> int:
    """``hcheck`` of a header's type, seq and length (4 bytes)."""
    return crc32(header) & 0xFF


def encode_frame(msg_type: int, seq: int, payload: bytes = b"") -> bytes:
    """Serialise one frame (without the trailing pad byte)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    header = struct.pack("<BBH", msg_type, seq & 0xFF, len(payload))
    body = header + bytes([header_check(header)]) + payload
    return MAGIC + body + struct.pack("<I", crc32(body))


class FrameParser:
    """Incremental frame decoder with resynchronisation.

    Args:
        max_payload: lengths above this are treated as corruption (resync) instead of waiting
            for bytes that will never come; the client tightens it once it knows the model.

    ``skipped_bytes`` counts every byte dropped outside a frame, ``pad_bytes`` the pad bytes
    among them: ``garbage_bytes`` (the rest) is what noise left behind.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self.crc_errors = 0
        self.skipped_bytes = 0
        self.pad_bytes = 0

    def reset(self) -> None:
        """Drop any partial frame (the client does this when a reply stopped mid-frame)."""
        self._drop(len(self._buf))

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def garbage_bytes(self) -> int:
        return self.skipped_bytes - self.pad_bytes

    def feed(self, data: bytes) -> list[Frame]:
        """Add bytes; return every complete, CRC-valid frame now available, in order."""
        self._buf += data
        frames = []
        while True:
            start = self._buf.find(MAGIC)
            if start < 0:
                # Keep a trailing first magic byte: the second may arrive next.
                keep = 1 if self._buf[-1:] == MAGIC[:1] else 0
                self._drop(len(self._buf) - keep)
                return frames
            if start:
                self._drop(start)
            if len(self._buf) < HEADER_BYTES:
                return frames
            msg_type, seq, length = struct.unpack_from("<BBH", self._buf, 2)
            if header_check(bytes(self._buf[2:6])) != self._buf[6]:
                self.crc_errors += 1
                self._drop(1)
                continue
            if length > self.max_payload:
                self._drop(1)
                continue
            end = HEADER_BYTES + length + CRC_BYTES
            if len(self._buf) < end:
                return frames
            (want,) = struct.unpack_from("<I", self._buf, end - CRC_BYTES)
            if crc32(bytes(self._buf[2: end - CRC_BYTES])) != want:
                self.crc_errors += 1
                self._drop(1)  # rescan: a real frame may start inside the bad one
                continue
            frames.append(Frame(msg_type, seq, bytes(self._buf[HEADER_BYTES: end - CRC_BYTES])))
            del self._buf[:end]

    def _drop(self, n: int) -> None:
        self.skipped_bytes += n
        self.pad_bytes += self._buf[:n].count(PAD[0])
        del self._buf[:n]


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
    arena_bytes: int = 0

    @property
    def result_payload_bytes(self) -> int:
        return RESULT_HEADER_BYTES + 4 * self.num_layers + self.output_bytes


@dataclass(frozen=True)
class RawResult:
    """A device's result, counts still in raw counter ticks."""

    total_ticks: int
    stack_bytes: int
    layer_ticks: tuple[int, ...]
    output: bytes
    arena_touched_bytes: int = 0


@dataclass(frozen=True)
class _Done:
    invoke_id: int
    result_bytes: int
    result_crc: int
    replayed: int  # 1: answered from the stored result (a resent INVOKE), so not timed
    seq: int = 0


@dataclass(frozen=True)
class _Wait:
    """A reply that is not the answer but says the answer is coming: wait ``seconds`` more."""

    seconds: float


class _Retry(Exception):
    """Internal: the reply was lost or damaged; send the request again."""


class DeviceClient:
    """Talks to one device over a byte stream.

    Args:
        stream: a pyserial-like object (``Serial`` or ``serial_for_url("socket://...")``).
        timeout_s: the longest wait for one reply frame; the wait actually used is learned from
            round trips (:class:`~edgenas.targets.adaptive.RetransmitTimer`) and starts here.
        invoke_timeout_s: how long an inference may run before the INVOKE is sent again (after the
            first inference, about three times its duration is used instead, up to this).
        retries: extra attempts per exchange (one frame and its reply) before giving up; a piece of
            input or result gets twice as many, since each retry of it is smaller and cheap.
        icount_shift: QEMU ``-icount shift`` used, to turn SysTick ticks into instructions
            (one instruction = 2**shift ns of virtual time).
        chunk_bytes: the most input bytes per LOAD_INPUT frame (default: the most the device
            accepts); the client goes smaller by itself when frames get damaged.
        idle_s: a reply that stopped mid-frame (or left only garbage) is re-requested once the
            line has been quiet this long.
    """

    def __init__(self, stream: ByteStream, *, timeout_s: float = 2.0, invoke_timeout_s: float = 60.0,
                 retries: int = 10, icount_shift: int = 0, chunk_bytes: int | None = None,
                 idle_s: float = 0.03) -> None:
        self.stream = stream
        self.timeout_s = timeout_s
        self.invoke_timeout_s = invoke_timeout_s
        self.retries = retries
        self.icount_shift = icount_shift
        self.chunk_bytes = chunk_bytes
        self.idle_s = idle_s
        self.info: DeviceInfo | None = None
        self.parser = FrameParser(max_payload=64)
        self.timer = RetransmitTimer(timeout_s)
        self.up: ChunkSizer | None = None
        self.down: ChunkSizer | None = None
        self.resends = 0
        self._seq = 0
        # A fresh id space per client, so a board that kept its last result from an earlier
        # session never answers our first INVOKE from it.
        self._invoke_id = int.from_bytes(os.urandom(4), "little")
        self._compute_s: float | None = None

    # ---- public API ----
    def hello(self) -> DeviceInfo:
        """Handshake: read the device's model sizes and counter unit, check the protocol version."""
        def match(f: Frame, _: object) -> bytes | None:
            return f.payload if f.type == MsgType.HELLO_REPLY and len(f.payload) >= 4 else None

        payload = self._transact(MsgType.HELLO, lambda k: (b"", None, 0), match, "HELLO_REPLY")
        word0 = struct.unpack_from("<I", payload)[0]
        version, max_rx = word0 & 0xFFFF, word0 >> 16
        if version != PROTOCOL_VERSION:
            raise DeviceError(f"device speaks link protocol v{version}, host speaks v{PROTOCOL_VERSION}",
                              hint="rebuild and reflash the firmware with this edgenas version")
        if len(payload) != HELLO_BYTES:
            raise DeviceError(f"device HELLO is {len(payload)} bytes, expected {HELLO_BYTES}",
                              hint="the firmware does not match this host; rebuild it")
        _, inp, out, layers, unit, hz, stack, arena = struct.unpack("<8I", payload)
        if unit not in COUNTER_UNITS or max_rx <= 4:
            raise DeviceError(f"device HELLO is malformed (counter unit {unit}, max payload {max_rx})",
                              hint="the firmware does not match this host; rebuild it")
        self.info = DeviceInfo(version, max_rx, inp, out, layers, COUNTER_UNITS[unit], hz, stack, arena)
        self.parser.max_payload = max(64, 4 + self.info.result_payload_bytes)
        up_max = max_rx - 4 if self.chunk_bytes is None else max(1, min(max_rx - 4, self.chunk_bytes))
        self.up = ChunkSizer(up_max, overhead_bytes=EXCHANGE_OVERHEAD_BYTES)
        self.down = ChunkSizer(self.info.result_payload_bytes, overhead_bytes=EXCHANGE_OVERHEAD_BYTES)
        return self.info

    def load_input(self, data: bytes) -> None:
        """Send the input tensor in pieces; each is acknowledged (and resent, smaller, if not)."""
        info = self.info or self.hello()
        if len(data) != info.input_bytes:
            raise DeviceError(f"input is {len(data)} bytes but the device's model takes {info.input_bytes}",
                              hint="quantise the input to the model's int8 input shape")
        assert self.up is not None
        offset = 0
        while offset < len(data):
            def attempt(k: int, at: int = offset) -> tuple[bytes, tuple[int, int], int]:
                n = min(_shrunk(self.up, k), len(data) - at)
                return struct.pack("<I", at) + data[at: at + n], (at, n), n

            offset += self._transact(MsgType.LOAD_INPUT, attempt, _match_ack, "ACK", sizer=self.up,
                                     retries=2 * self.retries)

    def invoke(self, input_crc: int) -> RawResult:
        """Run one inference on the loaded input (the device checks it against ``input_crc``),
        then read its result."""
        info = self.info or self.hello()
        self._invoke_id = (self._invoke_id + 1) & 0xFFFFFFFF
        invoke_id = self._invoke_id
        payload = struct.pack("<II", input_crc, invoke_id)
        started: dict[int, float] = {}  # seq -> when its STARTED came

        def match(f: Frame, _: object) -> _Done | _Wait | None:
            if f.type not in (MsgType.STARTED, MsgType.DONE) or len(f.payload) < 4:
                return None
            if struct.unpack_from("<I", f.payload)[0] != invoke_id:
                return None
            if f.type == MsgType.STARTED:
                started.setdefault(f.seq, time.monotonic())
                return _Wait(self._compute_wait_s())
            if len(f.payload) != 16:
                raise _Retry(f"DONE payload is {len(f.payload)} bytes, expected 16")
            return _Done(*struct.unpack("<IIII", f.payload), seq=f.seq)

        # Until an inference has been timed, a busy device (whose STARTED the line damaged) and a
        # lost INVOKE look alike: keep asking for as long as an inference may take.
        done = self._transact(MsgType.INVOKE, lambda k: (payload, None, 0), match, "DONE",
                              min_total_s=self._compute_wait_s())
        if not done.replayed and done.seq in started:  # STARTED and DONE of the run that computed
            took = time.monotonic() - started[done.seq]
            self._compute_s = took if self._compute_s is None else 0.5 * (self._compute_s + took)
        if done.result_bytes != info.result_payload_bytes:
            raise DeviceError(f"device result is {done.result_bytes} bytes, expected {info.result_payload_bytes}",
                              hint="the firmware does not match this host; rebuild it")
        blob = self._read_result(done)
        return self._parse_result(blob, info)

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
            arena_touched_bytes=raw.arena_touched_bytes,
        )

    def ticks_to_unit(self, info: DeviceInfo) -> float:
        """Counter ticks -> unit: 1 for cycles; for QEMU SysTick, (1e9 / counter_hz) / 2**shift."""
        if info.counter_unit == "cycles":
            return 1.0
        return 1e9 / info.counter_hz / (1 << self.icount_shift)

    # ---- the result, in pieces ----
    def _read_result(self, done: _Done) -> bytes:
        assert self.down is not None
        for _ in range(2):
            blob = bytearray(done.result_bytes)
            have = 0
            while have < done.result_bytes:
                def attempt(k: int, at: int = have) -> tuple[bytes, tuple[int, int], int]:
                    n = min(_shrunk(self.down, k), done.result_bytes - at)
                    return struct.pack("<II", at, n), (at, n), n

                at, piece = self._transact(MsgType.READ_RESULT, attempt, _match_result_data, "RESULT_DATA",
                                           sizer=self.down, retries=2 * self.retries)
                blob[at: at + len(piece)] = piece
                have = at + len(piece)
            if crc32(bytes(blob)) == done.result_crc:
                return bytes(blob)
        raise DeviceError("device result failed its end-to-end CRC twice although every piece passed its own",
                          hint="the device changed its result while it was read; check nothing else talks to it")

    def _parse_result(self, blob: bytes, info: DeviceInfo) -> RawResult:
        status, total, stack, touched, layers = struct.unpack_from("<iIIII", blob)
        counts = struct.unpack_from(f"<{layers}I", blob, 20) if layers == info.num_layers else None
        out_len_at = 20 + 4 * info.num_layers
        (out_len,) = struct.unpack_from("<I", blob, out_len_at)
        if status != 0 or counts is None or out_len != info.output_bytes or touched > info.arena_bytes:
            raise DeviceError(f"device result is inconsistent (status {status}, {layers} layers, {out_len} output "
                              f"bytes, {touched} arena bytes touched of {info.arena_bytes})",
                              hint="the firmware does not match this host; rebuild it")
        return RawResult(total, stack, tuple(counts), blob[out_len_at + 4:], touched)

    # ---- one exchange: a request frame and its reply, with retries ----
    def _transact(self, msg_type: MsgType, attempt: Callable[[int], tuple[bytes, object, int]],
                  match: Callable[[Frame, object], object], reply: str, *, sizer: ChunkSizer | None = None,
                  min_total_s: float = 0.0, retries: int | None = None):
        """Send ``msg_type`` until a reply is accepted; return what ``match`` made of it.

        ``attempt(k)`` builds try ``k``'s payload (so a resend can be smaller): ``(payload, expect,
        chunk_bytes)``. ``match(frame, expect)`` sees reply frames carrying the seq of any try,
        with that try's ``expect`` (a late reply to an earlier try is as good as any); it returns
        the value, None to keep waiting, or a :class:`_Wait` to extend the wait. Gives up after
        ``retries`` resends (default: the client's), but not before ``min_total_s`` have passed.
        """
        retries = self.retries if retries is None else retries
        tries: dict[int, tuple[object, float]] = {}
        last = "no reply"
        start = time.monotonic()
        n = -1
        while True:
            n += 1
            if n > retries and time.monotonic() - start >= min_total_s:
                break
            payload, expect, chunk = attempt(n)
            self._seq = (self._seq + 1) & 0xFF
            if n:
                self.resends += 1
            began = time.monotonic()
            try:
                value, took_s = self._attempt(encode_frame(msg_type, self._seq, payload), self._seq, expect,
                                              tries, match, msg_type)
            except _Retry as e:
                last = str(e)
                if sizer is not None:
                    sizer.record(chunk, ok=False)
                if n >= retries:  # past the retries (waiting out min_total_s): one try per timeout
                    time.sleep(max(0.0, began + self.timer.timeout_s - time.monotonic()))
                continue
            if sizer is not None:
                sizer.record(chunk, ok=True, seconds=took_s)
            return value
        raise DeviceError(
            f"no valid {reply} reply to {msg_type.name} after {n} attempts "
            f"(last problem: {last})",
            hint="check the board is flashed with edgenas firmware and the port/baud are right; "
                 "for QEMU, check the emulator is running",
        )

    def _attempt(self, frame: bytes, seq: int, expect: object, tries: dict[int, tuple[object, float]],
                 match: Callable[[Frame, object], object], msg_type: MsgType) -> tuple[object, float]:
        """One try: send ``frame`` and wait for a reply to it or to an earlier try (``tries``, to
        which this one is added). Returns the matched value and the accepted reply's round trip."""
        sent = time.monotonic()
        tries[seq] = (expect, sent)
        try:
            self.stream.write(frame + PAD)
        except OSError as e:  # pyserial's SerialException is an OSError too
            raise DeviceError(f"link to the device failed during {msg_type.name}: {e}",
                              hint="the port was closed or the emulator exited") from e
        deadline = sent + self.timer.timeout_s
        idle_s = self._idle_s()
        answered = False  # any reply to this request yet (then a timeout is not the line's RTT)
        garbage, crc_errors = self.parser.garbage_bytes, self.parser.crc_errors
        last_rx, heard = sent, False
        while True:
            now = time.monotonic()
            damaged = heard and (self.parser.garbage_bytes > garbage or self.parser.pending > 0)
            if damaged and now - last_rx >= idle_s:
                self.parser.reset()  # nothing more came: the partial frame is hopeless
                raise _Retry("a reply stopped mid-frame or arrived as garbage")
            if now >= deadline:
                if not answered:
                    self.timer.backoff()
                raise _Retry(f"no reply within {deadline - sent:.2f} s")
            wait = deadline - now
            if damaged:
                wait = min(wait, idle_s - (now - last_rx))
            data = self._read(wait)
            if not data:
                continue
            last_rx, heard = time.monotonic(), True
            for f in self.parser.feed(data):
                if f.type == MsgType.ERROR and _is_line_error(f):
                    # Whatever its seq: the seq byte of our request may be the one the line damaged.
                    raise _Retry("device reported a damaged request")
                if f.seq not in tries:
                    continue  # stale: a reply to an earlier exchange
                if f.type == MsgType.ERROR:
                    self._device_error(f)
                try_expect, try_sent = tries[f.seq]
                value = match(f, try_expect)
                if value is None:
                    continue
                took = time.monotonic() - try_sent
                if not answered:
                    self.timer.sample(took)  # the seq says which try this answers
                answered = True
                if isinstance(value, _Wait):
                    deadline = time.monotonic() + value.seconds
                    garbage, crc_errors = self.parser.garbage_bytes, self.parser.crc_errors
                    continue
                return value, took
            if self.parser.crc_errors > crc_errors:
                raise _Retry("a reply failed its CRC check")  # ask again now; bytes still in flight stay buffered

    def _idle_s(self) -> float:
        """Quiet time after which a partial reply is given up: ``idle_s``, or less on a line whose
        round trips are short (bytes of one frame never pause longer than a round trip)."""
        srtt = self.timer.srtt
        return self.idle_s if srtt is None else min(self.idle_s, max(0.01, 2 * srtt))

    def _compute_wait_s(self) -> float:
        """How long to wait for DONE after STARTED: unknown at first, then ~3x the last inference."""
        if self._compute_s is None:
            return self.invoke_timeout_s
        return min(self.invoke_timeout_s, 3.0 * self._compute_s + self.timer.timeout_s + 0.2)

    def _device_error(self, f: Frame) -> None:
        code, side, detail = _parse_error(f.payload)
        if code == ErrorCode.INPUT_CRC:
            raise _InputMismatch()
        if code == ErrorCode.ARENA_OVERRUN:
            arena = self.info.arena_bytes if self.info else 0
            raise ArenaOverrunError.at("on the device", "below" if side else "above", detail, arena)
        raise DeviceError(f"device error {code.name if code else '?'} (detail {detail})",
                          hint=_ERROR_HINTS.get(code, "see targets/cortex_m/main.c for the code"))

    def _read(self, remaining: float) -> bytes:
        # Short reads so the idle and deadline checks run often; a byte ends the wait at once.
        self.stream.timeout = max(0.001, min(remaining, self.idle_s / 2))
        first = self.stream.read(1)
        if not first:
            return b""
        waiting = getattr(self.stream, "in_waiting", 0) or 0
        return first + (self.stream.read(waiting) if waiting else b"")


def _shrunk(sizer: ChunkSizer, retry: int) -> int:
    """The sizer's choice, halved at each retry of one piece: the sizer trades failures for
    fewer round trips on average, but a streak of failures must end before the retries do."""
    return max(sizer.min_bytes, sizer.size() >> retry)


def _is_line_error(f: Frame) -> bool:
    code, _, _ = _parse_error(f.payload)
    return code in (ErrorCode.BAD_CRC, ErrorCode.BAD_LENGTH)


def _match_ack(f: Frame, expect: object) -> int | None:
    """An ACK of exactly the piece that try sent: the number of input bytes now on the device."""
    if f.type != MsgType.ACK:
        return None
    if len(f.payload) != 8 or struct.unpack("<II", f.payload) != expect:
        raise DeviceError(f"device acknowledged {f.payload.hex()} for input piece {expect}",
                          hint="the firmware does not match this host; rebuild it")
    return expect[1]  # type: ignore[index]  # every try starts at the same offset


def _match_result_data(f: Frame, expect: object) -> tuple[int, bytes] | None:
    if f.type != MsgType.RESULT_DATA:
        return None
    at, n = expect  # type: ignore[misc]
    if len(f.payload) != 4 + n or struct.unpack_from("<I", f.payload)[0] != at:
        raise _Retry(f"RESULT_DATA for ({at}, {n}) has the wrong offset or size")
    return at, f.payload[4:]


class _InputMismatch(DeviceError):
    """The device's input buffer CRC differs from the input we sent (run() reloads once)."""

    def __init__(self) -> None:
        super().__init__("device input CRC mismatch", hint="load the input again")


def _parse_error(payload: bytes) -> tuple[ErrorCode | None, int, int]:
    if len(payload) != 8:
        return None, 0, -1
    code, side, detail = struct.unpack("<HHI", payload)
    try:
        return ErrorCode(code), side, detail
    except ValueError:
        return None, side, detail


_ERROR_HINTS = {
    ErrorCode.UNKNOWN_TYPE: "host and firmware disagree on the protocol; rebuild the firmware",
    ErrorCode.BAD_RANGE: "a request outside the device's buffers; rebuild the firmware for this model",
    ErrorCode.MODEL: "en_model_invoke() returned an error status (e.g. EN_ERR_ARENA); check the generated model",
    ErrorCode.NO_RESULT: "the device holds no result (it reset, or the inference failed); run it again",
}
