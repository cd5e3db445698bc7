"""The Helium (MVE) kernels (runtime_c/src/mve) are bit-exact with the host reference build.

A kernel-server firmware (kernel_server/) is built once for mps3-an547 (Cortex-M55 with MVE, so
the build picks src/mve/ over src/arm/ and src/ref/) and runs batches of random calls in QEMU;
every call's bytes must equal the same call on the host ref build (tests/runtime_c/rt.py), which
test_kernels_vs_tflm checks against TFLite Micro. Shapes are drawn to reach every path and
tail: odd and tiny channel counts, lengths that are not multiples of 16, strides, dilation,
SAME/VALID padding, batches, in place and not; quantisation covers per-tensor and per-channel,
extreme zero points (-128, 127), left shifts, multipliers of 0, huge biases and narrow
activation ranges, so the vector requantisation meets its rounding and saturation edges.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from edgenas.deploy import requant as rq

from . import kernel_server as ks
from . import rt

pytestmark = [
    pytest.mark.board,
    pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                       reason="needs arm-none-eabi-gcc and qemu-system-arm"),
]

BOARD = "mps3-an547"


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # noqa: ANN201 (Firmware)
    from edgenas.boards import BoardRegistry

    board = BoardRegistry(entry_points=False, user_dir=None).get(BOARD)
    assert board.mve
    return ks.build(board, tmp_path_factory.mktemp("mve-server"))


def _zp(rng: np.random.Generator) -> int:
    r = rng.random()
    return -128 if r < 0.15 else 127 if r < 0.3 else int(rng.integers(-128, 128))


def _quant(rng: np.random.Generator, channels: int, taps: int) -> ks.Quant:
    """Random requantisation: mostly the scales of real layers, plus every edge the kernels'
    fast paths must keep exact (per-tensor, left shifts, mult 0, extreme shifts)."""
    per_channel = rng.random() < 0.7
    n = channels if per_channel else 1
    w_scales = rng.uniform(0.001, 0.05, n).astype(np.float32)
    x_s = float(rng.uniform(0.005, 0.1))
    y_s = max(x_s * float(w_scales.mean()) * np.sqrt(taps) * 73.0 * 73.0 * 6 / 255.0 * float(rng.uniform(0.3, 2.0)), 1e-6)
    r = rng.random()
    if r < 0.1:  # real multiplier > 1: shift >= 0
        y_s = x_s * float(w_scales.min()) / float(rng.uniform(1.0, 8.0))
    mults, shifts = (np.array(v, np.int32) for v in rq.conv_quant(x_s, w_scales, float(np.float32(y_s))))
    if r > 0.9:  # raw extremes: any legal multiplier and shift
        mults = rng.integers(1 << 30, (1 << 31) - 1, n, dtype=np.int64).astype(np.int32)
        shifts = rng.integers(-31, 31, n).astype(np.int32)
        mults[rng.random(n) < 0.2] = 0
    y_zp = _zp(rng)
    act = (-128, 127)
    if rng.random() < 0.3:
        lo = int(rng.integers(-128, 100))
        act = (lo, int(rng.integers(lo, 128)))
    return ks.Quant(_zp(rng), y_zp, mults, shifts, act)


def _bias(rng: np.random.Generator, channels: int) -> np.ndarray | None:
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.25:
        return rng.integers(-(2**29), 2**29, channels).astype(np.int32)
    return rng.integers(-20000, 20000, channels).astype(np.int32)


def _check(server, calls: list[ks.Call]) -> list[ks.Result]:  # noqa: ANN001
    results = ks.run(server, calls)
    rt.use("ref")
    for i, (c, r) in enumerate(zip(calls, results)):
        want = c.expected()
        assert r.status == 0, f"call {i} ({c.name}) returned {r.status}"
        diff = np.flatnonzero(r.output != want)
        assert diff.size == 0, (f"call {i} ({c.name}, out {c.out_shape}): {diff.size} values differ, first at "
                                f"{diff[0]}: {r.output.reshape(-1)[diff[0]]} vs ref {want.reshape(-1)[diff[0]]}")
    return results


def test_server_links_the_mve_kernels(server) -> None:  # noqa: ANN001
    names = {p.parent.name + "/" + p.name for p in server.sources}
    assert "mve/fc_s8.c" in names and "arm/fc_s8.c" not in names and "ref/fc_s8.c" not in names


def test_fc_matches_ref(server) -> None:  # noqa: ANN001
    rng = np.random.default_rng(190)
    calls = []
    for i in range(40):
        batches = 1 if i % 4 else int(rng.integers(2, 4))
        cin = int(rng.choice([1, 3, 8, 15, 16, 17, 31, 33, 64, 100, int(rng.integers(1, 300))]))
        cout = int(rng.choice([1, 2, 3, 4, 5, 7, 10, 12, 33, int(rng.integers(1, 64))]))
        x = rng.integers(-128, 128, (batches, cin), dtype=np.int8)
        w = rng.integers(-127, 128, (cout, cin), dtype=np.int8)
        calls.append(ks.fc(x, w, _bias(rng, cout), _quant(rng, cout, cin)))
    _check(server, calls)
