"""The keyword firmware's sources (edgenas.deploy.audio_model) from a generated net: the net is
renamed beside the audio wrapper, its profile slots come after the front end's two, the front
end's buffers borrow the arena only when it is large enough, and unexpected nets are refused."""

from __future__ import annotations

import pytest

from edgenas.deploy.audio_model import SHARED_BYTES, audio_ram_extra_bytes, write_audio_sources
from edgenas.errors import ModelFormatError

HEADER = """#ifndef EN_MODEL_H
#define EN_MODEL_H
#define EN_MODEL_NAME "r24_w0.5"
#define EN_ARENA_BYTES {arena}
#define EN_MODEL_INPUT_BYTES {inputs}
#define EN_MODEL_OUTPUT_BYTES 12
#define EN_MODEL_NUM_LAYERS 3
#define EN_MODEL_INPUT_SCALE 0.003921568859368563f
#define EN_MODEL_INPUT_ZERO_POINT {zp}
extern uint8_t en_arena[EN_ARENA_BYTES];
int en_model_invoke(const int8_t *in, int8_t *out);
#endif /* EN_MODEL_H */
"""
SOURCE = """#include "edgenas/profile.h"
#include "model.h"
uint8_t en_arena[EN_ARENA_BYTES];
int en_model_invoke(const int8_t *in, int8_t *out) {
    memcpy(en_arena, in, EN_MODEL_INPUT_BYTES);
    en_profile_begin();
    en_profile_mark(0);
    en_profile_mark(1);
    en_profile_mark(2);
    memcpy(out, en_arena, EN_MODEL_OUTPUT_BYTES);
    return 0;
}
"""


def _net(tmp_path, arena=8000, inputs=576, zp=-128, source=SOURCE):
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    (src / "model.h").write_text(HEADER.format(arena=arena, inputs=inputs, zp=zp))
    (src / "model.c").write_text(source)
    return src


def test_the_net_is_renamed_and_profiled_after_the_front_end(tmp_path):
    files = write_audio_sources(_net(tmp_path), tmp_path / "audio")
    audio = tmp_path / "audio"
    net_c, net_h = (audio / "net_model.c").read_text(), (audio / "net_model.h").read_text()
    assert '#include "net_model.h"' in net_c and "en_net_invoke(" in net_c and "en_model_invoke" not in net_c
    assert "en_profile_begin" not in net_c and "en_profile_mark(4);" in net_c and "en_profile_mark(0);" not in net_c
    assert "EN_NET_INPUT_BYTES 576" in net_h and "EN_MODEL_" not in net_h and "EN_NET_MODEL_H" in net_h
    model_h = (audio / "model.h").read_text()
    assert "#define EN_MODEL_INPUT_BYTES 32000" in model_h and "#define EN_MODEL_NUM_LAYERS 5" in model_h
    assert "#define EN_ARENA_BYTES 8000" in model_h
    model_c = (audio / "model.c").read_text()
    assert "#define EN_KWS_NET_SIDE 24" in model_c and "((int32_t *)(void *)en_arena)" in model_c
    assert {f.name for f in files} >= {"model.c", "net_model.c", "frontend.c", "frontend_resize.c"}
    assert audio_ram_extra_bytes(8000) == 32000


def test_a_small_arena_gives_the_front_end_its_own_buffers(tmp_path):
    write_audio_sources(_net(tmp_path, arena=SHARED_BYTES - 4), tmp_path / "audio")
    model_c = (tmp_path / "audio" / "model.c").read_text()
    assert "static int32_t en_kws_scratch[EN_FE_SCRATCH_WORDS];" in model_c and "(void *)en_arena" not in model_c
    assert audio_ram_extra_bytes(SHARED_BYTES - 4) == 32000 + 2064 + 1968


@pytest.mark.parametrize("kwargs", [{"inputs": 577}, {"zp": 0}, {"source": SOURCE.replace("    en_profile_begin();\n", "")}])
def test_unexpected_nets_are_refused(tmp_path, kwargs):
    with pytest.raises(ModelFormatError):
        write_audio_sources(_net(tmp_path, **kwargs), tmp_path / "audio")
