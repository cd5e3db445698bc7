"""Frame encoding, the resynchronising parser, and DeviceClient's retry and validation logic.

The client tests drive it with a scripted byte stream (a device stand-in that answers like the
firmware and can damage its replies on cue); the real firmware side is exercised in
test_qemu_run.py, test_fault_injection.py and test_noisy_link.py.
"""

from __future__ import annotations

import re
import struct
import time
import zlib
from collections.abc import Callable

import pytest

from edgenas.errors import DeviceError
from edgenas.errors import ArenaOverrunError
from edgenas.targets.adaptive import ChunkSizer, RetransmitTimer
from edgenas.targets.noise import NoiseRates, NoisyStream
from edgenas.targets.protocol import (
    MAGIC,
    PAD,
    DeviceClient,
    ErrorCode,
    Frame,
    FrameParser,
    MsgType,
    crc32,
    encode_frame,
    header_check,
)


def _header(msg_type: int, seq: int, length: int) -> bytes:
    """A frame header with a valid header check (the payload and CRC are up to the caller)."""
    h = struct.pack("<BBH", msg_type, seq, length)
    return MAGIC + h + bytes([header_check(h)])


def test_encode_layout_and_crc():
    f = encode_frame(MsgType.LOAD_INPUT, 0x2A, b"\x01\x02\x03")
    assert f[:2] == MAGIC and f[2] == 0x02 and f[3] == 0x2A and f[4:6] == b"\x03\x00"
    assert f[6] == zlib.crc32(f[2:6]) & 0xFF  # header check
    assert f[7:10] == b"\x01\x02\x03"
    assert struct.unpack("<I", f[10:])[0] == zlib.crc32(f[2:10])
    with pytest.raises(ValueError):
        encode_frame(1, 0, bytes(70000))


def test_round_trip_byte_by_byte():
    frames = [encode_frame(MsgType.HELLO, 1), encode_frame(MsgType.RESULT_DATA, 2, bytes(range(200)))]
    p = FrameParser()
    got = []
    for b in b"".join(frames):
        got += p.feed(bytes([b]))
    assert got == [Frame(0x01, 1, b""), Frame(0x85, 2, bytes(range(200)))]
    assert p.pending == 0 and p.crc_errors == 0


def test_resync_after_garbage_including_false_magic():
    good = encode_frame(MsgType.ACK, 7, b"ok")
    noise = b"\x00\xff" + MAGIC + b"\x01\x09\x05\x00abc" + b"\xe5\xe5"
    p = FrameParser()
    assert p.feed(noise + good) == [Frame(0x82, 7, b"ok")]
    assert p.skipped_bytes >= len(noise)


def test_bad_crc_is_dropped_and_a_frame_inside_it_is_found():
    inner = encode_frame(MsgType.ACK, 3, b"inner")
    # A frame whose declared length swallows the real frame behind it, with a wrong CRC.
    outer = _header(0x85, 3, len(inner) + 2) + b"zz" + inner + b"\x00\x00\x00\x00"
    p = FrameParser()
    assert p.feed(outer) == [Frame(0x82, 3, b"inner")]
    assert p.crc_errors == 1


def test_corrupted_byte_fails_crc():
    f = bytearray(encode_frame(MsgType.RESULT_DATA, 1, b"payload"))
    f[8] ^= 0x40
    p = FrameParser()
    assert p.feed(bytes(f)) == [] and p.crc_errors == 1


def test_truncated_frame_waits_then_completes_or_is_reset():
    f = encode_frame(MsgType.ACK, 5, b"12345678")
    p = FrameParser()
    assert p.feed(f[:-3]) == [] and p.pending == len(f) - 3
    assert p.feed(f[-3:]) == [Frame(0x82, 5, b"12345678")]
    assert p.feed(f[:9]) == []
    p.reset()
    assert p.pending == 0 and p.feed(f) == [Frame(0x82, 5, b"12345678")]


def test_implausible_length_resyncs_instead_of_waiting():
    p = FrameParser(max_payload=64)
    good = encode_frame(MsgType.ACK, 1, b"x")
    assert p.feed(_header(0x83, 1, 0xFFFF) + good) == [Frame(0x82, 1, b"x")]


def test_damaged_length_is_refused_by_the_header_check_not_waited_for():
    """A flipped length bit used to make the receiver wait for bytes that never come."""
    good = encode_frame(MsgType.ACK, 1, b"x")
    bad = bytearray(good)
    bad[5] ^= 0x01  # length 1 -> 257: without the header check, the parser would wait
    p = FrameParser()
    assert p.feed(bytes(bad) + good) == [Frame(0x82, 1, b"x")] and p.pending == 0 and p.crc_errors == 1


def test_pad_bytes_are_not_garbage():
    p = FrameParser()
    f = encode_frame(MsgType.ACK, 1, b"x")
    assert p.feed(f + PAD + f + PAD + b"\x17") == [Frame(0x82, 1, b"x")] * 2
    assert p.pad_bytes == 2 and p.garbage_bytes == 1


# ---- DeviceClient against a scripted device ----

HELLO_OK = struct.pack("<8I", 2 | (516 << 16), 4, 2, 2, 1, 25_000_000, 8192, 64)


class ScriptedDevice:
    """A byte stream that parses host frames and answers via ``respond(frame, n) -> bytes``."""

    def __init__(self, respond: Callable[[Frame, int], bytes]) -> None:
        self.respond = respond
        self.parser = FrameParser()
        self.timeout: float | None = None
        self.out = bytearray()
        self.requests: list[Frame] = []

    def write(self, data: bytes) -> int:
        for frame in self.parser.feed(data):
            self.requests.append(frame)
            self.out += self.respond(frame, len(self.requests))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        chunk = bytes(self.out[:size])
        del self.out[:size]
        return chunk

    @property
    def in_waiting(self) -> int:
        return len(self.out)

    def of(self, msg_type: MsgType) -> list[Frame]:
        return [r for r in self.requests if r.type == msg_type]


def _reply(msg_type: MsgType, seq: int, payload: bytes) -> bytes:
    return encode_frame(msg_type, seq, payload) + PAD


def _device(invoke_fn=None, read_fn=None, result_words=(0, 100, 64, 40, 2, 40, 60, 2)):
    """Answers like the firmware: 4-byte input, 2 layers, 2-byte output, a stored result read in
    pieces, a repeated invoke_id answered from the stored result. ``invoke_fn(f, n, input)`` and
    ``read_fn(f, n, reply)`` may replace or damage a reply; ``state["runs"]`` counts inferences."""
    state = {"input": bytearray(4), "blob": b"", "id": None, "runs": 0}

    def respond(f: Frame, n: int) -> bytes:
        if f.type == MsgType.HELLO:
            return _reply(MsgType.HELLO_REPLY, f.seq, HELLO_OK)
        if f.type == MsgType.LOAD_INPUT:
            off = struct.unpack_from("<I", f.payload)[0]
            state["input"][off: off + len(f.payload) - 4] = f.payload[4:]
            return _reply(MsgType.ACK, f.seq, struct.pack("<II", off, len(f.payload) - 4))
        if f.type == MsgType.INVOKE:
            if invoke_fn:
                special = invoke_fn(f, n, bytes(state["input"]))
                if special is not None:
                    return special
            want, invoke_id = struct.unpack("<II", f.payload)
            replayed = 0
            if want != crc32(bytes(state["input"])):
                return _reply(MsgType.ERROR, f.seq, struct.pack("<HHI", ErrorCode.INPUT_CRC, 0, 0))
            if invoke_id != state["id"]:
                state["runs"] += 1
                out = bytes(b ^ 0xFF for b in state["input"][:2])
                state["blob"], state["id"] = struct.pack("<iIIIIIII", *result_words) + out, invoke_id
            else:
                replayed = 1
            blob = state["blob"]
            return (_reply(MsgType.STARTED, f.seq, struct.pack("<I", invoke_id))
                    + _reply(MsgType.DONE, f.seq, struct.pack("<IIII", invoke_id, len(blob), crc32(blob), replayed)))
        if f.type == MsgType.READ_RESULT:
            at, size = struct.unpack("<II", f.payload)
            reply = _reply(MsgType.RESULT_DATA, f.seq, struct.pack("<I", at) + state["blob"][at: at + size])
            return read_fn(f, n, reply) if read_fn else reply
        return b""

    respond.state = state  # type: ignore[attr-defined]
    return respond


def test_client_run_scales_ticks_to_instructions():
    dev = ScriptedDevice(_device())
    client = DeviceClient(dev, chunk_bytes=3)
    m = client.run(b"\x01\x02\x03\x04")
    assert m.output == b"\xfe\xfd" and m.unit == "instructions"
    assert m.total_count == 4000 and m.per_layer == (1600, 2400) and m.stack_bytes == 64  # 40 instr/tick
    assert m.arena_touched_bytes == 40 and client.info.arena_bytes == 64
    assert [struct.unpack_from("<I", r.payload)[0] for r in dev.of(MsgType.LOAD_INPUT)] == [0, 3]


def test_one_bad_byte_in_the_result_costs_one_re_request_not_the_invoke_timeout():
    """Regression: a single corrupted byte in the RESULT used to cost the whole 60 s invoke timeout."""
    def read(f, n, reply):
        if f.seq % 2 == 0 and n < 12:
            bad = bytearray(reply)
            bad[8] ^= 0x10  # a payload byte: the CRC must reject the piece
            stale = _reply(MsgType.RESULT_DATA, (f.seq - 1) & 0xFF, reply[7:-5])
            return bytes(bad) + stale
        return reply

    respond = _device(read_fn=read)
    dev = ScriptedDevice(respond)
    client = DeviceClient(dev, timeout_s=5.0, invoke_timeout_s=60.0)
    t0 = time.monotonic()
    m = client.run(b"abcd")
    assert time.monotonic() - t0 < 1.0
    assert m.output == bytes(b ^ 0xFF for b in b"ab")
    assert respond.state["runs"] == 1 and len(dev.of(MsgType.INVOKE)) == 1  # the inference ran once
    assert len(dev.of(MsgType.READ_RESULT)) >= 2 and client.parser.crc_errors >= 1


def test_a_reply_that_stops_mid_frame_is_re_requested_once_the_line_is_quiet():
    cut = {"n": 0}

    def read(f, n, reply):
        if cut["n"] == 0:
            cut["n"] += 1
            return reply[:-7]  # two bytes and the pad short: waits for bytes that never come
        return reply

    dev = ScriptedDevice(_device(read_fn=read))
    client = DeviceClient(dev, timeout_s=5.0, idle_s=0.02)
    t0 = time.monotonic()
    assert client.run(b"abcd").output == b"\x9e\x9d"
    assert time.monotonic() - t0 < 1.0 and client.resends == 1


def test_a_lost_done_is_asked_again_with_the_same_invoke_id_and_not_rerun():
    lost = {"n": 0}

    def invoke(f, n, inp):
        if lost["n"] < 2:
            lost["n"] += 1
            return b"\xe5\x4e\x83"  # the start of a DONE, then nothing: the rest was lost
        return None

    respond = _device(invoke_fn=invoke)
    dev = ScriptedDevice(respond)
    client = DeviceClient(dev, timeout_s=0.2, idle_s=0.02)
    assert client.run(b"abcd").output == b"\x9e\x9d"
    ids = {struct.unpack_from("<I", r.payload, 4)[0] for r in dev.of(MsgType.INVOKE)}
    assert len(dev.of(MsgType.INVOKE)) == 3 and len(ids) == 1
    client.run(b"abcd")  # the next inference has a new id, so it really runs
    assert respond.state["runs"] == 2


class SlowDevice(ScriptedDevice):
    """Like ScriptedDevice, but a reply leaves only when its release time has come."""

    def __init__(self, respond: Callable[[Frame, int], list[tuple[float, bytes]]]) -> None:
        super().__init__(lambda f, n: b"")
        self.timed = respond
        self.queue: list[tuple[float, bytes]] = []

    def write(self, data: bytes) -> int:
        for frame in self.parser.feed(data):
            self.requests.append(frame)
            self.queue += self.timed(frame, len(self.requests))
        return len(data)

    def _release(self) -> None:
        now = time.monotonic()
        while self.queue and self.queue[0][0] <= now:
            self.out += self.queue.pop(0)[1]

    def read(self, size: int = 1) -> bytes:
        deadline = time.monotonic() + (self.timeout or 0)
        while not self.out and time.monotonic() < deadline:
            self._release()
            time.sleep(0.001)
        return super().read(size)

    @property
    def in_waiting(self) -> int:
        self._release()
        return len(self.out)


@pytest.mark.slow
def test_a_long_inference_whose_started_was_damaged_is_not_given_up():
    """Until an inference has been timed, silence after INVOKE may be the device computing."""
    base = _device()
    busy_until = [0.0]

    def respond(f, n):
        reply = base(f, n)
        now = time.monotonic()
        if f.type != MsgType.INVOKE:
            return [(max(now, busy_until[0]), reply)]
        if busy_until[0] == 0.0:  # the first INVOKE: STARTED damaged, then 0.6 s of work
            busy_until[0] = now + 0.6
            started_len = len(_reply(MsgType.STARTED, 0, bytes(4)))
            return [(now, b"\x17" + reply[1:started_len]), (busy_until[0], reply[started_len:])]
        return [(max(now, busy_until[0]), reply)]  # asked while busy: answered afterwards

    dev = SlowDevice(respond)
    client = DeviceClient(dev, timeout_s=0.05, invoke_timeout_s=5.0, retries=3, idle_s=0.02)
    assert client.run(b"abcd").output == b"\x9e\x9d"
    assert base.state["runs"] == 1 and len(dev.of(MsgType.INVOKE)) > 4  # more tries than retries, one inference


def test_a_late_reply_to_an_earlier_try_is_accepted():
    first: list[Frame] = []

    def respond(f, n):
        if f.type == MsgType.LOAD_INPUT and not first:
            first.append(f)
            base(f, n)
            return b""  # slow: the answer comes only after the client has resent
        if f.type == MsgType.LOAD_INPUT and len(first) == 1:
            first.append(f)
            base(f, n)
            return _reply(MsgType.ACK, first[0].seq, struct.pack("<II", 0, 4))  # answers try 1 only
        return base(f, n)

    base = _device()
    dev = ScriptedDevice(respond)
    client = DeviceClient(dev, timeout_s=0.1)
    assert client.run(b"abcd").output == b"\x9e\x9d"
    assert len(dev.of(MsgType.LOAD_INPUT)) == 2 and client.resends == 1


def test_client_raises_after_timeouts_never_returns_garbage():
    def invoke(f, n, inp):
        return b"\xe5\x4e\x83" + bytes(50)  # always truncated junk

    client = DeviceClient(ScriptedDevice(_device(invoke_fn=invoke)), timeout_s=0.1, invoke_timeout_s=0.1,
                          retries=2, idle_s=0.02)
    t0 = time.monotonic()
    with pytest.raises(DeviceError, match=r"no valid DONE reply to INVOKE after \d+ attempts") as e:
        client.run(b"abcd")
    assert "flashed" in e.value.hint and time.monotonic() - t0 < 1.0


def test_client_rejects_version_mismatch_and_wrong_input_size():
    def respond(f, n):
        return _reply(MsgType.HELLO_REPLY, f.seq, struct.pack("<7I", 1 | (516 << 16), 4, 2, 2, 0, 1, 1))

    with pytest.raises(DeviceError, match="protocol v1, host speaks v2"):
        DeviceClient(ScriptedDevice(respond)).hello()
    with pytest.raises(DeviceError, match="input is 3 bytes but the device's model takes 4"):
        DeviceClient(ScriptedDevice(_device())).run(b"abc")


def test_device_error_frames_become_device_errors_or_retries():
    calls = {"crc": 0}

    def invoke(f, n, inp):
        if calls["crc"] < 2:
            calls["crc"] += 1
            return _reply(MsgType.ERROR, f.seq, struct.pack("<HHI", ErrorCode.BAD_CRC, 0, 0))
        return _reply(MsgType.ERROR, f.seq, struct.pack("<HHI", ErrorCode.MODEL, 0, 3))

    client = DeviceClient(ScriptedDevice(_device(invoke_fn=invoke)), timeout_s=0.2)
    with pytest.raises(DeviceError, match=r"device error MODEL \(detail 3\)"):
        client.run(b"abcd")
    assert client.resends == 2


@pytest.mark.parametrize("side, words", [(0, "1 byte(s) past the end of its 64-byte arena"),
                                         (1, "1 byte(s) before the start of its 64-byte arena")])
def test_arena_overrun_frame_fails_the_run_naming_the_bytes(side, words):
    def invoke(f, n, inp):
        return _reply(MsgType.ERROR, f.seq, struct.pack("<HHI", ErrorCode.ARENA_OVERRUN, side, 1))

    with pytest.raises(ArenaOverrunError, match=re.escape(words)) as e:
        DeviceClient(ScriptedDevice(_device(invoke_fn=invoke))).run(b"abcd")
    assert e.value.reach_bytes == 1 and e.value.arena_bytes == 64 and e.value.hint


def test_result_is_only_accepted_intact_end_to_end():
    """Pieces that each pass their CRC but do not add up to the device's result are refused."""
    def read(f, n, reply):
        body = bytearray(reply[7:-5])
        body[-1] ^= 1  # a wrong but well-framed piece
        return _reply(MsgType.RESULT_DATA, f.seq, bytes(body))

    with pytest.raises(DeviceError, match="end-to-end CRC"):
        DeviceClient(ScriptedDevice(_device(read_fn=read))).run(b"abcd")


# ---- adaptation ----

def test_chunk_size_shrinks_after_failures_and_grows_back_on_a_clean_line():
    s = ChunkSizer(512)
    assert s.size() == 512
    for _ in range(6):
        s.record(s.size(), ok=False)
    small = s.size()
    assert 16 <= small < 128
    for _ in range(300):
        s.record(s.size(), ok=True)
    assert s.size() == 512


def test_chunk_size_tracks_the_error_rate():
    sizes = {}
    for p in (0.001, 0.006, 0.03):
        s = ChunkSizer(512, overhead_bytes=30, decay=0.999, prior_bytes=0.0)
        s.record(int(1 / p) - 30, ok=False)  # one failure per 1/p bytes
        sizes[p] = s.size()
    assert 512 >= sizes[0.001] > sizes[0.006] > sizes[0.03] >= 16
    assert 50 <= sizes[0.006] <= 65  # (sqrt(c^2 + 4c/p) - c) / 2 with c = 30: 57


def test_chunk_size_counts_the_round_trip_when_exchanges_are_slow():
    """Each exchange costing a long round trip (QEMU: ~150 bytes' worth) favours bigger frames."""
    fast, slow = ChunkSizer(512, prior_bytes=0.0), ChunkSizer(512, prior_bytes=0.0)
    for n in (64, 128, 256, 64, 128, 256):
        fast.record(n, ok=True, seconds=0.001 + 0.00005 * n)  # 30 bytes of framing only
        slow.record(n, ok=True, seconds=0.0075 + 0.00005 * n)  # +150 bytes of round trip
    for s in (fast, slow):
        s.record(60, ok=False)
    assert slow.round_trip_bytes > 150 and fast.round_trip_bytes < 60
    assert slow.size() > fast.size()


def test_retransmit_timer_learns_the_round_trip_and_backs_off():
    t = RetransmitTimer(2.0, min_s=0.1)
    assert t.timeout_s == 2.0
    for _ in range(20):
        t.sample(0.01)
    assert t.timeout_s == 0.1
    t.backoff()
    t.backoff()
    assert t.timeout_s == pytest.approx(0.4)
    for _ in range(50):
        t.sample(0.5)
    assert 0.5 <= t.timeout_s <= 2.0


def test_noisy_stream_is_seeded_per_byte_and_counts_its_faults():
    class Sink:
        timeout = None

        def __init__(self) -> None:
            self.data = b""

        def write(self, d: bytes) -> int:
            self.data += d
            return len(d)

    outs = []
    for _ in range(2):
        sink = Sink()
        s = NoisyStream(sink, up=NoiseRates.each(0.05), down=NoiseRates(), seed=3)
        for i in range(0, 4000, 100):
            s.write(bytes(range(i % 256, i % 256 + 100)) if i % 256 + 100 <= 256 else bytes(100))
        outs.append(sink.data)
    assert outs[0] == outs[1]
    c = s.up.counts
    assert c.bytes_seen == 4000 and all(150 <= v <= 250 for v in (c.dropped, c.duplicated, c.flipped))
    assert len(outs[0]) == 4000 - c.dropped + c.duplicated
