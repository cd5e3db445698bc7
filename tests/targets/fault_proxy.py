"""A TCP proxy that damages a byte stream on purpose: drops, duplicates, corrupts and delays bytes.

Sits between QEMU's serial socket and the client. Each direction has its own seeded RNG, so a
given byte sequence meets the same faults every run (thread timing can still shift which bytes
share a read; the fault pattern per byte position does not change).
"""

from __future__ import annotations

import random
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass
class FaultRates:
    drop: float = 0.0
    duplicate: float = 0.0
    corrupt: float = 0.0
    delay: float = 0.0
    delay_s: tuple[float, float] = (0.001, 0.004)


@dataclass
class FaultCounts:
    dropped: int = 0
    duplicated: int = 0
    corrupted: int = 0
    delayed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total(self) -> int:
        return self.dropped + self.duplicated + self.corrupted + self.delayed


class FaultProxy:
    """Listen on ``.port``; on the first client, connect to ``upstream_port`` and pump both ways."""

    def __init__(self, upstream_port: int, rates_down: FaultRates, rates_up: FaultRates, seed: int = 0) -> None:
        self.upstream_port = upstream_port
        self.rates = {"down": rates_down, "up": rates_up}
        self.rngs = {"down": random.Random(seed), "up": random.Random(seed + 1)}
        self.counts = FaultCounts()
        self._listen = socket.socket()
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", 0))
        self._listen.listen(1)
        self.port = self._listen.getsockname()[1]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        client, _ = self._listen.accept()
        upstream = None
        deadline = time.monotonic() + 10
        while upstream is None and time.monotonic() < deadline:
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            except OSError:
                time.sleep(0.05)
        if upstream is None:
            client.close()
            return
        self._socks += [client, upstream]
        for src, dst, name in ((upstream, client, "down"), (client, upstream, "up")):
            t = threading.Thread(target=self._pump, args=(src, dst, name), daemon=True)
            t.start()
            self._threads.append(t)

    def _pump(self, src: socket.socket, dst: socket.socket, direction: str) -> None:
        rates, rng = self.rates[direction], self.rngs[direction]
        src.settimeout(0.05)
        while not self._stop.is_set():
            try:
                data = src.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            out = bytearray()
            for b in data:
                r = rng.random()
                if r < rates.drop:
                    self._bump("dropped")
                    continue
                r -= rates.drop
                if r < rates.corrupt:
                    self._bump("corrupted")
                    out.append(b ^ rng.randrange(1, 256))
                    continue
                r -= rates.corrupt
                out.append(b)
                if r < rates.duplicate:
                    self._bump("duplicated")
                    out.append(b)
                    continue
                r -= rates.duplicate
                if r < rates.delay:
                    self._bump("delayed")
                    self._send(dst, out)
                    out.clear()
                    time.sleep(rng.uniform(*rates.delay_s))
            self._send(dst, out)

    def _send(self, dst: socket.socket, data: bytearray) -> None:
        if data:
            try:
                dst.sendall(bytes(data))
            except OSError:
                self._stop.set()

    def _bump(self, name: str) -> None:
        with self.counts.lock:
            setattr(self.counts, name, getattr(self.counts, name) + 1)

    def close(self) -> None:
        self._stop.set()
        for s in self._socks + [self._listen]:
            try:
                s.close()
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=1)
