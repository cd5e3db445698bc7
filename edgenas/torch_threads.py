"""Scoped torch CPU thread count: small models gain nothing from threads on a shared CPU, and
float sums depend on how work is split between threads."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

DETERMINISTIC_THREADS = 1
"""Threads for everything that ends up in firmware (BN statistics, fine-tuned weights, quantization
ranges): a fixed count keeps it byte-identical on machines with any number of cores."""


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run with ``n`` torch CPU threads (0: unchanged), restoring the previous count after."""
    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
