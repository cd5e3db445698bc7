"""The C front end (runtime_c/frontend) is bit-exact with the Python reference that trains the net,
on synthesised keyword clips and on extreme inputs; its C unit tests pass under ASan/UBSan; it
compiles warning-free for the Cortex-M7."""

from __future__ import annotations

import ctypes as C
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from edgenas.audio import MEL_BINS, frame_count, log_mel_u8
from edgenas.audio.fft import rfft_q
from edgenas.paths import RUNTIME_C_DIR

from ..runtime_c.rt import build_dir

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None or shutil.which("make") is None, reason="needs gcc and make")
SCRATCH_WORDS = 514
EXPECTED_C_TESTS = 7  # run(...) calls in runtime_c/tests/test_frontend.c


def _make(target: str, out_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-s", "-C", str(RUNTIME_C_DIR), f"BUILD_DIR={out_dir}", target],
                          capture_output=True, text=True, timeout=300)


@lru_cache(maxsize=1)
def _lib() -> C.CDLL:
    out_dir = build_dir("runtime_c_frontend")
    proc = _make("frontend-shared", out_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return C.CDLL(str(out_dir / "libedgenas_frontend.so"))


def c_log_mel(audio: np.ndarray) -> np.ndarray:
    """The C front end on int16 ``(samples,)``: uint8 ``(frames, 40)``."""
    audio = np.ascontiguousarray(audio, dtype=np.int16)
    frames = frame_count(audio.size)
    out = np.full((frames, MEL_BINS), 0xEE, np.uint8)
    scratch = np.zeros(SCRATCH_WORDS, np.int32)
    status = _lib().en_frontend_u8(audio.ctypes.data_as(C.POINTER(C.c_int16)), C.c_int32(audio.size),
                                   out.ctypes.data_as(C.POINTER(C.c_uint8)), C.c_int32(frames),
                                   scratch.ctypes.data_as(C.POINTER(C.c_int32)))
    assert status == 0
    return out


@needs_gcc
def test_c_unit_tests_pass():
    proc = _make("test-frontend", build_dir("runtime_c_frontend_unit"))
    results = re.findall(r"^EN_TEST (\S+) (PASS|FAIL)$", proc.stdout, re.MULTILINE)
    assert [n for n, s in results if s != "PASS"] == [], proc.stdout + proc.stderr
    assert len(results) == EXPECTED_C_TESTS and proc.returncode == 0, proc.stdout + proc.stderr


@needs_gcc
def test_c_fft_matches_python_on_extremes():
    rng = np.random.default_rng(3)
    frames = [np.full(480, -32768), np.full(480, 32767), np.tile([32767, -32768], 240),
              rng.integers(-32768, 32768, 480), np.zeros(480)]
    for frame in frames:
        buf = np.zeros(SCRATCH_WORDS, np.int32)
        buf[:480] = frame
        _lib().en_fe_rfft_q(buf.ctypes.data_as(C.POINTER(C.c_int32)))
        x = np.zeros((1, 512), np.int64)
        x[0, :480] = frame
        re_, im_ = rfft_q(x)
        np.testing.assert_array_equal(buf[0::2], re_[0])
        np.testing.assert_array_equal(buf[1::2], im_[0])


@needs_gcc
def test_c_log_mel_matches_python_on_extremes():
    rng = np.random.default_rng(4)
    t = np.arange(16_000)
    clips = [np.full(16_000, -32768), np.where(t % 40 < 20, 32767, -32768),  # full-scale square
             rng.integers(-32768, 32768, 16_000), rng.integers(-3, 4, 16_000),  # the quietest non-silence
             np.round(20_000 * np.sin(2 * np.pi * 7_900 * t / 16_000)), rng.integers(-32768, 32768, 1_000)]
    for clip in clips:
        clip = clip.astype(np.int16)
        np.testing.assert_array_equal(c_log_mel(clip), log_mel_u8(clip))


@needs_gcc
@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng (make setup)")
def test_c_log_mel_matches_python_on_synthesised_clips(tmp_path):
    from edgenas.data.kws import KwsRecipe, build_keyword_dataset, load_keyword_folder

    recipe = KwsRecipe(keywords=("yes", "stop"), unknown_words=("cat",), takes=2, unknown_per_speaker=1,
                       silence_per_speaker=1)
    build_keyword_dataset(tmp_path / "kws", seed=5, recipe=recipe, speakers=("f3", "m1", "klatt"))
    splits = load_keyword_folder(tmp_path / "kws")
    audio = np.concatenate([splits.train.audio, splits.val.audio, splits.test.audio])
    assert len(audio) == 18
    want = log_mel_u8(audio)
    assert want.std() > 10  # real spectra, not an all-zero agreement
    for clip, w in zip(audio, want):
        np.testing.assert_array_equal(c_log_mel(clip), w)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")
@pytest.mark.slow
def test_frontend_compiles_for_cortex_m7():
    proc = _make("frontend-arm-check", build_dir("runtime_c_frontend_arm"))
    assert proc.returncode == 0 and "frontend-arm-check cortex-m7 OK" in proc.stdout, proc.stdout + proc.stderr
