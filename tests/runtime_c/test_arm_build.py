"""The arm/ kernels compile warning-free (-Wall -Wextra -Werror) for Cortex-M4, M7 and M55."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from edgenas.paths import RUNTIME_C_DIR

from .rt import build_dir


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.slow
def test_arm_variant_compiles_for_cortex_m() -> None:
    out_dir = build_dir("runtime_c_arm")
    proc = subprocess.run(
        ["make", "-s", "-C", str(RUNTIME_C_DIR), f"BUILD_DIR={out_dir}", "arm-check"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for cpu in ("cortex-m4", "cortex-m7", "cortex-m55"):
        assert f"arm-check {cpu} OK" in proc.stdout


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
def test_arm_variant_uses_dsp_instructions() -> None:
    """The DSP path is really compiled in (not the scalar fallback) for a Cortex-M4."""
    out_dir = build_dir("runtime_c_arm")
    obj = out_dir / "arm" / "cortex-m4" / "src_arm_conv2d_s8.o"
    if not obj.exists():
        test_arm_variant_compiles_for_cortex_m()
    objdump = shutil.which("arm-none-eabi-objdump")
    if objdump is None:
        pytest.skip("needs arm-none-eabi-objdump")
    text = subprocess.run([objdump, "-d", str(obj)], capture_output=True, text=True).stdout
    assert "smlad" in text and "sxtab16" in text


def test_make_lists_arm_sources_replacing_ref_twins() -> None:
    proc = subprocess.run(["make", "-s", "-C", str(RUNTIME_C_DIR), "sources", "VARIANT=arm"],
                          capture_output=True, text=True, check=True)
    srcs = proc.stdout.split()
    for op in ("conv2d_s8", "dwconv2d_s8", "fc_s8"):
        assert f"src/arm/{op}.c" in srcs and f"src/ref/{op}.c" not in srcs
    assert "src/ref/softmax_s8.c" in srcs
