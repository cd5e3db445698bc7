"""keep_freed_memory: a freed large block is reused, not page-faulted back in."""

from __future__ import annotations

import subprocess
import sys

import pytest

# Allocate, touch and free a 64 MB block, then count the minor page faults of doing it again.
PROBE = """
import ctypes, resource, sys
from edgenas.supernet.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
size = 64 << 20
def round_trip():
    p = libc.malloc(size)
    ctypes.memset(p, 1, size)
    libc.free(p)
round_trip()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
round_trip()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_block_is_reused_without_page_faults() -> None:
    pages = (64 << 20) // 4096
    default = _faults("default")
    if default < pages // 4:  # transparent huge pages ("always") back the block: few faults to save
        pytest.skip(f"{default} faults for {pages} pages without keep_freed_memory")
    assert _faults("keep") < pages // 50
