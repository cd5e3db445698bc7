"""Frame encoding, the resynchronising parser, and DeviceClient's retry and validation logic.

The client tests drive it with a scripted byte stream (a device stand-in that answers from a
table); the real firmware side is exercised in test_qemu_run.py and test_fault_injection.py.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

import pytest

from edgenas.errors import DeviceError
from edgenas.targets.protocol import (
    MAGIC,
    DeviceClient,
    ErrorCode,
    Frame,
    FrameParser,
    MsgType,
    encode_frame,
)


def test_encode_layout_and_crc():
    f = encode_frame(MsgType.LOAD_INPUT, 0x2A, b"\x01\x02\x03")
    assert f[:2] == MAGIC and f[2] == 0x02 and f[3] == 0x2A and f[4:6] == b"\x03\x00"
    assert f[6:9] == b"\x01\x02\x03"
    assert struct.unpack("<I", f[9:])[0] == zlib.crc32(f[2:9])
    with pytest.raises(ValueError):
        encode_frame(1, 0, bytes(70000))


def test_round_trip_byte_by_byte():
    frames = [encode_frame(MsgType.HELLO, 1), encode_frame(MsgType.RESULT, 2, bytes(range(200)))]
    p = FrameParser()
    got = []
    for b in b"".join(frames):
        got += p.feed(bytes([b]))
    assert got == [Frame(0x01, 1, b""), Frame(0x83, 2, bytes(range(200)))]
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
    outer = MAGIC + struct.pack("<BBH", 0x83, 3, len(inner) + 2) + b"zz" + inner + b"\x00\x00\x00\x00"
    p = FrameParser()
    assert p.feed(outer) == [Frame(0x82, 3, b"inner")]
    assert p.crc_errors == 1


def test_corrupted_byte_fails_crc():
    f = bytearray(encode_frame(MsgType.RESULT, 1, b"payload"))
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
    assert p.feed(MAGIC + b"\x83\x01\xff\xff" + good) == [Frame(0x82, 1, b"x")]


# ---- DeviceClient against a scripted device ----

HELLO_OK = struct.pack("<7I", 1 | (516 << 16), 4, 2, 2, 1, 25_000_000, 8192)


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


def _device(result_fn=None):
    """Answers HELLO, LOAD_INPUT and INVOKE like the firmware (4-byte input, 2 layers, 2-byte output)."""
    state = {"input": bytearray(4)}

    def respond(f: Frame, n: int) -> bytes:
        if f.type == MsgType.HELLO:
            return encode_frame(MsgType.HELLO_REPLY, f.seq, HELLO_OK)
        if f.type == MsgType.LOAD_INPUT:
            off = struct.unpack_from("<I", f.payload)[0]
            state["input"][off: off + len(f.payload) - 4] = f.payload[4:]
            return encode_frame(MsgType.ACK, f.seq, struct.pack("<II", off, len(f.payload) - 4))
        if f.type == MsgType.INVOKE:
            if result_fn:
                return result_fn(f, n, bytes(state["input"]))
            out = bytes(b ^ 0xFF for b in state["input"][:2])
            return encode_frame(MsgType.RESULT, f.seq, struct.pack("<iIIIIII", 0, 100, 64, 2, 40, 60, 2) + out)
        return b""

    return respond


def test_client_run_scales_ticks_to_instructions():
    dev = ScriptedDevice(_device())
    client = DeviceClient(dev, chunk_bytes=3)
    m = client.run(b"\x01\x02\x03\x04")
    assert m.output == b"\xfe\xfd" and m.unit == "instructions"
    assert m.total_count == 4000 and m.per_layer == (1600, 2400) and m.stack_bytes == 64  # 40 instr/tick
    loads = [r for r in dev.requests if r.type == MsgType.LOAD_INPUT]
    assert [struct.unpack_from("<I", r.payload)[0] for r in loads] == [0, 3]


def test_client_retries_after_corrupted_reply_and_ignores_stale_seq():
    def result(f, n, inp):
        good = encode_frame(MsgType.RESULT, f.seq, struct.pack("<iIIIIII", 0, 1, 8, 2, 0, 1, 2) + b"ok")
        if f.seq % 2 == 0 and n < 10:
            bad = bytearray(good)
            bad[-6] ^= 1  # damage the output: CRC must reject it
            stale = encode_frame(MsgType.RESULT, (f.seq - 1) & 0xFF, good[6:-4])
            return bytes(bad) + stale
        return good

    client = DeviceClient(ScriptedDevice(_device(result)), timeout_s=0.2, invoke_timeout_s=0.2)
    client.hello()  # seq 1
    client.load_input(b"abcd")  # seq 2
    m = client.run(b"abcd")  # load seq 3, invoke seq 4 (damaged + stale) -> resend
    assert m.output == b"ok" and client.resends >= 1 and client.parser.crc_errors >= 1


def test_client_raises_after_timeouts_never_returns_garbage():
    def result(f, n, inp):
        return b"\xe5\x4e\x83" + bytes(50)  # always truncated junk

    client = DeviceClient(ScriptedDevice(_device(result)), timeout_s=0.1, invoke_timeout_s=0.1, retries=2)
    with pytest.raises(DeviceError, match=r"no valid RESULT reply to INVOKE after 3 attempts") as e:
        client.run(b"abcd")
    assert "flashed" in e.value.hint


def test_client_rejects_version_mismatch_and_wrong_input_size():
    def respond(f, n):
        return encode_frame(MsgType.HELLO_REPLY, f.seq, struct.pack("<7I", 9 | (516 << 16), 4, 2, 2, 0, 1, 1))

    with pytest.raises(DeviceError, match="protocol v9"):
        DeviceClient(ScriptedDevice(respond)).hello()
    with pytest.raises(DeviceError, match="input is 3 bytes but the device's model takes 4"):
        DeviceClient(ScriptedDevice(_device())).run(b"abc")


def test_device_error_frames_become_device_errors_or_retries():
    calls = {"crc": 0}

    def result(f, n, inp):
        if calls["crc"] < 2:
            calls["crc"] += 1
            return encode_frame(MsgType.ERROR, f.seq, struct.pack("<HHI", ErrorCode.BAD_CRC, 0, 0))
        return encode_frame(MsgType.ERROR, f.seq, struct.pack("<HHI", ErrorCode.MODEL, 0, 3))

    client = DeviceClient(ScriptedDevice(_device(result)), timeout_s=0.2)
    with pytest.raises(DeviceError, match=r"device error MODEL \(detail 3\)"):
        client.run(b"abcd")
    assert client.resends == 2
