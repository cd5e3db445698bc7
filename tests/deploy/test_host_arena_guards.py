"""Arena guards and paint in the host build: a broken model (a stray write, or a plan whose arena
is too small) fails with ArenaOverrunError naming the bytes; a good one reports the arena it touched."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from edgenas.deploy import build_host, compile_graph, read_tflite
from edgenas.errors import ArenaOverrunError

KWS = Path("/work/shared/models/mlperf-tiny/kws_dscnn_int8.tflite")
pytestmark = pytest.mark.skipif(not KWS.exists(), reason="MLPerf Tiny KWS model not available")

X = np.random.default_rng(0).integers(-128, 128, (3, 490)).astype(np.int8)
END = "    (void)st;\n    return (int)EN_OK;"


@pytest.fixture(scope="module")
def kws(tmp_path_factory) -> tuple[Path, Path, int]:
    root = tmp_path_factory.mktemp("kws")
    res = compile_graph(read_tflite(KWS), root / "src")
    return root / "src", root / "build", res.plan.arena_bytes


def _variant(kws, name: str, edit) -> Path:  # noqa: ANN001
    src, _, _ = kws
    out = src.parent / name
    shutil.copytree(src, out)
    edit(out)
    return out


@pytest.mark.slow
def test_good_model_reports_touched_arena_within_the_plan(kws):
    src, build, arena = kws
    host = build_host(src, build_root=build)
    run = host.run_measured(X)
    assert host.arena_bytes == arena and 0 < run.arena_touched_bytes <= arena
    # Stable: every input of this model uses the same buffers.
    assert host.run_measured(X[:1]).arena_touched_bytes == run.arena_touched_bytes
    assert np.array_equal(host.run(X), run.outputs)


@pytest.mark.parametrize("write, side, reach", [("+ EN_ARENA_BYTES", "above", 1), ("- 3", "below", 3)])
@pytest.mark.slow
def test_a_stray_write_fails_the_host_run_naming_the_bytes(kws, write, side, reach):
    line = f"    *(volatile uint8_t *)((uintptr_t)en_arena {write}) = 0x42;\n"

    def edit(d: Path) -> None:
        c = (d / "model.c").read_text()
        assert END in c
        (d / "model.c").write_text(c.replace(END, line + END))

    host = build_host(_variant(kws, f"stray{reach}", edit), build_root=kws[1])
    with pytest.raises(ArenaOverrunError) as e:
        host.run(X)
    assert (e.value.side, e.value.reach_bytes, e.value.arena_bytes) == (side, reach, kws[2])
    assert f"wrote {reach} byte(s)" in str(e.value) and "in the host build (input 0)" in str(e.value)


@pytest.mark.slow
def test_a_plan_whose_arena_is_too_small_fails(kws):
    """The plan's offsets are baked into model.c: shrinking EN_ARENA_BYTES leaves the top tensors
    outside the arena, in the guard above it. (gcc sees the input copy overflow and -Werror stops
    the build; with that off, the guard must catch it at run time.)"""
    def edit(d: Path) -> None:
        h = (d / "model.h").read_text()
        n = int(re.search(r"#define EN_ARENA_BYTES (\d+)", h).group(1))
        (d / "model.h").write_text(h.replace(f"#define EN_ARENA_BYTES {n}\n", f"#define EN_ARENA_BYTES {n - 16}\n"))

    host = build_host(_variant(kws, "small", edit), build_root=kws[1], extra_cflags=("-Wno-error=array-bounds",))
    with pytest.raises(ArenaOverrunError) as e:
        host.run(X)
    assert e.value.side == "above" and 1 <= e.value.reach_bytes <= 16 and e.value.arena_bytes == kws[2] - 16


@pytest.mark.slow
def test_sanitizer_build_goes_without_guards(kws):
    src, build, _ = kws
    run = build_host(src, build_root=build, sanitize=True).run_measured(X[:1])
    assert run.arena_touched_bytes is None and run.outputs.shape == (1, 12)
