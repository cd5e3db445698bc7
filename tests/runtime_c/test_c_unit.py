"""The C unit tests (runtime_c/tests/test_kernels.c) pass under ASan and UBSan.

Built with the runtime's Makefile for both host variants (ref, and arm/ with emulated DSP
intrinsics); every line the binary prints for a test must say PASS, and it must report them all.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from edgenas.paths import RUNTIME_C_DIR

from .rt import VARIANTS, build_dir

EXPECTED_TESTS = 24  # run(...) calls in test_kernels.c main()


@pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None,
                    reason="needs gcc and make")
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.slow
def test_c_unit_tests_pass(variant: str) -> None:
    out_dir = build_dir("runtime_c_unit")
    proc = subprocess.run(
        ["make", "-s", "-C", str(RUNTIME_C_DIR), f"BUILD_DIR={out_dir}", f"VARIANT={variant}",
         "test"],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    results = re.findall(r"^EN_TEST (\S+) (PASS|FAIL)$", proc.stdout, re.MULTILINE)
    failed = [name for name, status in results if status != "PASS"]
    assert not failed, f"C tests failed: {failed}\n{out}"
    assert len(results) == EXPECTED_TESTS, out
    assert "EN_TEST_SUMMARY failures=0" in proc.stdout, out
    assert proc.returncode == 0, out
