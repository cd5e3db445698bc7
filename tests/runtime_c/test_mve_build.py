"""The mve build: src/mve/ kernels compile warning-free for Cortex-M55 and are picked by the
board's core (Helium boards only), replacing their arm/ and ref/ twins."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from edgenas.boards import BoardRegistry
from edgenas.paths import RUNTIME_C_DIR
from edgenas.targets.cortex_m.build import runtime_sources

from .rt import build_dir

SRC = RUNTIME_C_DIR / "src"


@pytest.fixture(scope="module")
def boards() -> BoardRegistry:
    return BoardRegistry(entry_points=False, user_dir=None)


def test_mve_kernels_only_on_helium_cores(boards) -> None:  # noqa: ANN001
    mve = sorted(SRC.glob("mve/*.c"))
    assert mve
    chosen = runtime_sources(boards.get("mps3-an547"))
    assert len({p.name for p in chosen}) == len(chosen)  # one file per kernel
    for p in mve:
        assert p in chosen
        assert SRC / "arm" / p.name not in chosen and SRC / "ref" / p.name not in chosen
    for p in SRC.glob("ref/*.c"):
        assert p in chosen or any(d / p.name in chosen for d in (SRC / "arm", SRC / "mve"))
    for name in ("mps2-an500", "mps2-an386"):
        assert not any(p.parent.name == "mve" for p in runtime_sources(boards.get(name)))


def test_make_lists_mve_sources_replacing_their_twins() -> None:
    proc = subprocess.run(["make", "-s", "-C", str(RUNTIME_C_DIR), "sources", "VARIANT=mve"],
                          capture_output=True, text=True, check=True)
    srcs = proc.stdout.split()
    for p in SRC.glob("mve/*.c"):
        assert f"src/mve/{p.name}" in srcs
        assert f"src/arm/{p.name}" not in srcs and f"src/ref/{p.name}" not in srcs
    assert "src/ref/softmax_s8.c" in srcs and "src/common/checks.c" in srcs


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.slow
def test_mve_variant_compiles_for_cortex_m55_with_helium_instructions() -> None:
    out_dir = build_dir("runtime_c_mve")
    proc = subprocess.run(["make", "-s", "-C", str(RUNTIME_C_DIR), f"BUILD_DIR={out_dir}", "mve-check"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mve-check cortex-m55 OK" in proc.stdout
    objdump = shutil.which("arm-none-eabi-objdump")
    if objdump is None:
        pytest.skip("needs arm-none-eabi-objdump")
    obj = out_dir / "mve" / "cortex-m55" / "src_mve_fc_s8.o"
    text = subprocess.run([objdump, "-d", "-m", "armv8.1-m.main", str(obj)], capture_output=True, text=True).stdout
    assert "vmlava.s8" in text and "vqrdmulh.s32" in text


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_mve_sources_refuse_a_core_without_helium(tmp_path) -> None:  # noqa: ANN001
    for src in sorted(SRC.glob("mve/*.c")):
        proc = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m7", "-mthumb", "-std=c99", "-fsyntax-only",
                               f"-I{RUNTIME_C_DIR / 'include'}", f"-I{SRC}", str(src)],
                              capture_output=True, text=True)
        assert proc.returncode != 0 and "needs a core with Helium" in proc.stderr, src.name
