"""The keyword firmware's sources (edgenas.deploy.audio_model) from a generated net: the net is
renamed beside the audio wrapper, its profile slots come after the front end's two, the per-call
buffers borrow the arena only when it is large enough, unexpected nets are refused, and, built for
the host around a stand-in net, the firmware streams: hop by hop from power-on, the net runs on
the last second exactly when the stride says, on the one-shot path's input, and ``out`` keeps the
last logits in between."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

from edgenas.audio import HOP_SAMPLES, log_mel_u8
from edgenas.audio.glue import net_inputs
from edgenas.deploy.audio_model import (LENT_BYTES, STRIDE_HOPS, WINDOW_HOPS, audio_ram_extra_bytes,
                                        build_audio_host, clip_hops, run_audio_host, write_audio_sources)
from edgenas.errors import DataError, ModelFormatError, UsageError
from edgenas.paths import RUNTIME_C_DIR

HEADER = """#ifndef EN_MODEL_H
#define EN_MODEL_H
#include <stdint.h>
#define EN_MODEL_NAME "r24_w0.5"
#define EN_ARENA_BYTES {arena}
#define EN_ARENA_LOWER_BOUND_BYTES {arena}
#define EN_MODEL_FLASH_BYTES 0
#define EN_MODEL_INPUT_BYTES {inputs}
#define EN_MODEL_OUTPUT_BYTES 12
#define EN_MODEL_NUM_LAYERS 3
#define EN_MODEL_INPUT_SCALE 0.003921568859368563f
#define EN_MODEL_INPUT_ZERO_POINT {zp}
#define EN_MODEL_OUTPUT_SCALE 1.0f
#define EN_MODEL_OUTPUT_ZERO_POINT 0
extern uint8_t en_arena[EN_ARENA_BYTES];
/** Run the model: the generated comment. */
int en_model_invoke(const int8_t *in, int8_t *out);
#endif /* EN_MODEL_H */
"""
SOURCE = """#include <string.h>
#include "edgenas/profile.h"
#include "model.h"
uint8_t en_arena[EN_ARENA_BYTES] __attribute__((aligned(8)));
/* A stand-in net: copies its input into the arena, as generated nets do, and hashes it into
 * every output byte (out[i] = low byte of a base-31 hash of in[i], in[i + 12], ...). */
int en_model_invoke(const int8_t *in, int8_t *out) {
    memcpy(en_arena, in, EN_MODEL_INPUT_BYTES);
    en_profile_begin();
    en_profile_mark(0);
    for (int i = 0; i < EN_MODEL_OUTPUT_BYTES; ++i) {
        uint32_t h = 0u;
        for (int j = i; j < EN_MODEL_INPUT_BYTES; j += EN_MODEL_OUTPUT_BYTES) {
            h = h * 31u + en_arena[j];
        }
        out[i] = (int8_t)h;
    }
    en_profile_mark(1);
    en_profile_mark(2);
    return 0;
}
"""
SIDE = 24
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")


def _net(tmp_path, arena=8000, inputs=SIDE * SIDE, zp=-128, source=SOURCE):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "model.h").write_text(HEADER.format(arena=arena, inputs=inputs, zp=zp))
    (src / "model.c").write_text(source)
    return src


def _stand_in_net(x: np.ndarray) -> np.ndarray:
    """The stand-in net's output for int8 input ``x``."""
    u8 = x.ravel().view(np.uint8)
    out = []
    for i in range(12):
        h = 0
        for v in u8[i::12]:
            h = (h * 31 + int(v)) & 0xFFFFFFFF
        out.append(h & 0xFF)
    return np.array(out, np.uint8).view(np.int8)


def _one_shot(audio: np.ndarray) -> np.ndarray:
    """The one-shot path on a second of audio: Python front end, glue, the stand-in net."""
    return _stand_in_net(net_inputs(log_mel_u8(audio)[None, ..., None], SIDE)[0])


def test_the_net_is_renamed_and_profiled_after_the_front_end(tmp_path):
    files = write_audio_sources(_net(tmp_path), tmp_path / "audio")
    audio = tmp_path / "audio"
    net_c, net_h = (audio / "net_model.c").read_text(), (audio / "net_model.h").read_text()
    assert '#include "net_model.h"' in net_c and "en_net_invoke(" in net_c and "en_model_invoke" not in net_c
    assert "en_profile_begin" not in net_c and "en_profile_mark(4);" in net_c and "en_profile_mark(0);" not in net_c
    assert "EN_NET_INPUT_BYTES 576" in net_h and "EN_MODEL_" not in net_h and "EN_NET_MODEL_H" in net_h
    model_h = (audio / "model.h").read_text()
    hop = re.search(r"#define EN_FE_HOP_SAMPLES (\d+)",
                    (RUNTIME_C_DIR / "frontend/include/edgenas/frontend_config.h").read_text())
    assert hop is not None and int(hop.group(1)) == HOP_SAMPLES
    assert f"#define EN_MODEL_INPUT_BYTES {2 * HOP_SAMPLES}\n" in model_h and "#define EN_MODEL_NUM_LAYERS 5" in model_h
    assert f"#define EN_KWS_STRIDE_HOPS {STRIDE_HOPS}\n" in model_h and "#define EN_ARENA_BYTES 8000" in model_h
    model_c = (audio / "model.c").read_text()
    assert "#define EN_KWS_NET_SIDE 24" in model_c and "#define en_kws_lent en_arena" in model_c
    assert {f.name for f in files} >= {"model.c", "net_model.c", "frontend.c", "frontend_resize.c"}
    # One hop and the stream state instead of a second of audio (32,000 bytes); the linked ELF
    # checks the exact figure (tests/audio/test_kws_firmware_qemu.py).
    assert audio_ram_extra_bytes(8000) == audio_ram_extra_bytes() < 4096


def test_a_small_arena_gives_the_per_call_buffers_their_own_ram(tmp_path):
    write_audio_sources(_net(tmp_path, arena=LENT_BYTES - 4), tmp_path / "audio")
    model_c = (tmp_path / "audio" / "model.c").read_text()
    assert "static uint8_t en_kws_lent[EN_KWS_LENT_BYTES]" in model_c and "en_arena" not in model_c
    assert audio_ram_extra_bytes(LENT_BYTES - 4) - audio_ram_extra_bytes(LENT_BYTES) >= LENT_BYTES


@pytest.mark.parametrize("kwargs", [{"inputs": 577}, {"zp": 0}, {"source": SOURCE.replace("    en_profile_begin();\n", "")}])
def test_unexpected_nets_are_refused(tmp_path, kwargs):
    with pytest.raises(ModelFormatError):
        write_audio_sources(_net(tmp_path, **kwargs), tmp_path / "audio")


@pytest.mark.parametrize("stride", [0, 7, WINDOW_HOPS + 1])
def test_a_stride_that_misses_clip_ends_is_refused(tmp_path, stride):
    with pytest.raises(UsageError):
        write_audio_sources(_net(tmp_path), tmp_path / "audio", stride_hops=stride)


def test_clips_must_be_seconds_of_int16():
    with pytest.raises(DataError):
        clip_hops(np.zeros((2, 16_000), np.float32))
    with pytest.raises(DataError):
        clip_hops(np.zeros((2, 8_000), np.int16))


@needs_gcc
@pytest.mark.parametrize(("arena", "stride"), [(8000, STRIDE_HOPS), (LENT_BYTES - 8, 1)])
def test_the_host_build_streams_like_the_one_shot_path(tmp_path, arena, stride):
    """Stride 1 runs the net on every hop once the window is full, so the ring is read from every
    position; a small arena puts the per-call buffers in their own RAM."""
    write_audio_sources(_net(tmp_path, arena=arena), tmp_path / "audio", stride_hops=stride)
    host = build_audio_host(tmp_path / "audio")
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    clips = np.stack([rng.normal(0, 3000, 16_000), 20_000 * np.sin(2 * np.pi * (300 + 2000 * t) * t),
                      rng.integers(-32768, 32768, 16_000)]).astype(np.int16)
    per_hop = host.run(clip_hops(clips))
    assert per_hop.shape == (len(clips) * WINDOW_HOPS, 12)
    stream, last = clips.reshape(-1), np.zeros(12, np.int8)  # the host driver's out starts zeroed
    for n, row in enumerate(per_hop, start=1):
        if n >= WINDOW_HOPS and n % stride == 0:
            last = _one_shot(stream[(n - WINDOW_HOPS) * HOP_SAMPLES: n * HOP_SAMPLES])
        assert np.array_equal(row, last), f"hop {n}"
    # Clip after clip, from power-on and back to back: the logits of each clip alone.
    ends = run_audio_host(host, clips)
    assert np.array_equal(ends, np.stack([_one_shot(c) for c in clips])) and len({e.tobytes() for e in ends}) == 3
