"""A pyserial-like stream that damages bytes on purpose, to test and measure link recovery.

:class:`NoisyStream` wraps any stream :class:`~edgenas.targets.protocol.DeviceClient` can use and
drops, duplicates or flips one bit of bytes in both directions, each with its own seeded RNG that
draws once per byte: the n-th byte written (or read) meets the same fault on every run with the
same seed. (Which bytes a run sends can still differ, since resends depend on timing.)
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class NoiseRates:
    """Per-byte probabilities of each fault."""

    drop: float = 0.0
    duplicate: float = 0.0
    flip: float = 0.0

    @classmethod
    def each(cls, rate: float) -> NoiseRates:
        """The same rate for dropping, duplicating and flipping a bit."""
        return cls(rate, rate, rate)


@dataclass
class NoiseCounts:
    dropped: int = 0
    duplicated: int = 0
    flipped: int = 0
    bytes_seen: int = 0

    @property
    def faults(self) -> int:
        return self.dropped + self.duplicated + self.flipped


@dataclass
class _Direction:
    rates: NoiseRates
    rng: random.Random
    counts: NoiseCounts = field(default_factory=NoiseCounts)

    def damage(self, data: bytes) -> bytes:
        out = bytearray()
        r = self.rates
        for b in data:
            self.counts.bytes_seen += 1
            x = self.rng.random()
            if x < r.drop:
                self.counts.dropped += 1
                continue
            x -= r.drop
            if x < r.flip:
                self.counts.flipped += 1
                out.append(b ^ (1 << self.rng.randrange(8)))
                continue
            x -= r.flip
            out.append(b)
            if x < r.duplicate:
                self.counts.duplicated += 1
                out.append(b)
        return bytes(out)


class NoisyStream:
    """Wraps ``inner`` (a pyserial ``Serial`` or anything with ``read``/``write``/``timeout``).

    Args:
        inner: the real stream.
        up: faults on bytes written (host to device).
        down: faults on bytes read (device to host).
        seed: seeds both directions (down uses ``seed + 1``).

    ``read(size)`` returns at most ``size`` bytes, and may return fewer (even none) before the
    timeout when bytes were dropped: a lossy line does that too.
    """

    def __init__(self, inner, *, up: NoiseRates, down: NoiseRates, seed: int = 0) -> None:  # noqa: ANN001
        self.inner = inner
        self.up = _Direction(up, random.Random(seed))
        self.down = _Direction(down, random.Random(seed + 1))
        self._pending = bytearray()

    @property
    def timeout(self) -> float | None:
        return self.inner.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self.inner.timeout = value

    @property
    def in_waiting(self) -> int:
        return len(self._pending) + (getattr(self.inner, "in_waiting", 0) or 0)

    def write(self, data: bytes) -> int:
        self.inner.write(self.up.damage(bytes(data)))
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if not self._pending:
            self._pending += self.down.damage(self.inner.read(size))
        out = bytes(self._pending[:size])
        del self._pending[:size]
        return out

    def close(self) -> None:
        self.inner.close()
