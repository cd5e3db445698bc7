"""The Python reference front end: accurate against float maths, shaped as the net expects, and
its generated C constants current."""

from __future__ import annotations

import numpy as np
import pytest

from edgenas.audio import MEL_BINS, frame_count, frontend_tables, log2_q16, log_mel_u8
from edgenas.audio import config as cf
from edgenas.audio.ctables import CONFIG_H, TABLES_C, render_config_h, render_tables_c
from edgenas.audio.fft import rfft_q


def test_generated_c_sources_are_current():
    """Fails when config.py or tables.py change without `python -m edgenas.audio.ctables`."""
    assert CONFIG_H.read_text() == render_config_h()
    assert TABLES_C.read_text() == render_tables_c()


def test_fixed_point_fft_matches_float_fft():
    rng = np.random.default_rng(0)
    x = np.zeros((8, cf.FFT_SIZE), np.int64)
    x[:, : cf.FRAME_SAMPLES] = rng.integers(-32768, 32768, (8, cf.FRAME_SAMPLES))
    x[0, : cf.FRAME_SAMPLES] = -32768  # the largest magnitude the bound allows
    re, im = rfft_q(x)
    want = 2 * np.fft.rfft(x.astype(np.float64), axis=1)
    scale = np.abs(want).max()
    # Q15 twiddles lose ~3e-5 per stage; 9 stages stay well inside 1e-3 of full scale.
    assert np.abs(re - want.real).max() < 1e-3 * scale
    assert np.abs(im - want.imag).max() < 1e-3 * scale


def test_log2_is_close_to_float_log2():
    e = np.unique(np.round(np.geomspace(1, 2**62, 5000)).astype(np.int64))
    got = log2_q16(e) / 65536
    assert np.abs(got - np.log2(e.astype(np.float64))).max() < 2e-4
    assert log2_q16(np.array([0, -5]))[0] == 0 and log2_q16(np.array([-5]))[0] == 0


def test_mel_filters_fit_the_int64_bound():
    t = frontend_tables()
    assert t.mel_len.min() >= 1 and t.mel_len.max() <= cf.MAX_FILTER_BINS
    assert np.all(np.diff(t.mel_start) >= 0)  # centres rise with the filter index
    assert t.mel_weights.max() <= 1 << cf.MEL_WEIGHT_FRAC_BITS and t.mel_weights.min() > 0


def test_one_second_is_49_by_40_and_louder_is_brighter():
    assert frame_count(16_000) == 49 and frame_count(479) == 0
    rng = np.random.default_rng(1)
    noise = rng.standard_normal(16_000)
    quiet = np.round(noise * 100).astype(np.int16)
    loud = np.round(noise * 3000).astype(np.int16)
    fq, fl = log_mel_u8(quiet), log_mel_u8(loud)
    assert fq.shape == (49, MEL_BINS) and fq.dtype == np.uint8
    # 30x louder = 9.8 doublings of energy = about 71 steps at 7.25 steps per doubling.
    assert 65 < float(np.mean(fl.astype(int) - fq.astype(int))) < 77
    assert not log_mel_u8(np.zeros(16_000, np.int16)).any()
    batch = log_mel_u8(np.stack([quiet, loud]))
    np.testing.assert_array_equal(batch[1], fl)


def test_a_tone_lights_its_mel_band():
    t = np.arange(16_000) / 16_000
    tone = np.round(8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    feats = log_mel_u8(tone)
    band = int(np.argmax(feats[10]))
    tables = frontend_tables()
    bin_1k = 1000 * cf.FFT_SIZE // cf.SAMPLE_RATE_HZ  # bin 32
    assert tables.mel_start[band] <= bin_1k < tables.mel_start[band] + tables.mel_len[band]


def test_bad_audio_is_refused():
    with pytest.raises(ValueError, match="int16"):
        log_mel_u8(np.zeros(16_000, np.float32))
    with pytest.raises(ValueError, match="480"):
        log_mel_u8(np.zeros(100, np.int16))
