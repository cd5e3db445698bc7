"""Keep freed memory in the process while training on a CPU.

A training step allocates and frees activation tensors of tens to hundreds of MB (a 512-image
batch at 48 px). glibc serves such blocks with ``mmap`` and unmaps them on ``free``, so every step
page-faults all of them back in; with ``M_MMAP_MAX`` 0 and a trim threshold no step reaches, the
blocks stay on the heap and are reused. Measured on this project's 2-core CPU, one thread, an r48
w1 subnet at batch 512: 1.55 -> 1.39 s a step, minor page faults halved, weights bit-identical
(allocation never changes arithmetic). The price is that the process keeps its peak heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
"""glibc's ``mallopt`` parameters (malloc.h)."""

TRIM_THRESHOLD = 1 << 30
"""Free heap above this is returned to the kernel: more than any training step frees."""

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc reuse freed blocks instead of unmapping them (once per process); False where the
    C library is not glibc (other platforms keep their allocator's behaviour)."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    _applied = mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    return _applied
