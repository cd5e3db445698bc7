"""How the device link adapts to a noisy line: frame sizes from the observed error rate, and a
reply timeout from the observed round trips.

Both are small estimators with no knowledge of the protocol; :class:`~edgenas.targets.protocol.
DeviceClient` feeds them every attempt.
"""

from __future__ import annotations

import math


class ChunkSizer:
    """Picks a frame's payload size from the error rate and the exchange times seen so far.

    A frame of ``n`` payload bytes gets through a line that damages each byte with probability
    ``p`` with chance about ``exp(-p * (n + o))`` (``o``: framing bytes of request and reply), and
    an exchange takes about ``a + b * n`` seconds (a round trip plus a time per byte). Expected
    time per delivered byte is then smallest at ``n = (sqrt(c**2 + 4 * c / p) - c) / 2`` with
    ``c = a / b``, the round trip counted in bytes: the full size on a clean line, smaller as
    errors grow (at 0.5 % per byte, ~70 bytes when a round trip costs 30 bytes, ~120 when it costs
    150 as under QEMU).

    ``p`` is estimated as failed attempts over bytes attempted; ``a`` and ``b`` by a least-squares
    line through the times of successful exchanges (until sizes have varied, ``c`` is
    ``overhead_bytes``). All sums are decayed per attempt so the size follows a line that gets
    better or worse, and ``prior_bytes`` of clean history make one unlucky frame on a good line
    shrink the size gently, while a run of failures shrinks it fast.

    Args:
        max_bytes: the largest payload the peer accepts (and the size on a clean line).
        min_bytes: never go below this (each frame costs a round trip).
        overhead_bytes: framing of the request and its reply, in bytes.
        decay: weight kept by the history at each new attempt (0.97: roughly the last 30 frames).
        prior_bytes: clean bytes assumed before the first attempt.
    """

    def __init__(self, max_bytes: int, *, min_bytes: int = 16, overhead_bytes: int = 30,
                 decay: float = 0.97, prior_bytes: float = 2048.0) -> None:
        if max_bytes < 1 or min_bytes < 1:
            raise ValueError(f"chunk sizes must be positive, got max {max_bytes}, min {min_bytes}")
        self.max_bytes = max_bytes
        self.min_bytes = min(min_bytes, max_bytes)
        self.overhead_bytes = overhead_bytes
        self.decay = decay
        self._bytes = prior_bytes
        self._failures = 0.0
        self._fit = [0.0] * 5  # decayed sums over successes: w, n, t, n*n, n*t

    @property
    def error_rate(self) -> float:
        """Estimated probability that one byte is damaged."""
        return self._failures / self._bytes if self._bytes > 0 else 0.0

    @property
    def round_trip_bytes(self) -> float:
        """``c``: the fixed cost of one exchange, in bytes' worth of time (framing included)."""
        w, sn, st, snn, snt = self._fit
        if w < 2.0:
            return float(self.overhead_bytes)
        var = snn / w - (sn / w) ** 2
        if var < 1.0:  # every size alike: the slope is unknown
            return float(self.overhead_bytes)
        b = (snt / w - (sn / w) * (st / w)) / var
        a = st / w - b * sn / w
        if b <= 0 or a <= 0:
            return float(self.overhead_bytes)
        return min(self.overhead_bytes + a / b, 50.0 * self.overhead_bytes)

    def size(self) -> int:
        """Payload bytes for the next frame."""
        p = self.error_rate
        if p <= 0.0:
            return self.max_bytes
        c = self.round_trip_bytes
        best = (math.sqrt(c * c + 4.0 * c / p) - c) / 2.0
        return max(self.min_bytes, min(self.max_bytes, int(best)))

    def record(self, payload_bytes: int, ok: bool, seconds: float | None = None) -> None:
        """Account one attempt that carried ``payload_bytes`` and did (not) get through, the
        successful ones with how long the exchange took."""
        d = self.decay
        self._bytes = self._bytes * d + payload_bytes + self.overhead_bytes
        self._failures = self._failures * d + (0.0 if ok else 1.0)
        self._fit = [s * d for s in self._fit]
        if ok and seconds is not None:
            n = float(payload_bytes)
            for i, v in enumerate((1.0, n, seconds, n * n, n * seconds)):
                self._fit[i] += v


class RetransmitTimer:
    """Reply timeout from measured round trips (RFC 6298): ``srtt + 4 * rttvar``, clamped.

    Replies echo their request's seq, so each reply times the try it answers (no ambiguity after
    a resend, unlike TCP's). A timeout doubles the value until the next measurement.

    Args:
        initial_s: the timeout before any measurement, also the ceiling.
        min_s: the floor, so a machine that stalls for a moment does not cause a resend storm.
    """

    def __init__(self, initial_s: float, *, min_s: float = 0.02) -> None:
        self.max_s = initial_s
        self.min_s = min(min_s, initial_s)
        self.srtt: float | None = None
        self.rttvar = 0.0
        self._rto = initial_s

    @property
    def timeout_s(self) -> float:
        return self._rto

    def sample(self, rtt_s: float) -> None:
        if self.srtt is None:
            self.srtt, self.rttvar = rtt_s, rtt_s / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - rtt_s)
            self.srtt = 0.875 * self.srtt + 0.125 * rtt_s
        self._rto = min(self.max_s, max(self.min_s, self.srtt + 4 * self.rttvar))

    def backoff(self) -> None:
        self._rto = min(self.max_s, self._rto * 2)
